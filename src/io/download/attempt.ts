import { statfsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { proxyFailureOf } from '../proxy.js';
import { firstHeader, parseContentRange, parseRetryAfter } from '../../core/http-headers.js';
import { formatBytes } from '../../core/format.js';
import { KdebuginfoError } from '../../errors.js';
import { directoryError, discardPart, ifRangeValue, removeEntry, resumePoint, writeSidecar } from './part-file.js';
import { PartWriter, type SinkThread } from './sink.js';
import { algosFor, verdictFor } from './verify.js';
import type { AttemptResult, Job, Settings } from './types.js';

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504, 521, 522, 524]);

/** Why a transfer broke off: the socket's reason (or the proxy's, naming it), not the status its headers had. */
export function describeTransferError(err: unknown): string {
  const proxy = proxyFailureOf(err);
  if (proxy) return proxy.text;
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.code ?? e.message ?? String(err);
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** One HTTP request for the rest of the file. */
export async function attemptOnce(job: Job, url: string, s: Settings, sink: SinkThread, onFetched: (n: number) => void): Promise<AttemptResult> {
  const { item, paths } = job;
  const file = item.file;
  const expectedChecksum = item.checksum?.value.toLowerCase() ?? null;
  const algos = algosFor(job);

  // Where to start: the .part's length when it can be continued from this URL, else 0.
  const { resumeFrom, meta } = await resumePoint(job, url);
  // The sink thread hashes the prefix from disk (the disk is what will be renamed into place)
  // before the request, so the Range asks for exactly what follows it.
  let writer = await PartWriter.open(sink, paths.part, resumeFrom, algos);
  let offset = writer.offset;
  // Progress is the .part growing past what it held before this try, not bytes received: a
  // server that ignores Range and drops at the same byte every time starts over from 0 and
  // would otherwise count as progress forever (each try "moves forward" 0 -> N, and resets the
  // retry count).
  const heldBefore = offset;

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
  // Remember the network's error and whether the stream is over, from the start: a parse error
  // in the body (a bad chunk size) can come, and close the stream, in the same tick as the
  // response, before the body's listeners below exist. The 'error' listener also keeps an error
  // emitted while nobody else listens from becoming an uncaught exception.
  let networkError: unknown;
  let isClosed = false;
  req.on('error', (err) => (networkError ??= err));
  req.once('close', () => (isClosed = true));
  const closedError = () => networkError ?? new Error('connection closed');

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
      req.once('close', () => reject(closedError()));
    });
  } catch (err) {
    if (s.signal?.aborted) return giveBack({ kind: 'aborted' }, false);
    return giveBack({ kind: 'retry', reason: describeTransferError(err), progressed: false }, false);
  }

  const status = response.statusCode;
  const header = (name: string) => firstHeader(response.headers, name);
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
      return giveBack({ kind: 'retry', reason: `HTTP ${status}`, progressed: false, retryAfterMs: parseRetryAfter(header('retry-after')) }, false);
    }
    return giveBack({ kind: 'give-up', failure: 'http', reason: `HTTP ${status}` }, false);
  }

  const etag = header('etag');
  const lastModified = header('last-modified');
  const length = header('content-length');
  let total: number | null;
  if (status === 206) {
    const cr = parseContentRange(header('content-range'));
    const changed =
      (meta?.url === url && meta.etag !== null && etag !== null && meta.etag !== etag) ||
      (meta?.url === url && meta.lastModified !== null && lastModified !== null && meta.lastModified !== lastModified);
    const expectedTotal = item.size ?? meta?.size ?? null;
    if (!cr || offset === 0 || cr.start !== offset || (expectedTotal !== null && cr.total !== null && cr.total !== expectedTotal) || changed) {
      const why = changed ? 'ETag or Last-Modified changed' : `Content-Range ${header('content-range')}`;
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
  // The body stops at the size we know (repodata's, or the server's Content-Length or
  // Content-Range total): a chunked body that runs past it is not this file, and would fill the
  // disk before the size check at the end, past the free-space check that counted only the
  // known size. With no size at all: the cap, and the free-space check again as it grows.
  const known = total ?? item.size;
  const limit = known ?? s.unknownSizeCapBytes;
  let nextSpaceCheck = known === null ? offset + SPACE_CHECK_STEP : Infinity;
  let received = offset;
  const current = writer;
  const ended = await new Promise<BodyEnd>((resolve) => {
    let settled = false;
    const settle = (e: BodyEnd) => {
      if (settled) return;
      settled = true;
      resolve(e);
    };
    // Flowing mode sees every chunk got pushes before an error; the sink copies it into its
    // buffer at once, and asks for a pause while the disk catches up.
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      onFetched(chunk.length);
      if (received + chunk.length > limit) {
        // Not one byte past the limit goes to disk.
        settle({ kind: 'overrun' });
        req.destroy();
        return;
      }
      received += chunk.length;
      s.progress.update(file, received);
      if (!current.write(chunk)) {
        req.pause();
        current.onDrain(() => (current.failed ? req.destroy() : req.resume()));
      }
      if (received >= nextSpaceCheck) {
        nextSpaceCheck = received + SPACE_CHECK_STEP;
        const free = freeBytes(s.cacheDir);
        if (free !== null && free < FREE_SPACE_RESERVE) {
          settle({ kind: 'no-space', free });
          req.destroy();
        }
      }
    });
    req.once('end', () => settle({ kind: 'end' }));
    req.once('error', (err) => settle({ kind: 'error', err }));
    req.once('close', () => settle(req.readableEnded ? { kind: 'end' } : { kind: 'error', err: closedError() }));
    if (isClosed && !req.readableEnded) settle({ kind: 'error', err: closedError() });
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
  if (ended.kind === 'overrun') {
    // The wrong file, or a server that never stops: nothing of it is kept; the next mirror may
    // have the right one.
    await discardPart(paths);
    const what = known === null ? `the ${formatBytes(limit)} cap for a file of unknown size` : `its ${known} bytes`;
    return { kind: 'give-up', failure: 'checksum', reason: `the body went on past ${what}; stopped` };
  }
  if (ended.kind === 'no-space') {
    throw new KdebuginfoError(
      `not enough free space: ${s.cacheDir} has ${formatBytes(ended.free)} free after ${formatBytes(received)} of ${file}, whose size no one gave; stopped to keep ${formatBytes(FREE_SPACE_RESERVE)} free`,
      { hint: 'free some space, or put the cache on a larger filesystem with --cache-dir DIR' },
    );
  }
  if (ended.kind === 'error') {
    if (s.signal?.aborted) return { kind: 'aborted' };
    return { kind: 'retry', reason: `${describeTransferError(ended.err)} after ${formatBytes(received)}`, progressed: received > heldBefore };
  }
  if (total !== null && done.size !== total) {
    return { kind: 'retry', reason: `body ended at ${done.size} of ${total} bytes`, progressed: done.size > heldBefore };
  }
  return finish(job, url, done.size, done.digests, s);
}

type BodyEnd = { kind: 'end' } | { kind: 'error'; err: unknown } | { kind: 'overrun' } | { kind: 'no-space'; free: number };

/**
 * While a body of unknown size grows, the cache's filesystem is measured every SPACE_CHECK_STEP
 * bytes (a statfs, microseconds), and the download stops while FREE_SPACE_RESERVE is still free:
 * a full filesystem fails more than this download (logs, package managers, logins).
 */
const SPACE_CHECK_STEP = 8 << 20;
const FREE_SPACE_RESERVE = 64 << 20;

function freeBytes(dir: string): number | null {
  try {
    const st = statfsSync(dir);
    return st.bavail * st.bsize;
  } catch {
    return null;
  }
}

/** The .part is complete: verify it, then rename it into place or throw it away. */
async function finish(job: Job, url: string, size: number, digests: Map<string, string>, s: Settings): Promise<AttemptResult> {
  const v = await verdictFor(job, job.paths.part, size, digests, s.exec);
  if (!v.ok) {
    await discardPart(job.paths);
    return { kind: 'give-up', failure: 'checksum', reason: `${job.item.file} from ${url}: ${v.reason}` };
  }
  // rename replaces a link at the final name; it never writes through it.
  try {
    await rename(job.paths.part, job.paths.final);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') throw directoryError(job.paths.final);
    throw new KdebuginfoError(`cannot move ${job.paths.part} to ${job.paths.final}: ${(err as Error).message}`, {
      hint: code === 'EPERM' || code === 'EACCES' ? 'another user owns that name in the cache: remove it as its owner, or choose another --cache-dir' : undefined,
      cause: err,
    });
  }
  await removeEntry(job.paths.sidecar);
  return { kind: 'complete', size, sha256: v.sha256 };
}
