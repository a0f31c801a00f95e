import { join } from 'node:path';
import type { Context } from '../context.js';
import type { MirrorRewrite } from '../core/mirrors.js';
import { chooseTarget } from '../core/target.js';
import { packagesFor } from '../core/package-naming.js';
import { planLocations, type PlannedPackage } from '../core/resolver.js';
import type { DebDoctorTarget, DoctorFacts, DoctorTarget } from '../core/doctor.js';
import type { SystemFacts } from '../io/doctor-facts.js';
import { debImagePackages, debPackagesFor, isDebFamily, runningBuildVersion } from '../core/debian.js';
import { debTargetFor } from './deb/target.js';

export interface DoctorTargetOptions {
  kernel?: string | undefined;
  os?: string | undefined;
  rewrites: MirrorRewrite[];
}

/**
 * doctor's target, with the family chosen in the same order as readTarget (Debian/Ubuntu first,
 * else RPM). Unlike the other commands, doctor never throws for what it finds: a kernel it cannot
 * serve is the Target kernel check's failure (targetError), and under --root the running release
 * comes from the root's proc/ stand-in.
 */
export async function readDoctorTarget(ctx: Context, opts: DoctorTargetOptions, system: SystemFacts, hostOs: DoctorFacts['hostOs']): Promise<Picked & { planned: PlannedPackage[] }> {
  const picked = (await pickDebTarget(ctx, opts, system, hostOs)) ?? pickRpmTarget(opts, system);
  const t = picked.target;
  return { ...picked, planned: t && t.packaging !== 'deb' ? planLocations(t.kernel, t.os, t.packages, opts.rewrites) : [] };
}

export type Picked = { target: DoctorTarget | undefined; targetError: string | undefined };

/**
 * A Debian or Ubuntu kernel (debTargetFor decides, as for every command), or undefined when
 * the target is an RPM kernel. Its errors (a release that is no Debian/Ubuntu kernel on a Debian
 * host, several kernels in a root) become the Target kernel check's failure.
 */
async function pickDebTarget(ctx: Context, opts: DoctorTargetOptions, system: SystemFacts, hostOs: DoctorFacts['hostOs']): Promise<Picked | undefined> {
  // Under --root the running release comes from the root's proc/ stand-in, as for RPM targets.
  const kernel = opts.kernel ?? (system.root === '/' ? undefined : system.running.release);
  const source = opts.kernel !== undefined ? '' : ` (from ${system.running.releaseSource ?? 'the kernel'})`;
  try {
    const t = await debTargetFor(ctx, { kernel, os: opts.os, root: system.root }, { announce: false });
    if (t === undefined) return undefined;
    // The running kernel of an RPM box that is Ubuntu's or Debian's: a container on such a host.
    if (opts.kernel === undefined && opts.os === undefined && hostOs?.ok && !isDebFamily(hostOs.os.id)) {
      const whose = t.kernel.family === 'ubuntu' ? 'an Ubuntu' : 'a Debian';
      return { target: undefined, targetError: `kernel release "${t.kernel.uname}" is ${whose} kernel, not one ${hostOs.os.name} ships${source}` };
    }
    const target: DebDoctorTarget = {
      packaging: 'deb',
      kernel: t.kernel,
      os: t.os,
      arch: t.arch,
      notes: t.notes,
      packages: debPackagesFor(t.kernel),
      images: debImagePackages(t.kernel),
      runningBuild: t.isRunning && t.running ? runningBuildVersion(t.kernel.family, t.running) : undefined,
      aptIsTarget: t.aptIsTarget,
    };
    return { target, targetError: undefined };
  } catch (err) {
    return { target: undefined, targetError: `${(err as Error).message}${source}` };
  }
}

/**
 * `--kernel`, else the running kernel (on the host, or the root's proc/ stand-in), else the one
 * kernel installed in the root. A release that is no RPM kernel becomes a failed check, not an
 * exception.
 */
function pickRpmTarget(opts: DoctorTargetOptions, system: SystemFacts): Picked {
  let kernelArg = opts.kernel ?? system.running.release;
  if (kernelArg === undefined) {
    const ks = system.installedKernels;
    const dir = join(system.root, 'lib/modules');
    if (ks.length === 1) kernelArg = ks[0];
    else if (ks.length === 0) return { target: undefined, targetError: `no kernel in ${dir}: name one with --kernel R` };
    else return { target: undefined, targetError: `several kernels in ${dir} (${[...ks].sort().join(', ')}): name one with --kernel R` };
  }
  try {
    const t = chooseTarget({ kernelFlag: kernelArg, osFlag: opts.os, unameRelease: kernelArg as string, osRelease: system.osRelease });
    return { target: { ...t, packages: packagesFor(t.kernel) }, targetError: undefined };
  } catch (err) {
    const source = opts.kernel !== undefined ? '--kernel' : system.running.releaseSource ?? 'the kernel';
    return { target: undefined, targetError: `${(err as Error).message}${opts.kernel === undefined ? ` (from ${source})` : ''}` };
  }
}

