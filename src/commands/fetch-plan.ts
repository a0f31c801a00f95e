import type { Context } from '../context.js';
import { buildPlan, type PlanOptions, type PlanResult } from './plan.js';
import { resolveOrThrow } from './resolve.js';
import type { ResolvedPackage } from '../core/resolver.js';
import type { KernelRelease, OsInfo } from '../core/types.js';
import { chooseCacheDir } from '../io/cache.js';
import { createProgress, type Progress } from '../io/progress.js';
import type { DownloadItem, DownloadOptions } from '../io/download.js';

/** What `download` and `bundle` share: the plan flags plus where and how to fetch. */
export interface FetchOptions extends PlanOptions {
  userAgent: string;
  /** --cache-dir; default per chooseCacheDir (root: /var/cache/kdebuginfo, else XDG). */
  cacheDir?: string | undefined;
  /** --parallel; files fetched at once (default 3). */
  parallel?: number | undefined;
  /** --idle-timeout in seconds, as ms (default 30 s). */
  idleTimeoutMs?: number | undefined;
  /** --retries per URL (default 5). */
  retries?: number | undefined;
}

export interface FetchPlan {
  plan: PlanResult;
  kernel: KernelRelease;
  os: OsInfo;
  packages: ResolvedPackage[];
}

/** Plan, then find every package on the mirrors; exit 3 (as `resolve`) when one is nowhere. */
export async function resolveForFetch(ctx: Context, opts: FetchOptions): Promise<FetchPlan> {
  const { result: plan, planned, kernel, os } = await buildPlan(ctx, opts);
  return { plan, kernel, os, packages: await resolveOrThrow(ctx, planned, os, opts) };
}

/**
 * A resolved package as a download: the URL it was found at first, then the other planned
 * locations as fallbacks (a mirror that fails mid-way need not end the run; the repodata checksum
 * still decides what is accepted from them).
 */
export function downloadItemOf(p: ResolvedPackage): DownloadItem {
  return {
    file: p.file,
    urls: [...new Set([p.url, ...p.candidates])],
    size: p.size,
    checksum: p.checksum,
    role: p.role,
  };
}

export function cacheDirFor(ctx: Context, opts: Pick<FetchOptions, 'cacheDir'>): string {
  return chooseCacheDir({ flag: opts.cacheDir, env: ctx.env, isRoot: ctx.isRoot, cwd: ctx.cwd });
}

/** Progress on stderr: a live block on a terminal, plain lines otherwise. */
export function progressFor(ctx: Context): Progress {
  const columns = (ctx.stderr as { columns?: unknown }).columns;
  return createProgress(ctx.stderr as { write(s: string): unknown }, {
    isTty: ctx.isStderrTty,
    ...(typeof columns === 'number' ? { columns } : {}),
  });
}

/** The engine options every fetching command passes. */
export function engineOptions(ctx: Context, opts: FetchOptions, cacheDir: string, progress: Progress): Omit<DownloadOptions, 'extraSpace' | 'installRoot'> {
  return {
    cacheDir,
    exec: ctx.exec,
    userAgent: opts.userAgent,
    env: ctx.env,
    progress,
    debug: ctx.ui.debug,
    ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}),
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    // Ctrl-C: the download stops, keeps its .part files, and the CLI exits 130.
    signal: ctx.signal,
  };
}
