import type { Context } from '../context.js';
import { formatBytes } from '../core/format.js';
import { parseKernelRelease } from '../core/kernel-release.js';
import { cleanCache, type CacheClean } from '../io/cache-clean.js';
import { cacheDirFor, lockCache } from './fetch-plan.js';
import { runList } from './list.js';
import { planRemoval, removePackages, type RemoveResult } from './remove.js';
import { access } from 'node:fs/promises';

export interface PruneOptions {
  root: string | undefined;
  /** --yes: also remove packages of gone kernels that kdebuginfo did not install. */
  yes: boolean;
  /** --keep-cache: leave the download cache alone. */
  keepCache: boolean;
  cacheDir: string | undefined;
  wait: boolean;
}

export interface PruneResult {
  changed: boolean;
  failed: false;
  rc: 0;
  msg: string;
  root: string;
  /** One removal per kernel that is no longer installed (never the running one). */
  kernels: RemoveResult[];
  cache: { dir: string; removed: CacheClean['removed']; kept: string[]; freedBytes: number } | null;
  freedBytes: number;
  warnings: string[];
}

/**
 * Debuginfo and devel packages of kernels no longer installed go (by the same rule as remove:
 * kdebuginfo's own, the rest only when asked or --yes), and the download cache is emptied of
 * package files. The running kernel is never pruned, even when its modules directory is gone
 * (a kernel package removed while it runs), and its files stay in the cache.
 */
export async function runPrune(ctx: Context, opts: PruneOptions): Promise<PruneResult> {
  const root = opts.root ?? '/';
  const list = await runList(ctx, { root });
  const warnings: string[] = [];
  const kernels: RemoveResult[] = [];
  for (const entry of list.kernels) {
    if (entry.kernelInstalled || entry.running || entry.packages.length === 0) continue;
    const own: string[] = [];
    const { remove, kept } = await planRemoval(ctx, list, entry, opts.yes, own);
    warnings.push(...own);
    kernels.push(await removePackages(ctx, list.family, root, entry.kernel, remove, kept, { failed: false, rc: 0, kernel: entry.kernel, root, warnings: own }));
  }

  let cache: PruneResult['cache'] = null;
  if (!opts.keepCache) {
    const dir = cacheDirFor(ctx, opts);
    if (await access(dir).then(() => true, () => false)) {
      const keep = keepRunning(list.running);
      // The cache lock: no download, bundle or install is writing there meanwhile.
      const { lock } = ctx.dryRun ? { lock: undefined } : await lockCache(ctx, dir, opts.wait);
      try {
        const c = await cleanCache(dir, keep, ctx.dryRun);
        cache = { dir, removed: c.removed, kept: c.kept, freedBytes: c.removed.reduce((n, f) => n + f.size, 0) };
      } finally {
        await lock?.release();
      }
    }
  }

  const removedPackages = kernels.reduce((n, k) => n + k.removed.length, 0);
  const freedBytes = kernels.reduce((n, k) => n + k.freedBytes, 0) + (cache?.freedBytes ?? 0);
  const changed = removedPackages > 0 || (cache?.removed.length ?? 0) > 0;
  const what = `${removedPackages} package(s) of ${kernels.filter((k) => k.removed.length > 0).length} kernel(s) no longer installed${cache ? ` and ${cache.removed.length} cached file(s)` : ''}`;
  const msg = !changed ? 'nothing to prune' : `${ctx.dryRun ? 'would remove' : 'removed'} ${what}, ${ctx.dryRun ? 'freeing' : 'freed'} ${formatBytes(freedBytes)}`;
  return { changed, failed: false, rc: 0, msg, root, kernels, cache, freedBytes, warnings };
}

/** The running kernel's cached packages are kept: RPM names end in its version-release.arch, Debian's contain its release. */
function keepRunning(running: string | null): (file: string) => boolean {
  if (running === null) return () => false;
  let marker = running;
  try {
    const k = parseKernelRelease(running);
    marker = `-${k.version}-${k.release}.${k.arch}.rpm`;
  } catch {
    // a Debian/Ubuntu release: linux-image-<R>-dbg_..., linux-headers-<R>_...
    return (file) => file.includes(`-${running}-`) || file.includes(`-${running}_`);
  }
  return (file) => file.endsWith(marker) || file.endsWith(`${marker}.part`);
}

export function formatPrune(r: PruneResult): string {
  const lines = [r.msg];
  const verb = r.msg.startsWith('would') ? 'would-remove' : 'removed';
  for (const k of r.kernels) {
    for (const p of k.removed) lines.push(`  ${verb.padEnd(13)} ${p.key}`);
    for (const p of k.kept) lines.push(`  ${'kept'.padEnd(13)} ${p.key}: ${p.reason}`);
  }
  if (r.cache) {
    for (const f of r.cache.removed) lines.push(`  ${verb.padEnd(13)} ${r.cache.dir}/${f.file}`);
    for (const f of r.cache.kept) lines.push(`  ${'kept'.padEnd(13)} ${r.cache.dir}/${f}: the running kernel's`);
  }
  return lines.join('\n') + '\n';
}
