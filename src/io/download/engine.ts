import { join } from 'node:path';
import type { Exec } from '../exec.js';
import { createHttpClient } from '../http.js';
import { assertFreeSpace, ensureCacheDir, type SpaceNeed } from '../cache.js';
import { silentProgress } from '../progress.js';
import type { PackageRole } from '../../core/types.js';
import { isSafeFileName } from '../../core/file-name.js';
import { KdebuginfoError, ExitCode } from '../../errors.js';
import { fetchJob } from './fetch-job.js';
import { directoryError, entryAt, partSizeNoChange, pathsFor, removeEntry } from './part-file.js';
import { SinkThread } from './sink.js';
import { algorithmOf, algosFor, digestFile, verdictFor, verifiedByOf, type Verdict } from './verify.js';
import type { DownloadItem, DownloadOptions, DownloadedFile, FileFailure, Job, Settings } from './types.js';

/**
 * Unpacked size as a multiple of the packed size, per package role, for the free-space check.
 * Estimates, not measurements of every kernel: debuginfo is xz-compressed DWARF that expands
 * about 5x (EL8 kernel-debuginfo: ~0.6 GB packed, ~3 GB installed); -common (sources plus
 * shared debug data) likewise; kernel-devel (headers and makefiles, ~20 MB packed, ~70 MB
 * installed) about 4x.
 */
export const UNPACKED_FACTOR: Record<PackageRole, number> = {
  debuginfo: 5,
  'debuginfo-common': 5,
  devel: 4,
};

export function estimateUnpackedBytes(role: PackageRole | undefined, size: number): number {
  return size * UNPACKED_FACTOR[role ?? 'debuginfo'];
}

/**
 * The cap on a body whose size no one gave. kernel-debuginfo, the largest package fetched, is
 * 0.4 to 0.9 GB packed (see UNPACKED_FACTOR): 4 GiB leaves room for any real one and stops an
 * endless body long before most disks fill (the free-space check stops it earlier on a small one).
 */
export const UNKNOWN_SIZE_CAP_BYTES = 4 * 2 ** 30;

/**
 * Fetch every item into the cache, verified, and return where each is.
 *
 * Each file streams into `<cache>/<file>.part` (never buffered whole), hashed on the way, and is
 * renamed to `<cache>/<file>` only once its checksum (or, without one, rpm's own header and
 * payload digests) matches. A file already in the cache is verified and never fetched again; one
 * that fails verification is removed. An interrupted transfer resumes with Range from the
 * `.part`'s length, guarded by If-Range with the validators kept in `<file>.part.json`; a server
 * that ignores Range or whose file changed answers 200, and the download starts over.
 *
 * Throws KdebuginfoError: exit 130 on abort (the .part files stay), 75 when only the network
 * failed, 1 when a file was wrong on every mirror or the disk is short, 3 when every mirror
 * answered 404.
 */
export async function downloadVerified(items: readonly DownloadItem[], options: DownloadOptions): Promise<DownloadedFile[]> {
  const seen = new Set<string>();
  for (const item of items) {
    if (!isSafeFileName(item.file)) throw new KdebuginfoError(`refusing unsafe file name "${item.file}"`);
    if (seen.has(item.file)) throw new KdebuginfoError(`${item.file} is listed twice`);
    seen.add(item.file);
  }
  await ensureCacheDir(options.cacheDir);
  const progress = options.progress ?? silentProgress;
  const debug = options.debug ?? (() => {});
  const connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const settings: Settings = {
    http: await createHttpClient({ userAgent: options.userAgent, env: options.env ?? {}, debug, connectTimeoutMs, idleTimeoutMs, retries: 0 }),
    exec: options.exec,
    progress,
    signal: options.signal,
    retries: options.retries ?? 5,
    retryBaseMs: options.retryBaseMs ?? 1000,
    retryMaxMs: options.retryMaxMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 120_000,
    connectTimeoutMs,
    idleTimeoutMs,
    unknownSizeCapBytes: options.unknownSizeCapBytes ?? UNKNOWN_SIZE_CAP_BYTES,
    cacheDir: options.cacheDir,
    debug,
  };
  const jobs: Job[] = items.map((item) => ({ item, paths: pathsFor(options.cacheDir, item.file), algo: algorithmOf(item, progress) }));

  // 1. What the cache already has (verified, so a damaged file is never used).
  const results: Array<DownloadedFile | undefined> = [];
  for (const job of jobs) {
    throwIfAborted(options.signal);
    results.push(await useCached(job, settings));
  }

  // 2. Room for what is left, before the first byte.
  const needs: SpaceNeed[] = [];
  let toFetch = 0;
  for (const [i, job] of jobs.entries()) {
    if (results[i] || job.item.size === null) continue;
    const part = await partSizeNoChange(job.paths.part);
    toFetch += Math.max(0, job.item.size - (part <= job.item.size ? part : 0));
  }
  needs.push({ path: options.cacheDir, bytes: toFetch, what: 'downloads' });
  if (options.installRoot !== undefined) {
    const unpacked = jobs.reduce((sum, j) => sum + (j.item.size === null ? 0 : estimateUnpackedBytes(j.item.role, j.item.size)), 0);
    needs.push({ path: join(options.installRoot, 'usr'), bytes: unpacked, what: 'unpacked install (estimate: 5x packed for debuginfo)' });
  }
  await assertFreeSpace([...needs, ...(options.extraSpace ?? [])]);

  // 3. Fetch the rest, `parallel` at a time.
  const failures: FileFailure[] = [];
  const queue = jobs.map((job, i) => ({ job, i })).filter(({ i }) => !results[i]);
  let aborted = false;
  // One hashing-and-writing thread for all files: it hashes at ~1.3 GB/s, far above what the
  // downloads deliver, and each extra thread would cost ~9 MiB of memory.
  const sink = queue.length > 0 ? new SinkThread() : undefined;
  let fatal = false;
  const worker = async () => {
    for (let next = queue.shift(); next && !fatal; next = queue.shift()) {
      if (options.signal?.aborted) {
        aborted = true;
        return;
      }
      const r = await fetchJob(next.job, settings, sink!).catch((err: unknown) => {
        fatal = true;
        throw err;
      });
      if (r.kind === 'ok') results[next.i] = r.file;
      else if (r.kind === 'failed') failures.push(r.failure);
      else aborted = true;
    }
  };
  const parallel = Math.max(1, options.parallel ?? 3);
  try {
    // allSettled: a fatal error in one slot (a disk error) must not leave the others running
    // unwatched; they stop on their own (the same disk) or finish, then the first error is thrown.
    const settled = await Promise.allSettled(Array.from({ length: Math.min(parallel, queue.length) }, worker));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    await sink?.close();
  }

  if (aborted || options.signal?.aborted) {
    throw new KdebuginfoError(`interrupted: partial downloads kept in ${options.cacheDir}; run again to resume`, {
      exitCode: ExitCode.interrupted,
    });
  }
  if (failures.length > 0) throw failureError(failures);
  return results as DownloadedFile[];
}

function failureError(failures: FileFailure[]): KdebuginfoError {
  const kinds = new Set(failures.flatMap((f) => f.tried.map((t) => t.kind)));
  // Bad bytes will not fix themselves: exit 1. Only the network failed: 75 (EX_TEMPFAIL), try
  // later. Every mirror said 404 (the file vanished since it was resolved): 3, not found.
  const exitCode = kinds.has('checksum') ? ExitCode.failed : kinds.has('network') ? ExitCode.network : ExitCode.notFound;
  const lines = failures.flatMap((f) => [
    `${f.file}: no mirror gave a good copy`,
    ...f.tried.map((t) => `  ${t.url}: ${t.reason}`),
  ]);
  const hint =
    exitCode === ExitCode.failed
      ? 'a mirror serves a damaged or different file: name another with --mirror FROM=TO'
      : exitCode === ExitCode.network
        ? 'the network or the mirrors failed; run again later to resume (partial files are kept)'
        : 'the file is gone from the mirrors since it was resolved; run again, or name a mirror with --mirror FROM=TO';
  return new KdebuginfoError(`download failed:\n${lines.join('\n')}`, { exitCode, hint, detail: { failures } });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new KdebuginfoError('interrupted', { exitCode: ExitCode.interrupted });
  }
}

/** A verified cache hit, or undefined (after removing a bad file, or a link or foreign file in its place). */
async function useCached(job: Job, s: Settings): Promise<DownloadedFile | undefined> {
  const { final } = job.paths;
  const entry = await entryAt(final);
  if (entry.kind === 'absent') return undefined;
  if (entry.kind === 'directory') throw directoryError(final);
  const read = entry.kind === 'ours' ? await digestFile(final, algosFor(job)) : null;
  const v: Verdict = read
    ? await verdictFor(job, final, read.size, read.digests, s.exec)
    : { ok: false, reason: `${entry.kind === 'foreign' ? entry.what : 'not a regular file'}, not a file kdebuginfo wrote` };
  if (!read || !v.ok) {
    s.progress.note(`${job.item.file}: the copy in the cache is not the expected file (${v.ok ? 'unreadable' : v.reason}): removed`);
    await removeEntry(final);
    return undefined;
  }
  s.progress.cached(job.item.file, verifiedByOf(job));
  return { file: job.item.file, path: final, size: read.size, sha256: v.sha256, verifiedBy: verifiedByOf(job), cached: true, url: null, fetchedBytes: 0, requests: 0 };
}

/** What the cache holds for each item, without fetching or removing anything (--dry-run). */
export async function inspectCache(
  items: readonly DownloadItem[],
  options: { cacheDir: string; exec: Exec },
): Promise<Array<{ file: string; state: 'cached' | 'partial' | 'absent' | 'damaged'; bytes: number }>> {
  const out = [];
  for (const item of items) {
    const paths = pathsFor(options.cacheDir, item.file);
    const job: Job = { item, paths, algo: algorithmOf(item, silentProgress) };
    const entry = await entryAt(paths.final);
    if (entry.kind !== 'absent') {
      // A link, a directory or someone else's file is no cached copy: a real run replaces it.
      const read = entry.kind === 'ours' ? await digestFile(paths.final, algosFor(job)) : null;
      const v = read ? await verdictFor(job, paths.final, read.size, read.digests, options.exec) : null;
      out.push({ file: item.file, state: v?.ok ? ('cached' as const) : ('damaged' as const), bytes: read?.size ?? 0 });
      continue;
    }
    const part = await partSizeNoChange(paths.part);
    out.push({ file: item.file, state: part ? ('partial' as const) : ('absent' as const), bytes: part });
  }
  return out;
}
