import { copyFile, link, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Context } from '../context.js';
import type { PlanResult } from './plan.js';
import { cacheDirFor, downloadItemOf, engineOptions, lockCache, progressFor, resolveForFetch, type FetchOptions } from './fetch-plan.js';
import type { Backend, PlannedPackageJson, Resolved } from '../backends/types.js';
import { downloadVerified, inspectCache, type DownloadedFile } from '../io/download.js';
import { ensureDir, type SpaceNeed } from '../io/cache.js';
import { formatBytes } from '../core/format.js';
import { KdebuginfoError } from '../errors.js';

export interface DownloadCommandOptions extends FetchOptions {
  /** --dest DIR: also place the three RPMs there (hard links when on the cache's filesystem). */
  dest?: string | undefined;
}

export type DownloadStatus = 'downloaded' | 'cached' | 'would-download';

/** A package as every command reports it (src/backends/types.ts), plus what fetching it did. */
export interface DownloadedPackage extends Omit<PlannedPackageJson, 'candidates'> {
  url: string;
  size: number | null;
  /** sha256 of the file on disk; null under --dry-run for a file not yet in the cache. */
  sha256: string | null;
  /** The repodata checksum, or null when only a listing found the file. */
  checksum: { type: string; value: string } | null;
  /** `sha256` (or the repodata checksum type), or `rpm digests`; null when not verified (dry run). */
  verifiedBy: string | null;
  status: DownloadStatus;
  /** Bytes fetched over the network in this run. */
  fetchedBytes: number;
  /** Where the file is: in --dest when given, else in the cache; null under --dry-run when not cached. */
  path: string | null;
}

export interface DownloadResult extends Omit<PlanResult, 'packages'> {
  cacheDir: string;
  dest: string | null;
  dryRun: boolean;
  packages: DownloadedPackage[];
  fetchedBytes: number;
}

/**
 * Resolve the kernel's three packages, fetch them into the cache (resumable, verified), and place
 * them in --dest. Under --dry-run: resolve (read-only network) and report what the cache already
 * holds, fetch and write nothing.
 */
export async function runDownload(ctx: Context, opts: DownloadCommandOptions, bound?: Backend): Promise<DownloadResult> {
  const fetched = await resolveForFetch(ctx, opts, bound);
  const { plan } = fetched;
  const packages = [...fetched.packages, ...fetched.extras.map((e) => e.pkg)];
  const cacheDir = cacheDirFor(ctx, opts);
  const dest = opts.dest === undefined ? null : resolve(ctx.cwd, opts.dest);
  const items = packages.map(downloadItemOf);
  const base = { kernel: plan.kernel, os: plan.os, notes: plan.notes, cacheDir, dest, dryRun: ctx.dryRun };

  if (ctx.dryRun) {
    const states = await inspectCache(items, { cacheDir, exec: ctx.exec });
    const out = packages.map((p, i) => {
      const cached = states[i]!.state === 'cached';
      return packageResult(p, {
        status: cached ? 'cached' : 'would-download',
        path: cached ? join(cacheDir, p.file) : null,
        sha256: null,
        verifiedBy: null,
        fetchedBytes: 0,
      });
    });
    for (const [i, s] of states.entries()) {
      const url = items[i]!.urls[0];
      if (s.state === 'partial') ctx.ui.info(`would resume ${url} (${formatBytes(s.bytes)} already fetched)`);
      else if (s.state === 'damaged') ctx.ui.info(`would download ${url} again (the copy in the cache does not verify)`);
      else if (s.state === 'absent') ctx.ui.info(`would download ${url}`);
    }
    if (dest) ctx.ui.info(`would place them in ${dest}`);
    return { ...base, packages: out, fetchedBytes: 0 };
  }

  const { lock } = await lockCache(ctx, cacheDir, opts.wait ?? true);
  try {
    return await fetchAndPlace(ctx, opts, { packages, items, cacheDir, dest, base });
  } finally {
    await lock.release();
  }
}

async function fetchAndPlace(
  ctx: Context,
  opts: DownloadCommandOptions,
  j: { packages: Resolved[]; items: ReturnType<typeof downloadItemOf>[]; cacheDir: string; dest: string | null; base: Omit<DownloadResult, 'packages' | 'fetchedBytes'> },
): Promise<DownloadResult> {
  const { packages, items, cacheDir, dest, base } = j;
  const extraSpace: SpaceNeed[] = [];
  if (dest && !(await sameFilesystem(cacheDir, dest))) {
    extraSpace.push({ path: dest, bytes: items.reduce((n, i) => n + (i.size ?? 0), 0), what: `copies in ${dest}` });
  }
  const progress = progressFor(ctx);
  let files: DownloadedFile[];
  try {
    files = await downloadVerified(items, { ...engineOptions(ctx, opts, cacheDir, progress), extraSpace });
  } finally {
    progress.close();
  }
  const placed = dest ? await placeAll(files, dest) : files.map((f) => f.path);
  const out = packages.map((p, i) =>
    packageResult(p, {
      status: files[i]!.cached ? 'cached' : 'downloaded',
      path: placed[i]!,
      sha256: files[i]!.sha256,
      verifiedBy: files[i]!.verifiedBy,
      fetchedBytes: files[i]!.fetchedBytes,
      size: files[i]!.size,
      url: files[i]!.url ?? p.url,
    }),
  );
  return { ...base, packages: out, fetchedBytes: files.reduce((n, f) => n + f.fetchedBytes, 0) };
}

function packageResult(
  p: Resolved,
  r: Pick<DownloadedPackage, 'status' | 'path' | 'sha256' | 'verifiedBy' | 'fetchedBytes'> & Partial<Pick<DownloadedPackage, 'size' | 'url'>>,
): DownloadedPackage {
  return {
    role: p.role,
    name: p.name,
    version: p.version,
    release: p.release,
    arch: p.arch,
    file: p.file,
    url: r.url ?? p.url,
    size: r.size ?? p.size,
    sha256: r.sha256,
    checksum: p.checksum,
    verifiedBy: r.verifiedBy,
    status: r.status,
    fetchedBytes: r.fetchedBytes,
    path: r.path,
  };
}

async function deviceOf(path: string): Promise<number> {
  let p = resolve(path);
  for (;;) {
    try {
      return (await stat(p)).dev;
    } catch {
      const up = dirname(p);
      if (up === p) throw new KdebuginfoError(`cannot stat ${path}`);
      p = up;
    }
  }
}

async function sameFilesystem(a: string, b: string): Promise<boolean> {
  return (await deviceOf(a)) === (await deviceOf(b));
}

/** Put each cached file into `dest`: a hard link when possible (no space, instant), else a copy; atomically. */
async function placeAll(files: readonly DownloadedFile[], dest: string): Promise<string[]> {
  await ensureDir(dest);
  const out: string[] = [];
  for (const f of files) {
    const target = join(dest, f.file);
    const [src, existing] = await Promise.all([stat(f.path), stat(target).catch(() => undefined)]);
    if (existing && existing.dev === src.dev && existing.ino === src.ino) {
      out.push(target);
      continue;
    }
    const tmp = `${target}.kdebuginfo-tmp-${process.pid}`;
    await rm(tmp, { force: true });
    try {
      await link(f.path, tmp);
    } catch {
      await copyFile(f.path, tmp);
    }
    await rename(tmp, target);
    out.push(target);
  }
  return out;
}

export function formatDownload(r: DownloadResult): string {
  const lines = [`Kernel   ${r.kernel.uname}  (${r.kernel.flavor} flavour, ${r.kernel.arch})`, `OS       ${r.os.name}`, ''];
  for (const p of r.packages) {
    const size = p.size === null ? '?' : formatBytes(p.size);
    const how = p.status === 'would-download' ? 'would download' : p.status === 'cached' ? 'in the cache' : `downloaded${p.fetchedBytes !== p.size ? ` (${formatBytes(p.fetchedBytes)} fetched)` : ''}`;
    lines.push(`${p.role.padEnd(17)} ${p.file}  ${size}  ${how}${p.verifiedBy ? `, ${p.verifiedBy} ok` : ''}`);
    if (p.path) lines.push(`    ${p.path}`);
  }
  lines.push('', r.dryRun ? `Dry run: nothing fetched or written (cache ${r.cacheDir}).` : `Fetched ${formatBytes(r.fetchedBytes)}; cache ${r.cacheDir}`);
  return lines.join('\n') + '\n';
}
