import type { Context } from '../context.js';
import { join } from 'node:path';
import { readTarget } from '../backends/target.js';
import type { Backend, OfflineExtra, PlanOptions, PlanResult, Resolved } from '../backends/types.js';
import { chooseCacheDir, ensureCacheDir } from '../io/cache.js';
import { acquireLock, type Lock } from '../io/lock.js';
import { maskUrlCredentials } from '../core/credentials.js';
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
  /** Wait for another run holding the cache (default); --no-wait fails at once. */
  wait?: boolean | undefined;
}

export interface FetchPlan {
  backend: Backend;
  plan: PlanResult;
  packages: Resolved[];
  /** What an offline install needs besides (Debian: the headers' same-build dependencies). */
  extras: OfflineExtra[];
}

/** Plan, then find every package where it can be fetched; exit 3 (as `resolve`) when one is nowhere. */
export async function resolveForFetch(ctx: Context, opts: FetchOptions, bound?: Backend): Promise<FetchPlan> {
  const backend = bound ?? (await readTarget(ctx, opts));
  const plan = await backend.plan(opts);
  const packages = await backend.resolve(opts);
  return { backend, plan, packages, extras: await backend.offlineExtras(packages) };
}

/**
 * One lock per cache: `download`, `bundle` and `install` take it before they write there, so two
 * runs never discard or rename each other's files. A run that has to wait says so; what is
 * already in the cache is looked at after the lock is held (the engine keeps a verified file).
 */
export async function lockCache(ctx: Context, cacheDir: string, wait: boolean): Promise<{ lock: Lock; waited: boolean }> {
  await ensureCacheDir(cacheDir);
  let waited = false;
  const lock = await acquireLock(join(cacheDir, CACHE_LOCK), {
    wait,
    onWait: (pid) => {
      waited = true;
      ctx.ui.info(`waiting for another kdebuginfo (pid ${pid}) to finish...`);
    },
    signal: ctx.signal,
  });
  return { lock, waited };
}

/** The lock file's name in the cache directory (kept from when only install took it). */
export const CACHE_LOCK = 'install.lock';

/**
 * A resolved package as a download: the URL it was found at first, then the other planned
 * locations as fallbacks (a mirror that fails mid-way need not end the run; the repodata checksum
 * still decides what is accepted from them).
 */
export function downloadItemOf(p: Resolved): DownloadItem {
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
  const stderr = ctx.stderr as { write(s: string): unknown };
  // Progress names URLs: a mirror's credentials are masked there as everywhere else.
  return createProgress({ write: (text: string) => stderr.write(maskUrlCredentials(text)) }, {
    isTty: ctx.isStderrTty,
    ...(typeof columns === 'number' ? { columns } : {}),
    // Ctrl-C: the live block stops redrawing in place (the CLI prints its own line below it).
    signal: ctx.signal,
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
