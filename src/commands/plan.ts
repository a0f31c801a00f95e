import type { Context } from '../context.js';
import type { KernelRelease, OsInfo, PackageRole } from '../core/types.js';
import { chooseTarget } from '../core/target.js';
import { packagesFor } from '../core/package-naming.js';
import { planLocations, type PlannedPackage } from '../core/resolver.js';
import { NO_PUBLIC_SOURCE, hasSources } from '../core/sources.js';
import type { MirrorRewrite } from '../core/mirrors.js';
import { maskUrlCredentials } from '../core/credentials.js';
import { readHostFacts } from '../io/host.js';
import { KdebuginfoError, ExitCode, UsageError } from '../errors.js';
import { join } from 'node:path';
import { installedKernelReleases } from '../io/rpm.js';
import { parseKernelRelease } from '../core/kernel-release.js';
import { compareEvr } from '../core/rpm-version.js';
import { debTargetFor, planDeb } from './deb-flow.js';

export interface TargetOptions {
  kernel: string | undefined;
  os: string | undefined;
  /** Image root whose etc/os-release describes the host. */
  root: string | undefined;
}

export interface PlanOptions extends TargetOptions {
  rewrites: MirrorRewrite[];
}

export interface PlanResult {
  /** `flavor`: the RPM Flavor, or Debian/Ubuntu's word (`cloud`, `rt`, `generic`, `aws`). */
  kernel: Pick<KernelRelease, 'uname' | 'version' | 'release' | 'arch'> & { flavor: string };
  os: Pick<OsInfo, 'id' | 'version'> & { name: string };
  packages: Array<{ role: PackageRole; name: string; version: string; release: string; arch: string; file: string; candidates: string[] }>;
  notes: string[];
}

/** The pure part of every command: which kernel, which OS, which packages, where to look. */
export async function buildPlan(ctx: Context, opts: PlanOptions): Promise<{ result: PlanResult; planned: PlannedPackage[]; kernel: KernelRelease; os: OsInfo }> {
  const root = opts.root ?? '/';
  const facts = await readHostFacts(root);
  const target = chooseTarget({
    kernelFlag: await pickKernel(root, opts.kernel),
    osFlag: opts.os,
    unameRelease: facts.unameRelease,
    osRelease: facts.osRelease,
  });
  for (const n of target.notes) ctx.ui.info(n);
  const { kernel, os } = target;
  const notes = [...target.notes];
  const noPublic = NO_PUBLIC_SOURCE[os.id];
  if (noPublic) notes.push(noPublic);
  else if (!hasSources(os)) notes.push(`no known public mirrors for ${os.name}: use --mirror to name yours`);
  const planned = planLocations(kernel, os, packagesFor(kernel), opts.rewrites);
  const result: PlanResult = {
    kernel: { uname: kernel.uname, version: kernel.version, release: kernel.release, arch: kernel.arch, flavor: kernel.flavor },
    os: { id: os.id, version: os.version, name: os.name },
    // Shown only: `planned` keeps the real URLs (a mirror's credentials included) for requests.
    packages: planned.map(({ locations: _, ...p }) => ({ ...p, candidates: p.candidates.map(maskUrlCredentials) })),
    notes,
  };
  return { result, planned, kernel, os };
}

export async function runPlan(ctx: Context, opts: PlanOptions): Promise<PlanResult> {
  const deb = await debTargetFor(ctx, opts);
  if (deb) return planDeb(ctx, deb, opts);
  return (await buildPlan(ctx, opts)).result;
}

export function formatPlan(r: PlanResult): string {
  const lines = [`Kernel   ${r.kernel.uname}  (${r.kernel.flavor} flavour, ${r.kernel.arch})`, `OS       ${r.os.name}`, ''];
  const viaApt = r.os.id === 'debian' || r.os.id === 'ubuntu';
  for (const p of r.packages) {
    lines.push(`${p.role.padEnd(17)} ${p.file || p.name}`);
    if (p.candidates.length === 0) lines.push(viaApt ? '    (apt on the target chooses the source)' : '    (no public location)');
    p.candidates.forEach((c, i) => lines.push(`    ${i + 1}. ${c}`));
  }
  for (const n of r.notes) lines.push('', `Note: ${n}`);
  return lines.join('\n') + '\n';
}

/**
 * `--kernel R | running | newest-installed`, or none: the running kernel on the host; in an
 * image root (`--root`), where the host's running kernel means nothing, the one kernel
 * installed there. Undefined means the running kernel.
 */
export async function pickKernel(root: string, arg: string | undefined): Promise<string | undefined> {
  if (arg === 'running') return undefined;
  if (arg !== undefined && arg !== 'newest-installed') return arg;
  if (arg === undefined && root === '/') return undefined;
  const installed = await installedKernels(root);
  const modules = join(root, 'lib/modules');
  if (arg === 'newest-installed') {
    const newest = installed[installed.length - 1];
    if (!newest) throw new UsageError(`--kernel newest-installed: no kernel in ${modules}`, 'name one with --kernel R');
    return newest;
  }
  if (installed.length === 1) return installed[0];
  if (installed.length === 0) throw new UsageError(`no kernel in ${modules}: name one with --kernel R`);
  throw new UsageError(`several kernels in ${modules} (${installed.join(', ')}): say which with --kernel R or --kernel newest-installed`);
}

/** Kernel releases installed in the root, oldest first in rpm order; names that are not kernel releases are left out. */
export async function installedKernels(root: string): Promise<string[]> {
  const parsed: KernelRelease[] = [];
  for (const n of await installedKernelReleases(root)) {
    try {
      parsed.push(parseKernelRelease(n));
    } catch {
      // not a kernel release we know (a stray directory): ignore it
    }
  }
  parsed.sort((a, b) => compareEvr({ version: a.version, release: a.release }, { version: b.version, release: b.release }));
  return parsed.map((k) => k.uname);
}

/** RHEL and other source-less targets cannot be resolved: say what to do instead. */
export function assertResolvable(os: OsInfo, rewrites: readonly MirrorRewrite[]): void {
  const why = NO_PUBLIC_SOURCE[os.id];
  if (why && rewrites.length === 0) throw new KdebuginfoError(why, { exitCode: ExitCode.notFound });
}
