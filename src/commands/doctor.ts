import { join } from 'node:path';
import type { Context } from '../context.js';
import type { MirrorRewrite } from '../core/mirrors.js';
import { chooseTarget } from '../core/target.js';
import { parseOsRelease } from '../core/os-release.js';
import { packagesFor } from '../core/package-naming.js';
import { planLocations, type PlannedPackage } from '../core/resolver.js';
import { evaluateDoctor, isReady, type DebDoctorTarget, type DoctorCheck, type DoctorFacts, type DoctorTarget } from '../core/doctor.js';
import { gatherDoctorFacts, readSystemFacts, type SystemFacts } from '../io/doctor-facts.js';
import { debImagePackages, debPackagesFor, isDebFamily, runningBuildVersion } from '../core/debian.js';
import { debTargetFor } from '../backends/deb/target.js';
import { ExitCode } from '../errors.js';

export interface DoctorOptions {
  kernel?: string | undefined;
  os?: string | undefined;
  /** Image root (or system snapshot) to examine instead of this host; see src/io/doctor-facts.ts. */
  root?: string | undefined;
  /** Skip the mirror checks (no network). */
  offline: boolean;
  rewrites: MirrorRewrite[];
  userAgent?: string;
  /** Group names of the user (tests); read from this process when not given. */
  groups?: string[];
}

export interface DoctorResult {
  /** Nothing failed (warnings allowed). */
  ready: boolean;
  kernel: string | null;
  os: { id: string; version: string; name: string } | null;
  root: string;
  offline: boolean;
  checks: DoctorCheck[];
  counts: Record<DoctorCheck['status'], number>;
  durationMs: number;
}

/**
 * The story: read what decides the target (os-release, running kernel, kernels installed), pick
 * the kernel and its three packages, gather every fact, judge them. Never throws for what it
 * finds: a broken box is a report with `ready: false`.
 */
export async function runDoctor(ctx: Context, opts: DoctorOptions): Promise<DoctorResult> {
  const started = Date.now();
  const root = opts.root ?? '/';
  const system = await readSystemFacts(root);
  const hostOs = hostOsOf(system);
  const { target, targetError } = (await pickDebTarget(ctx, opts, system, hostOs)) ?? pickTarget(opts, system);
  const planned: PlannedPackage[] = target && target.packaging !== 'deb' ? planLocations(target.kernel, target.os, target.packages, opts.rewrites) : [];
  const facts = await gatherDoctorFacts(ctx, {
    root,
    system,
    hostOs,
    target,
    targetError,
    planned,
    offline: opts.offline,
    userAgent: opts.userAgent ?? 'kdebuginfo',
    ...(opts.groups ? { groups: opts.groups } : {}),
  });
  const checks = evaluateDoctor(facts);
  const counts = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  return {
    ready: isReady(checks),
    kernel: target?.kernel.uname ?? null,
    os: target ? { id: target.os.id, version: target.os.version, name: target.os.name } : null,
    root,
    offline: opts.offline,
    checks,
    counts,
    durationMs: Date.now() - started,
  };
}

/** Exit 0 when ready (warnings allowed), 1 when not. */
export function doctorExitCode(r: DoctorResult): ExitCode {
  return r.ready ? ExitCode.ok : ExitCode.failed;
}

function hostOsOf(system: SystemFacts): DoctorFacts['hostOs'] {
  if (!system.osRelease) return undefined;
  try {
    return { ok: true, os: parseOsRelease(system.osRelease.text, system.osRelease.path) };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}

type Picked = { target: DoctorTarget | undefined; targetError: string | undefined };

/**
 * A Debian or Ubuntu kernel (deb-flow's debTargetFor decides, as for install), or undefined when
 * the target is an RPM kernel. Its errors (a release that is no Debian/Ubuntu kernel on a Debian
 * host, several kernels in a root) become the Target kernel check's failure.
 */
async function pickDebTarget(ctx: Context, opts: DoctorOptions, system: SystemFacts, hostOs: DoctorFacts['hostOs']): Promise<Picked | undefined> {
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
function pickTarget(opts: DoctorOptions, system: SystemFacts): Picked {
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

const STATUS_LABEL: Record<DoctorCheck['status'], string> = { pass: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** A readable table: one line per check, the fix under each warning and failure, a verdict. */
export function formatDoctor(r: DoctorResult): string {
  const width = Math.max(...r.checks.map((c) => c.title.length));
  const head = r.kernel ? `kdebuginfo doctor: kernel ${r.kernel}${r.os ? ` on ${r.os.name}` : ''}` : 'kdebuginfo doctor';
  const lines = [`${head}${r.root === '/' ? '' : ` (root ${r.root})`}`, ''];
  for (const c of r.checks) {
    lines.push(`  ${STATUS_LABEL[c.status].padEnd(4)}  ${c.title.padEnd(width)}  ${c.detail}`);
    if (c.fix) lines.push(`  ${''.padEnd(4)}  ${''.padEnd(width)}  fix: ${c.fix}`);
  }
  lines.push('');
  const { warn, fail } = r.counts;
  if (r.ready) {
    lines.push(`Ready${warn > 0 ? ` (${warn} warning${warn > 1 ? 's' : ''})` : ''}.`);
  } else {
    const failed = r.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    lines.push(`Not ready: ${fail} check${fail > 1 ? 's' : ''} failed (${failed.join(', ')})${warn > 0 ? `, ${warn} warning${warn > 1 ? 's' : ''}` : ''}.`);
  }
  return lines.join('\n') + '\n';
}
