import type { Context } from '../context.js';
import { formatBytes } from '../core/format.js';
import { stampOf, type LifecycleFamily } from '../core/lifecycle.js';
import { promptConfirm } from '../io/prompt.js';
import { readInstallRecord, saveInstallRecord } from '../io/install-record.js';
import { debInstalledPackages, rpmKernelPackages } from '../io/kernel-packages.js';
import { ExitCode, KdebuginfoError } from '../errors.js';
import { runList, type ListResult, type ListedKernel, type ListedPackage } from './list.js';

export interface RemoveOptions {
  root: string | undefined;
  kernel: string;
  /** --yes: also remove the kernel's packages kdebuginfo did not install. */
  yes: boolean;
}

export interface RemovedPackage {
  name: string;
  key: string;
  size: number;
  byKdebuginfo: boolean;
}

export interface KeptPackage {
  name: string;
  key: string;
  reason: string;
}

export interface RemoveResult {
  changed: boolean;
  failed: false;
  rc: 0;
  msg: string;
  kernel: string;
  root: string;
  removed: RemovedPackage[];
  kept: KeptPackage[];
  freedBytes: number;
  warnings: string[];
}

/**
 * What a removal of one kernel's packages would take, decided before anything changes: the
 * packages kdebuginfo installed go; one the user installed otherwise goes only when they say so
 * (a terminal's question, or --yes); a -common package another installed kernel still needs
 * stays whatever is said.
 */
export async function planRemoval(
  ctx: Context,
  list: ListResult,
  entry: ListedKernel,
  yes: boolean,
  warnings: string[],
): Promise<{ remove: ListedPackage[]; kept: KeptPackage[] }> {
  const kept: KeptPackage[] = [];
  const candidates: ListedPackage[] = [];
  for (const p of entry.packages) {
    const other = list.kernels.find((k) => k !== entry && (k.kernelInstalled || k.running) && k.packages.some((q) => q.key === p.key));
    if (other) kept.push({ name: p.name, key: p.key, reason: `also serves ${other.kernel}` });
    else candidates.push(p);
  }
  const theirs = candidates.filter((p) => !p.byKdebuginfo);
  let takeTheirs = yes;
  if (theirs.length > 0 && !yes && ctx.isInteractive) {
    takeTheirs = await promptConfirm(ctx, `${theirs.map((p) => p.key).join(', ')} ${theirs.length === 1 ? 'was' : 'were'} not installed by kdebuginfo. Remove ${theirs.length === 1 ? 'it' : 'them'} too?`, false);
  }
  if (theirs.length > 0 && !takeTheirs) {
    for (const p of theirs) kept.push({ name: p.name, key: p.key, reason: 'not installed by kdebuginfo' });
    const w = `not removing ${theirs.map((p) => p.key).join(', ')}: not installed by kdebuginfo${ctx.isInteractive ? '' : ' (--yes removes it too)'}`;
    warnings.push(w);
    ctx.ui.warn(w);
  }
  return { remove: candidates.filter((p) => p.byKdebuginfo || takeTheirs), kept };
}

/** Remove what kdebuginfo installed for kernel R, with the root's package manager. */
export async function runRemove(ctx: Context, opts: RemoveOptions): Promise<RemoveResult> {
  const root = opts.root ?? '/';
  const list = await runList(ctx, { root });
  const entry = list.kernels.find((k) => k.kernel === opts.kernel);
  const warnings: string[] = [];
  const base = { failed: false as const, rc: 0 as const, kernel: opts.kernel, root, warnings };
  if (!entry || entry.packages.length === 0) {
    return { ...base, changed: false, msg: `nothing installed for ${opts.kernel}`, removed: [], kept: [], freedBytes: 0 };
  }
  const { remove, kept } = await planRemoval(ctx, list, entry, opts.yes, warnings);
  return removePackages(ctx, list.family, root, opts.kernel, remove, kept, base);
}

/** Remove the packages (never anything else: rpm -e / dpkg --remove refuse what another package needs) and update the record. */
export async function removePackages(
  ctx: Context,
  family: LifecycleFamily,
  root: string,
  kernel: string,
  remove: readonly ListedPackage[],
  kept: KeptPackage[],
  base: Pick<RemoveResult, 'failed' | 'rc' | 'kernel' | 'root' | 'warnings'>,
): Promise<RemoveResult> {
  const removed = remove.map((p) => ({ name: p.name, key: p.key, size: p.size, byKdebuginfo: p.byKdebuginfo }));
  const freedBytes = removed.reduce((n, p) => n + p.size, 0);
  if (removed.length === 0) {
    return { ...base, changed: false, msg: `nothing to remove for ${kernel}`, removed, kept, freedBytes: 0 };
  }
  if (ctx.dryRun) {
    return { ...base, changed: true, msg: `would remove ${removed.length} package(s) for ${kernel} (${formatBytes(freedBytes)})`, removed, kept, freedBytes };
  }
  if (root === '/' && !ctx.isRoot) {
    throw new KdebuginfoError('removing packages on this host needs root', { exitCode: ExitCode.needsRoot, hint: 'run it with sudo, or use --dry-run to see what would change' });
  }
  const keys = removed.map((p) => p.key);
  // Plain rpm -e and dpkg --remove, not dnf or apt-get remove: those also remove whatever
  // depends on a package (with -y, silently); these refuse instead, and remove only what is named.
  const argv = family === 'rpm'
    ? ['rpm', ...(root === '/' ? [] : ['--root', root]), '-e', ...keys]
    : ['dpkg', ...(root === '/' ? [] : [`--root=${root}`, '--force-not-root']), '--remove', ...keys];
  ctx.ui.info(`removing ${keys.length} package(s) for ${kernel}${root === '/' ? '' : ` from ${root}`}`);
  const r = await ctx.exec(argv, { mutates: true, allowFailure: true });
  const now = family === 'rpm' ? await rpmKernelPackages(ctx.exec, root) : await debInstalledPackages(root);
  const still = keys.filter((k) => now.some((p) => p.key === k));
  const record = await readInstallRecord(root, kernel);
  // Kept: entries still naming the very installation recorded; removed, or installed again by
  // someone else since (another stamp), they no longer say anything.
  if (record) await saveInstallRecord(root, { ...record, packages: record.packages.filter((r) => now.some((p) => p.key === r.key && stampOf(family, p) === r.stamp)) });
  if (r.exitCode !== 0 || still.length > 0) {
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-4).join('\n');
    throw new KdebuginfoError(`${argv[0]} could not remove ${still.length > 0 ? still.join(', ') : keys.join(', ')} (exit ${r.exitCode})${tail ? `:\n${tail}` : ''}`, {
      hint: 'another package may need it: see what with rpm -q --whatrequires or apt-cache rdepends --installed',
    });
  }
  return { ...base, changed: true, msg: `removed ${keys.length} package(s) for ${kernel}, freeing ${formatBytes(freedBytes)}`, removed, kept, freedBytes };
}

export function formatRemove(r: RemoveResult): string {
  const lines = [r.msg];
  for (const p of r.removed) lines.push(`  ${(r.changed && r.msg.startsWith('would') ? 'would-remove' : 'removed').padEnd(13)} ${p.key}${p.byKdebuginfo ? '' : ' (not installed by kdebuginfo)'}`);
  for (const p of r.kept) lines.push(`  ${'kept'.padEnd(13)} ${p.key}: ${p.reason}`);
  return lines.join('\n') + '\n';
}
