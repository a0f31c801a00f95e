import { createReadStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Got } from 'got';
import type { Exec } from './exec.js';
import { createHttpClient } from './http.js';
import { proxyFailureOf } from './proxy.js';
import { assertFreeSpace, ensureDir, type SpaceNeed } from './cache.js';
import { silentProgress, type Progress } from './progress.js';
import type { PackageRole } from '../core/types.js';
import { formatBytes } from '../core/format.js';
import { KdebuginfoError, ExitCode } from '../errors.js';

/** One file to fetch: what the resolver found (ResolvedPackage fits). */
export interface DownloadItem {
  /** File name in the cache, e.g. `kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm`. */
  file: string;
  /** Candidate URLs, best first: the resolved URL, then the other mirrors. */
  urls: readonly string[];
  /** Size from repodata or a HEAD probe; null when no one said. */
  size: number | null;
  /** From repodata; null when only a listing or a probe found the file (then rpm's own digests decide). */
  checksum: { type: string; value: string } | null;
  /** For the unpacked-size estimate of the free-space check; default: counted as debuginfo. */
  role?: PackageRole;
}

export interface DownloadOptions {
  cacheDir: string;
  /** Runs `rpmkeys` for files without a repodata checksum. */
  exec: Exec;
  userAgent: string;
  /** For HTTPS_PROXY / HTTP_PROXY / NO_PROXY (and lower-case forms). */
  env?: Record<string, string | undefined>;
  /** Files fetched at once (default 3). */
  parallel?: number;
  /** Retries per URL after the first try, on connection errors, idle timeouts, 408, 429 and 5xx (default 5). */
  retries?: number;
  /** Connect timeout (default 15 s). */
  connectTimeoutMs?: number;
  /** No byte for this long: the try failed (default 30 s). Never a total timeout: 1 GB may take an hour. */
  idleTimeoutMs?: number;
  /** First backoff delay; doubles per retry (default 1 s). */
  retryBaseMs?: number;
  /** Backoff cap (default 30 s). */
  retryMaxMs?: number;
  /** A Retry-After longer than this: give up on that mirror and try the next (default 120 s). */
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
  progress?: Progress;
  /** When the files will be installed under this root: also check room for the unpacked install. */
  installRoot?: string;
  /** Other space the caller will need (a --dest copy, a bundle), checked in the same go. */
  extraSpace?: readonly SpaceNeed[];
  debug?: (line: string) => void;
}

export interface DownloadedFile {
  file: string;
  /** Absolute path in the cache. */
  path: string;
  size: number;
  sha256: string;
  /** `sha256` (or the repodata checksum type), or `rpm digests`. */
  verifiedBy: string;
  /** Was it already in the cache (nothing fetched)? */
  cached: boolean;
  /** The URL it came from; null when cached. */
  url: string | null;
  /** Bytes that came over the network in this run (less than size after a resume). */
  fetchedBytes: number;
  /** HTTP requests made for it in this run. */
  requests: number;
}

export type FailureKind = 'network' | 'http' | 'checksum';

export interface UrlFailure {
  url: string;
  kind: FailureKind;
  reason: string;
}

export interface FileFailure {
  file: string;
  tried: UrlFailure[];
}

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

/** A cache file name must be a plain name: it comes from repodata, which is not ours. */
const SAFE_FILE = /^[A-Za-z0-9_+~^][A-Za-z0-9._+~^-]*$/;

const HASHES: Record<string, string> = { sha: 'sha1', sha1: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', md5: 'md5' };

interface Paths {
  final: string;
  part: string;
  sidecar: string;
}

/** What `<file>.part.json` remembers about the bytes in `<file>.part`. */
interface PartMeta {
  url: string;
  etag: string | null;
  lastModified: string | null;
  /** Total size the server announced. */
  size: number | null;
  /** The expected checksum at the time: a part of another build of the same name is useless. */
  checksum: string | null;
}

interface Job {
  item: DownloadItem;
  paths: Paths;
  /** Hash algorithm that decides, or null for rpm's digests. */
  algo: string | null;
}

type AttemptResult =
  | { kind: 'complete'; size: number; sha256: string }
  | { kind: 'retry'; reason: string; progressed: boolean; retryAfterMs?: number | undefined }
  | { kind: 'restart'; reason: string }
  | { kind: 'give-up'; failure: FailureKind; reason: string }
  | { kind: 'aborted' };

interface Settings {
  http: Got;
  exec: Exec;
  progress: Progress;
  signal: AbortSignal | undefined;
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxRetryAfterMs: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  debug: (line: string) => void;
}

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
    if (!SAFE_FILE.test(item.file)) throw new KdebuginfoError(`refusing unsafe file name "${item.file}"`);
    if (seen.has(item.file)) throw new KdebuginfoError(`${item.file} is listed twice`);
    seen.add(item.file);
  }
  await ensureDir(options.cacheDir);
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
    const part = (await sizeOf(job.paths.part)) ?? 0;
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

function pathsFor(cacheDir: string, file: string): Paths {
  const final = join(cacheDir, file);
  return { final, part: `${final}.part`, sidecar: `${final}.part.json` };
}

function algorithmOf(item: DownloadItem, progress: Progress): string | null {
  if (!item.checksum) return null;
  const algo = HASHES[item.checksum.type.toLowerCase()];
  if (!algo) {
    progress.note(`${item.file}: unknown checksum type "${item.checksum.type}": verifying with rpm's own digests instead`);
    return null;
  }
  return algo;
}

function verifiedByOf(job: Job): string {
  return job.algo === null ? 'rpm digests' : job.algo;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new KdebuginfoError('interrupted', { exitCode: ExitCode.interrupted });
  }
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

/** sha256 always (manifests and bundles carry it), plus the repodata algorithm when it differs. */
function algosFor(job: Job): string[] {
  return job.algo && job.algo !== 'sha256' ? ['sha256', job.algo] : ['sha256'];
}

/** Digests of a whole file (the cache check, before any download starts). */
async function digestFile(path: string, algos: readonly string[]): Promise<Map<string, string>> {
  const hashes = algos.map((a) => [a, createHash(a)] as const);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (const [, h] of hashes) h.update(chunk);
  }
  return new Map(hashes.map(([a, h]) => [a, h.digest('hex')]));
}

type Verdict = { ok: true; sha256: string } | { ok: false; reason: string };

/** Is this file the one we want? `digests` are of its whole content. */
async function verdictFor(job: Job, path: string, size: number, digests: Map<string, string>, exec: Exec): Promise<Verdict> {
  const { item } = job;
  const sha256 = digests.get('sha256')!;
  if (item.size !== null && size !== item.size) {
    return { ok: false, reason: `size ${size} bytes, expected ${item.size}` };
  }
  if (job.algo && item.checksum) {
    const actual = digests.get(job.algo)!;
    const expected = item.checksum.value.toLowerCase();
    if (actual !== expected) return { ok: false, reason: `${item.checksum.type} mismatch: expected ${expected}, got ${actual}` };
    return { ok: true, sha256 };
  }
  // Found by a listing or a probe: no checksum from the mirror. The RPM carries SHA256 digests
  // of its header and payload; rpmkeys checks them (not the signature: keys are the install's
  // business). Exit 1 and "DIGESTS NOT OK" or "BAD" for a damaged or truncated file.
  const r = await exec(['rpmkeys', '--checksig', '--nosignature', path], { allowFailure: true });
  if (r.exitCode !== 0) {
    const why = (r.stdout + r.stderr).trim().split('\n').slice(-2).join('; ');
    return { ok: false, reason: `rpm digests do not match (rpmkeys: ${why || `exit ${r.exitCode}`}), sha256 ${sha256}` };
  }
  return { ok: true, sha256 };
}

/** A verified cache hit, or undefined (after removing a bad file). */
async function useCached(job: Job, s: Settings): Promise<DownloadedFile | undefined> {
  const size = await sizeOf(job.paths.final);
  if (size === null) return undefined;
  const v = await verdictFor(job, job.paths.final, size, await digestFile(job.paths.final, algosFor(job)), s.exec);
  if (!v.ok) {
    s.progress.note(`${job.item.file}: the copy in the cache is not the expected file (${v.reason}): removed`);
    await rm(job.paths.final, { force: true });
    return undefined;
  }
  s.progress.cached(job.item.file, verifiedByOf(job));
  return { file: job.item.file, path: job.paths.final, size, sha256: v.sha256, verifiedBy: verifiedByOf(job), cached: true, url: null, fetchedBytes: 0, requests: 0 };
}

type JobResult = { kind: 'ok'; file: DownloadedFile } | { kind: 'failed'; failure: FileFailure } | { kind: 'aborted' };

/** Candidate after candidate: retries on one URL, then the next. */
async function fetchJob(job: Job, s: Settings, sink: SinkThread): Promise<JobResult> {
  const tried: UrlFailure[] = [];
  let requests = 0;
  let fetched = 0;
  for (const [n, url] of job.item.urls.entries()) {
    const r = await fetchFromUrl(job, url, s, sink);
    requests += r.requests;
    fetched += r.fetched;
    if (r.kind === 'aborted') {
      s.progress.stopped(job.item.file, 'interrupted, partial download kept');
      return { kind: 'aborted' };
    }
    if (r.kind === 'complete') {
      s.progress.done(job.item.file, { size: r.size, fetched, verifiedBy: verifiedByOf(job) });
      return {
        kind: 'ok',
        file: { file: job.item.file, path: job.paths.final, size: r.size, sha256: r.sha256, verifiedBy: verifiedByOf(job), cached: false, url, fetchedBytes: fetched, requests },
      };
    }
    tried.push({ url, kind: r.failure, reason: r.reason });
    const next = job.item.urls[n + 1];
    const msg = `${job.item.file}: ${url}: ${r.reason}`;
    if (next) s.progress.note(`${msg}; trying ${next}`);
    else s.progress.stopped(job.item.file, `${url}: ${r.reason}`);
  }
  if (job.item.urls.length === 0) tried.push({ url: '(none)', kind: 'http', reason: 'no candidate URL' });
  return { kind: 'failed', failure: { file: job.item.file, tried } };
}

type UrlResult = ({ kind: 'complete'; size: number; sha256: string } | { kind: 'give-up'; failure: FailureKind; reason: string } | { kind: 'aborted' }) & {
  requests: number;
  /** Bytes that came over the network from this URL. */
  fetched: number;
};

/** Tries one URL until it gives the file, runs out of retries, or says something final. */
async function fetchFromUrl(job: Job, url: string, s: Settings, sink: SinkThread): Promise<UrlResult> {
  let tries = 0;
  let restarts = 0;
  let requests = 0;
  let fetched = 0;
  for (;;) {
    if (s.signal?.aborted) return { kind: 'aborted', requests, fetched };
    requests++;
    const r = await attemptOnce(job, url, s, sink, (n) => (fetched += n));
    switch (r.kind) {
      case 'complete':
        return { ...r, fetched, requests };
      case 'aborted':
        return { kind: 'aborted', requests, fetched };
      case 'give-up':
        return { kind: 'give-up', failure: r.failure, reason: r.reason, requests, fetched };
      case 'restart':
        // The server's file is not the one the .part came from: begin again at once, but not
        // forever (a mirror whose ETag changes on every request).
        s.progress.note(`${job.item.file}: ${r.reason}; starting over`);
        if (++restarts > 3) return { kind: 'give-up', failure: 'network', reason: `${r.reason} (again after ${restarts - 1} fresh starts)`, requests, fetched };
        continue;
      case 'retry': {
        // A try that moved the file forward resets the count: a link that drops every 100 MB
        // still finishes a 1 GB file, and every try gets closer, so this cannot loop forever.
        if (r.progressed) tries = 0;
        tries++;
        if (tries > s.retries) {
          return { kind: 'give-up', failure: 'network', reason: `${r.reason} (gave up after ${tries} tries)`, requests, fetched };
        }
        let delay = Math.min(s.retryBaseMs * 2 ** (tries - 1), s.retryMaxMs);
        if (r.retryAfterMs !== undefined) {
          if (r.retryAfterMs > s.maxRetryAfterMs) {
            return { kind: 'give-up', failure: 'network', reason: `${r.reason}, asks to come back in ${Math.ceil(r.retryAfterMs / 1000)} s`, requests, fetched };
          }
          delay = Math.max(delay, r.retryAfterMs);
        }
        s.progress.note(`${job.item.file}: ${r.reason} from ${hostOf(url)}; retry ${tries}/${s.retries} in ${(delay / 1000).toFixed(1)} s`);
        try {
          await sleep(delay, undefined, s.signal ? { signal: s.signal } : undefined);
        } catch {
          return { kind: 'aborted', requests, fetched };
        }
        continue;
      }
    }
  }
}

/** Why a transfer broke off: the socket's reason (or the proxy's, naming it), not the status its headers had. */
function describeTransferError(err: unknown): string {
  const proxy = proxyFailureOf(err);
  if (proxy) return proxy.text;
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.code ?? e.message ?? String(err);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

async function readSidecar(path: string): Promise<PartMeta | null> {
  try {
    const m = JSON.parse(await readFile(path, 'utf8')) as Partial<PartMeta>;
    if (typeof m.url !== 'string') return null;
    return { url: m.url, etag: m.etag ?? null, lastModified: m.lastModified ?? null, size: m.size ?? null, checksum: m.checksum ?? null };
  } catch {
    return null;
  }
}

async function writeSidecar(path: string, meta: PartMeta): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(meta)}\n`);
  await rename(tmp, path);
}

async function discardPart(paths: Paths): Promise<void> {
  await rm(paths.part, { force: true });
  await rm(paths.sidecar, { force: true });
}

/** Can the bytes in `.part` be continued from `url`? */
function canResume(meta: PartMeta | null, url: string, job: Job): boolean {
  if (!meta) return false;
  const expected = job.item.checksum?.value.toLowerCase() ?? null;
  if (meta.checksum !== expected) return false;
  if (job.item.size !== null && meta.size !== null && meta.size !== job.item.size) return false;
  // Same URL: If-Range lets the server say whether its file is still the one we began.
  if (meta.url === url) return Boolean(meta.etag || meta.lastModified) || expected !== null;
  // Another mirror of the same file: its validators mean nothing here, but with a checksum from
  // repodata a wrong mix of bytes is caught at the end, and the rest of a 600 MB file is worth it.
  return expected !== null;
}

/** A strong ETag if there is one (RFC 9110 §13.1.5: If-Range needs a strong validator), else Last-Modified. */
function ifRangeValue(meta: PartMeta): string | undefined {
  if (meta.etag && !meta.etag.startsWith('W/')) return meta.etag;
  return meta.lastModified ?? undefined;
}

function header(res: { headers: Record<string, string | string[] | undefined> }, name: string): string | null {
  const v = res.headers[name];
  if (v === undefined) return null;
  return Array.isArray(v) ? (v[0] ?? null) : v;
}

/** `bytes START-END/TOTAL` -> numbers; TOTAL may be `*`. */
export function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(v?.trim() ?? '');
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now. */
export function parseRetryAfter(v: string | null, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const when = Date.parse(t);
  return Number.isNaN(when) ? undefined : Math.max(0, when - now);
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504, 521, 522, 524]);

/** One HTTP request for the rest of the file. */
async function attemptOnce(job: Job, url: string, s: Settings, sink: SinkThread, onFetched: (n: number) => void): Promise<AttemptResult> {
  const { item, paths } = job;
  const file = item.file;
  const expectedChecksum = item.checksum?.value.toLowerCase() ?? null;
  const algos = algosFor(job);

  // Where to start: the .part's length when it can be continued from this URL, else 0.
  let meta = await readSidecar(paths.sidecar);
  const partSize = await sizeOf(paths.part);
  let resumeFrom = 0;
  if (partSize !== null && partSize > 0 && canResume(meta, url, job) && (item.size === null || partSize <= item.size)) {
    resumeFrom = partSize;
  } else if (partSize !== null || meta) {
    await discardPart(paths);
    meta = null;
  }
  // The sink thread hashes the prefix from disk (the disk is what will be renamed into place)
  // before the request, so the Range asks for exactly what follows it.
  let writer = await PartWriter.open(sink, paths.part, resumeFrom, algos);
  let offset = writer.offset;

  const headers: Record<string, string> = {
    // Identity: Range counts bytes of the encoded body, and an RPM gains nothing from gzip.
    'accept-encoding': 'identity',
  };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    const validator = meta && meta.url === url ? ifRangeValue(meta) : undefined;
    if (validator) headers['if-range'] = validator;
  }
  s.debug(`GET ${url}${headers.range ? ` (${headers.range}${headers['if-range'] ? `, If-Range ${headers['if-range']}` : ''})` : ''}`);

  // The client routes it through the proxy the environment names for this URL (src/io/http.ts).
  const req = s.http.stream(url, {
    headers,
    decompress: false,
    throwHttpErrors: false,
    retry: { limit: 0 },
    timeout: { connect: s.connectTimeoutMs, socket: s.idleTimeoutMs },
    ...(s.signal ? { signal: s.signal } : {}),
  });
  // Remember the network's error; the listener also keeps an error emitted while nobody else
  // listens from becoming an uncaught exception.
  let networkError: unknown;
  req.on('error', (err) => (networkError ??= err));

  const giveBack = async (r: AttemptResult, discard: boolean): Promise<AttemptResult> => {
    req.destroy();
    await writer.finish().catch(() => undefined);
    if (discard) await discardPart(paths);
    return r;
  };

  let response: { statusCode: number; headers: Record<string, string | string[] | undefined> };
  try {
    response = await new Promise((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
  } catch (err) {
    if (s.signal?.aborted) return giveBack({ kind: 'aborted' }, false);
    return giveBack({ kind: 'retry', reason: describeTransferError(err), progressed: false }, false);
  }

  const status = response.statusCode;
  if (status === 416) {
    req.destroy();
    if (offset > 0 && item.size !== null && offset === item.size) {
      // The whole file was already here (the process stopped before the rename).
      const done = await writer.finish();
      return finish(job, url, done.size, done.digests, s);
    }
    return giveBack({ kind: 'restart', reason: `${hostOf(url)} refused the range (HTTP 416)` }, true);
  }
  if (status < 200 || status >= 300) {
    if (RETRYABLE_STATUS.has(status)) {
      return giveBack({ kind: 'retry', reason: `HTTP ${status}`, progressed: false, retryAfterMs: parseRetryAfter(header(response, 'retry-after')) }, false);
    }
    return giveBack({ kind: 'give-up', failure: 'http', reason: `HTTP ${status}` }, false);
  }

  const etag = header(response, 'etag');
  const lastModified = header(response, 'last-modified');
  const length = header(response, 'content-length');
  let total: number | null;
  if (status === 206) {
    const cr = parseContentRange(header(response, 'content-range'));
    const changed =
      (meta?.url === url && meta.etag !== null && etag !== null && meta.etag !== etag) ||
      (meta?.url === url && meta.lastModified !== null && lastModified !== null && meta.lastModified !== lastModified);
    const expectedTotal = item.size ?? meta?.size ?? null;
    if (!cr || offset === 0 || cr.start !== offset || (expectedTotal !== null && cr.total !== null && cr.total !== expectedTotal) || changed) {
      const why = changed ? 'ETag or Last-Modified changed' : `Content-Range ${header(response, 'content-range')}`;
      return giveBack({ kind: 'restart', reason: `${hostOf(url)} answered the range with another file (${why})` }, true);
    }
    total = cr.total ?? expectedTotal;
  } else {
    if (offset > 0) {
      // 200 to a Range request: the server ignores Range, or If-Range failed because its file
      // changed. Either way this body is the whole file: take it from byte 0. No await here:
      // the sink thread handles the close and the truncating open in order, and nothing may
      // stand between the response and the data listener below.
      s.progress.note(`${file}: ${hostOf(url)} sent the whole file instead of the rest (Range ignored or the file changed); starting over`);
      writer.abandon();
      writer = PartWriter.fresh(sink, paths.part, algos);
      offset = 0;
    }
    total = length === null ? null : Number(length);
  }
  if (item.size !== null && total !== null && total !== item.size) {
    // Not the file repodata describes: do not spend 600 MB to learn what the checksum would say.
    return giveBack({ kind: 'give-up', failure: 'checksum', reason: `the server's file is ${total} bytes, expected ${item.size}` }, offset === 0);
  }
  // Not awaited yet, for the same reason. Bytes without a sidecar are only ever thrown away, so
  // the order on disk does not matter.
  // Handled at once, so a full disk (ENOSPC) is not an unhandled rejection before it is awaited;
  // the data write fails the same way and reports it.
  const sidecarWritten = writeSidecar(paths.sidecar, { url, etag, lastModified, size: total ?? item.size, checksum: expectedChecksum }).catch(
    () => undefined,
  );

  s.progress.start(file, { total: total ?? item.size, offset, url });
  let received = offset;
  const current = writer;
  const failure = await new Promise<unknown>((resolve) => {
    // Flowing mode sees every chunk got pushes before an error; the sink copies it into its
    // buffer at once, and asks for a pause while the disk catches up.
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      onFetched(chunk.length);
      s.progress.update(file, received);
      if (!current.write(chunk)) {
        req.pause();
        current.onDrain(() => (current.failed ? req.destroy() : req.resume()));
      }
    });
    req.once('end', () => resolve(undefined));
    req.once('error', (err) => resolve(err));
    req.once('close', () => resolve(req.readableEnded ? undefined : (networkError ?? new Error('connection closed'))));
  });
  req.destroy();
  // Always finish the writer: whatever arrived is on disk for the next try, error or not.
  let done: { size: number; digests: Map<string, string> };
  try {
    done = await current.finish();
  } catch (err) {
    throw new KdebuginfoError(`cannot write ${paths.part}: ${(err as Error).message}`, { cause: err });
  } finally {
    await sidecarWritten;
  }
  if (failure !== undefined) {
    if (s.signal?.aborted) return { kind: 'aborted' };
    return { kind: 'retry', reason: `${describeTransferError(failure)} after ${formatBytes(received)}`, progressed: received > offset };
  }
  if (total !== null && done.size !== total) {
    return { kind: 'retry', reason: `body ended at ${done.size} of ${total} bytes`, progressed: done.size > offset };
  }
  return finish(job, url, done.size, done.digests, s);
}

/** The .part is complete: verify it, then rename it into place or throw it away. */
async function finish(job: Job, url: string, size: number, digests: Map<string, string>, s: Settings): Promise<AttemptResult> {
  const v = await verdictFor(job, job.paths.part, size, digests, s.exec);
  if (!v.ok) {
    await discardPart(job.paths);
    return { kind: 'give-up', failure: 'checksum', reason: `${job.item.file} from ${url}: ${v.reason}` };
  }
  await rename(job.paths.part, job.paths.final);
  await rm(job.paths.sidecar, { force: true });
  return { kind: 'complete', size, sha256: v.sha256 };
}

// --- The sink: hashing and writing off the main thread -------------------------------------
//
// Why (measured on this project's 2-core machine, 600 MiB from a fast loopback server): the first
// version wrote with fs.WriteStream and hashed on the main thread; it took 2.8 s where the same
// client discarding the body took 1.1 s and curl 1.4 s: a write per 64 KiB chunk through libuv's
// pool, plus hashing, all driven from the one thread that also reads the sockets. Now the main
// thread only copies chunks into 2 MiB buffers and transfers them (zero-copy) to one thread that
// hashes them and writes them with writeSync (on this VM ~3x faster than fs.write on the pool),
// then hands each buffer back for reuse. At most 2 are in flight per file, so memory stays bounded
// (3 x 2 MiB per file) whatever the file size. One thread for all files: it hashes at ~1.3 GB/s,
// far above what the downloads deliver, and each extra thread would cost ~9 MiB. Plain CommonJS
// in a string, so the single-file build needs no second file.
const SINK_CODE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const sinks = new Map();
parentPort.on('message', (m) => {
  const reply = (r) => parentPort.postMessage({ seq: m.seq, ...r });
  const sink = sinks.get(m.id);
  try {
    if (m.op === 'open') {
      const hashes = m.algos.map((a) => [a, createHash(a)]);
      let pos = 0;
      let fd;
      if (m.resumeFrom > 0) {
        fd = fs.openSync(m.path, 'r+');
        const buf = Buffer.allocUnsafe(1 << 20);
        while (pos < m.resumeFrom) {
          const n = fs.readSync(fd, buf, 0, Math.min(buf.length, m.resumeFrom - pos), pos);
          if (n === 0) break;
          for (const [, h] of hashes) h.update(buf.subarray(0, n));
          pos += n;
        }
        // The file ends where its hashed prefix ends, whatever was beyond it.
        fs.ftruncateSync(fd, pos);
      } else {
        fd = fs.openSync(m.path, 'w');
      }
      sinks.set(m.id, { fd, hashes, pos, error: null });
      reply({ ok: true, offset: pos });
    } else if (m.op === 'write') {
      // The buffer goes back with the answer, so the main thread reuses it: no garbage.
      const back = (r) => parentPort.postMessage({ seq: m.seq, data: m.data, ...r }, [m.data]);
      if (!sink || sink.error) return back({ ok: false, message: sink ? sink.error.message : 'not open' });
      const b = Buffer.from(m.data, 0, m.length);
      for (const [, h] of sink.hashes) h.update(b);
      // Synchronous: measured here, writeSync of 2 MiB buffers is ~3x faster than fs.write
      // through libuv's pool, and this thread has nothing else to do meanwhile.
      let off = 0;
      while (off < b.length) off += fs.writeSync(sink.fd, b, off, b.length - off, sink.pos + off);
      sink.pos += b.length;
      back({ ok: true });
    } else if (m.op === 'close') {
      sinks.delete(m.id);
      if (!sink) return reply({ ok: false, message: 'not open' });
      fs.closeSync(sink.fd);
      if (sink.error) return reply({ ok: false, message: sink.error.message, code: sink.error.code });
      const digests = {};
      for (const [a, h] of sink.hashes) digests[a] = h.digest('hex');
      reply({ ok: true, size: sink.pos, digests });
    }
  } catch (err) {
    if (sink) sink.error = err;
    reply({ ok: false, message: err.message, code: err.code });
  }
});
`;

interface SinkReply {
  seq: number;
  ok: boolean;
  /** A write's buffer, handed back for reuse. */
  data?: ArrayBuffer;
  offset?: number;
  size?: number;
  digests?: Record<string, string>;
  message?: string;
  code?: string;
}

class SinkError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** The thread that hashes and writes every file of one downloadVerified call. */
class SinkThread {
  private readonly worker: Worker;
  private seq = 0;
  private ids = 0;
  private readonly pending = new Map<number, { resolve: (r: SinkReply) => void; reject: (e: Error) => void }>();
  private dead: Error | undefined;
  /** Buffers back from the thread, for the next writes (and the next files of this slot). */
  private readonly spare: ArrayBuffer[] = [];

  constructor() {
    this.worker = new Worker(SINK_CODE, { eval: true });
    this.worker.on('message', (r: SinkReply) => {
      if (r.data && this.spare.length < 3 * (SINK_IN_FLIGHT + 1)) this.spare.push(r.data);
      const p = this.pending.get(r.seq);
      this.pending.delete(r.seq);
      if (!p) return;
      if (r.ok) p.resolve(r);
      else p.reject(new SinkError(r.message ?? 'write failed', r.code));
    });
    const die = (err: Error) => {
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`sink thread exited (${code})`)));
  }

  newId(): number {
    return ++this.ids;
  }

  takeBuffer(): Buffer {
    return Buffer.from(this.spare.pop() ?? new ArrayBuffer(SINK_BUFFER));
  }

  giveBack(buf: Buffer): void {
    if (this.spare.length < 3 * (SINK_IN_FLIGHT + 1)) this.spare.push(buf.buffer as ArrayBuffer);
  }

  call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<SinkReply> {
    if (this.dead) return Promise.reject(this.dead);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...msg, seq }, transfer);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

const SINK_BUFFER = 2 << 20;
const SINK_IN_FLIGHT = 2;

/** A `.part` being written through the sink thread. */
class PartWriter {
  private buf: Buffer;
  private used = 0;
  private inFlight = 0;
  private drainWaiters: Array<() => void> = [];
  private writes: Array<Promise<unknown>> = [];
  private opened: Promise<SinkReply>;
  /** The first disk error, if any. */
  failed: Error | undefined;

  private constructor(
    private readonly sink: SinkThread,
    private readonly id: number,
    path: string,
    resumeFrom: number,
    algos: string[],
    /** Bytes already in the file (the hashed prefix). */
    public offset: number,
  ) {
    this.buf = sink.takeBuffer();
    this.opened = sink.call({ op: 'open', id, path, resumeFrom, algos });
    this.opened.catch((err: Error) => (this.failed ??= err));
  }

  /** Open, hashing the first `resumeFrom` bytes already there; resolves once they are hashed. */
  static async open(sink: SinkThread, path: string, resumeFrom: number, algos: string[]): Promise<PartWriter> {
    const w = new PartWriter(sink, sink.newId(), path, resumeFrom, algos, 0);
    try {
      w.offset = (await w.opened).offset ?? 0;
    } catch (err) {
      throw new KdebuginfoError(`cannot open ${path}: ${(err as Error).message}`, { cause: err });
    }
    return w;
  }

  /** Truncate and start at byte 0, without waiting (the thread keeps the order). */
  static fresh(sink: SinkThread, path: string, algos: string[]): PartWriter {
    return new PartWriter(sink, sink.newId(), path, 0, algos, 0);
  }

  /** Take a chunk (copied at once); false when the caller should pause until onDrain. */
  write(chunk: Buffer): boolean {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, SINK_BUFFER - this.used);
      chunk.copy(this.buf, this.used, off, off + n);
      this.used += n;
      off += n;
      if (this.used === SINK_BUFFER) this.flush();
    }
    return this.inFlight < SINK_IN_FLIGHT && !this.failed;
  }

  onDrain(cb: () => void): void {
    if (this.inFlight < SINK_IN_FLIGHT || this.failed) cb();
    else this.drainWaiters.push(cb);
  }

  private flush(): void {
    if (this.used === 0) return;
    const data = this.buf.buffer as ArrayBuffer;
    const length = this.used;
    this.buf = this.sink.takeBuffer();
    this.used = 0;
    this.inFlight++;
    const w = this.sink
      .call({ op: 'write', id: this.id, data, length }, [data])
      .catch((err: Error) => (this.failed ??= err))
      .finally(() => {
        this.inFlight--;
        const waiters = this.drainWaiters;
        this.drainWaiters = [];
        for (const cb of waiters) cb();
      });
    this.writes.push(w);
  }

  /** Write what is buffered, close, and return the size and digests; throws the first disk error. */
  async finish(): Promise<{ size: number; digests: Map<string, string> }> {
    this.flush();
    this.sink.giveBack(this.buf);
    this.buf = Buffer.alloc(0);
    await Promise.all(this.writes);
    const r = await this.sink.call({ op: 'close', id: this.id }).catch((err: Error) => {
      throw this.failed ?? err;
    });
    if (this.failed) throw this.failed;
    return { size: r.size ?? 0, digests: new Map(Object.entries(r.digests ?? {})) };
  }

  /** Close without caring for the result (the file is about to be truncated or removed). */
  abandon(): void {
    void this.finish().catch(() => undefined);
  }
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
    const size = await sizeOf(paths.final);
    if (size !== null) {
      const v = await verdictFor(job, paths.final, size, await digestFile(paths.final, algosFor(job)), options.exec);
      out.push({ file: item.file, state: v.ok ? ('cached' as const) : ('damaged' as const), bytes: size });
      continue;
    }
    const part = await sizeOf(paths.part);
    out.push({ file: item.file, state: part ? ('partial' as const) : ('absent' as const), bytes: part ?? 0 });
  }
  return out;
}
