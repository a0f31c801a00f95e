import type { Context } from '../context.js';
import type { KernelRelease, OsInfo, PackageRole } from '../core/types.js';
import { chooseTarget } from '../core/target.js';
import { packagesFor } from '../core/package-naming.js';
import { planLocations, type PlannedPackage } from '../core/resolver.js';
import { NO_PUBLIC_SOURCE, hasSources } from '../core/sources.js';
import type { MirrorRewrite } from '../core/mirrors.js';
import { readHostFacts } from '../io/host.js';
import { KdebuginfoError, ExitCode } from '../errors.js';

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
  kernel: Pick<KernelRelease, 'uname' | 'version' | 'release' | 'arch' | 'flavor'>;
  os: Pick<OsInfo, 'id' | 'version'> & { name: string };
  packages: Array<{ role: PackageRole; name: string; version: string; release: string; arch: string; file: string; candidates: string[] }>;
  notes: string[];
}

/** The pure part of every command: which kernel, which OS, which packages, where to look. */
export async function buildPlan(ctx: Context, opts: PlanOptions): Promise<{ result: PlanResult; planned: PlannedPackage[]; kernel: KernelRelease; os: OsInfo }> {
  const facts = await readHostFacts(opts.root ?? '/');
  const target = chooseTarget({
    kernelFlag: opts.kernel,
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
    packages: planned.map(({ locations: _, ...p }) => p),
    notes,
  };
  return { result, planned, kernel, os };
}

export async function runPlan(ctx: Context, opts: PlanOptions): Promise<PlanResult> {
  return (await buildPlan(ctx, opts)).result;
}

export function formatPlan(r: PlanResult): string {
  const lines = [`Kernel   ${r.kernel.uname}  (${r.kernel.flavor} flavour, ${r.kernel.arch})`, `OS       ${r.os.name}`, ''];
  for (const p of r.packages) {
    lines.push(`${p.role.padEnd(17)} ${p.file}`);
    if (p.candidates.length === 0) lines.push('    (no public location)');
    p.candidates.forEach((c, i) => lines.push(`    ${i + 1}. ${c}`));
  }
  for (const n of r.notes) lines.push('', `Note: ${n}`);
  return lines.join('\n') + '\n';
}

/** RHEL and other source-less targets cannot be resolved: say what to do instead. */
export function assertResolvable(os: OsInfo, rewrites: readonly MirrorRewrite[]): void {
  const why = NO_PUBLIC_SOURCE[os.id];
  if (why && rewrites.length === 0) throw new KdebuginfoError(why, { exitCode: ExitCode.notFound });
}
