import { createGunzip } from 'node:zlib';
import { nodeHashName } from '../core/hash-name.js';
import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Got } from 'got';
import type { RepoAccess } from '../core/resolver.js';
import { parseRepomd, PrimaryScanner, type PrimaryEntry, type RepomdData } from '../core/repodata.js';
import { ListingParser, safeRepoUrl } from '../core/listing.js';
import { RESOLVE_LIMITS, type ResolveLimits } from '../core/limits.js';
import { maskUrlCredentials } from '../core/credentials.js';
import { formatBytes } from '../core/format.js';
import { BodyLimitError, describeHttpError, httpStatusOf, isNoAnswer, openGet, readBounded, refuseDeclaredOver, type OpenedBody } from './http.js';
import { proxyFailureOf, ProxyUnreachableError } from './proxy.js';

export interface MirrorClientOptions {
  /** Ctrl-C: every request ends at once and the call throws the signal's reason. */
  signal?: AbortSignal | undefined;
  /** What a server may send (src/core/limits.ts); tests lower them. */
  limits?: Partial<ResolveLimits>;
}

/**
 * RepoAccess over HTTP: repomd.xml -> primary.xml.gz streamed, listings, HEAD probes. A failed
 * request is a reason, and so is a body over its limit (src/core/limits.ts), a stream that breaks
 * (socket, gunzip, scanner) or one that stalls past the idle timeout: the resolver then tries
 * the next method or location. Two things throw instead: Ctrl-C (the signal's reason), and a
 * proxy that cannot be used at all (ProxyUnreachableError), since every other location through
 * it would fail the same way and "not found on any mirror" would hide the cause.
 *
 * A request that gets no answer at all (isNoAnswer: DNS, refused, timeout, TLS) is a failure
 * marked `isUnreachable`, and its origin is remembered: every later request to that origin fails
 * at once with the same reason. Without that, each of the ~20 locations of one kernel waited out
 * its own retries against the same dead host (a minute of silence before "not found").
 */
export function createMirrorClient(http: Got, debug: (line: string) => void = () => {}, options: MirrorClientOptions = {}): RepoAccess {
  const limits: ResolveLimits = { ...RESOLVE_LIMITS, ...options.limits };
  const { signal } = options;
  const show = (method: string, url: string) => debug(`${method} ${maskUrlCredentials(url)}`);
  /** The reason a request failed; throws on Ctrl-C and when the proxy it went through cannot be used at all. */
  const reasonOf = (err: unknown, url: string): string => {
    if (signal?.aborted) throw signal.reason ?? err;
    const proxy = proxyFailureOf(err);
    if (proxy?.isProxyDown) throw new ProxyUnreachableError(proxy, url, err);
    const code = String((err as { code?: unknown }).code ?? '');
    // zlib's own words ("incorrect header check", "unexpected end of file") say what was wrong.
    if (code.startsWith('Z_')) return `not valid gzip (${(err as Error).message})`;
    return describeHttpError(err);
  };
  const get = (url: string, headers?: Record<string, string>) => openGet(http, url, { signal, ...(headers ? { headers } : {}) });
  const deadOrigins = new Map<string, string>();
  const originOf = (url: string) => {
    try {
      return new URL(url).origin;
    } catch {
      return url;
    }
  };
  type Failure = { ok: false; reason: string; isUnreachable?: boolean };
  /** The remembered failure of a URL whose origin gave no answer before. */
  const knownDead = (url: string, prefix = ''): Failure | undefined => {
    const reason = deadOrigins.get(originOf(url));
    if (reason === undefined) return undefined;
    debug(`skipping ${maskUrlCredentials(url)}: its host gave no answer before (${reason})`);
    return { ok: false, reason: `${prefix}${reason}`, isUnreachable: true };
  };
  /** A failed request to open `url`: unreachable (and remembered) when no answer came at all. */
  const openFailure = (err: unknown, url: string, prefix = ''): Failure => {
    const reason = reasonOf(err, url);
    if (!isNoAnswer(err)) return { ok: false, reason: `${prefix}${reason}` };
    deadOrigins.set(originOf(url), reason);
    return { ok: false, reason: `${prefix}${reason}`, isUnreachable: true };
  };

  return {
    async scanRepodata(repo, wants, isComplete) {
      const repomdUrl = `${repo}repodata/repomd.xml`;
      const dead = knownDead(repomdUrl, 'repomd.xml: ');
      if (dead) return dead;
      let repomdXml: string;
      let opened: OpenedBody;
      try {
        show('GET', repomdUrl);
        opened = await get(repomdUrl);
      } catch (err) {
        return openFailure(err, repomdUrl, 'repomd.xml: ');
      }
      try {
        repomdXml = (await readBounded(opened, limits.repomdBytes, 'repomd.xml')).toString('utf8');
      } catch (err) {
        return { ok: false, reason: `repomd.xml: ${reasonOf(err, repomdUrl)}` };
      }
      let primary;
      try {
        primary = parseRepomd(repomdXml);
      } catch (err) {
        return { ok: false, reason: `repomd.xml is not valid XML (${(err as Error).message.split('\n')[0]})` };
      }
      if (!primary) return { ok: false, reason: 'repomd.xml names no primary data' };
      const primaryUrl = safeRepoUrl(repo, primary.href);
      if (!primaryUrl) return { ok: false, reason: `repomd.xml has an unsafe primary location "${primary.href}"` };
      if (!/\.xml(\.gz)?$/.test(primary.href)) {
        // zstd/xz/bz2 primaries (Fedora uses zstd) need decoders Node 20 lacks: use the listing.
        return { ok: false, reason: `primary data compressed as ${primary.href.split('.').pop()} is not supported` };
      }
      const deadPrimary = knownDead(primaryUrl, `${primary.href}: `);
      if (deadPrimary) return deadPrimary;
      let openedPrimary: OpenedBody;
      try {
        show('GET', primaryUrl);
        openedPrimary = await get(primaryUrl);
      } catch (err) {
        return openFailure(err, primaryUrl, `${primary.href}: `);
      }
      try {
        return { ok: true, value: await scanPrimary(openedPrimary, primary, limits, wants, isComplete) };
      } catch (err) {
        return { ok: false, reason: `${primary.href}: ${reasonOf(err, primaryUrl)}` };
      }
    },

    async listDirectory(url, keep) {
      const dead = knownDead(url);
      if (dead) return dead;
      let opened: OpenedBody;
      try {
        show('GET', url);
        opened = await get(url);
      } catch (err) {
        return openFailure(err, url);
      }
      try {
        const type = String(opened.headers['content-type'] ?? '');
        if (type && !/html|text/i.test(type)) {
          opened.body.destroy();
          return { ok: false, reason: `not a listing (${type})` };
        }
        return { ok: true, value: await readListing(opened, limits.listingBytes, keep) };
      } catch (err) {
        return { ok: false, reason: reasonOf(err, url) };
      }
    },

    async probe(url) {
      const dead = knownDead(url);
      if (dead) return dead;
      try {
        show('HEAD', url);
        const res = await untilAborted(http.head(url, signal ? { signal } : {}), signal);
        const len = res.headers['content-length'];
        return { ok: true, value: { size: len === undefined ? undefined : Number(len) } };
      } catch (err) {
        const status = httpStatusOf(err);
        if (status === 405 || status === 501) {
          // Some servers refuse HEAD: ask for the first byte instead, and read none of it.
          try {
            show('GET', url);
            const opened = await get(url, { range: 'bytes=0-0' });
            opened.body.destroy();
            const total = /\/(\d+)$/.exec(String(opened.headers['content-range'] ?? ''))?.[1];
            return { ok: true, value: { size: total ? Number(total) : undefined } };
          } catch (err2) {
            return openFailure(err2, url);
          }
        }
        return openFailure(err, url);
      }
    },
  };
}

/**
 * `p`, or the signal's reason as soon as it aborts: got's promise waits out its retry backoff
 * before it looks at the signal again (got/dist/source/core/index.js `_beforeError`).
 */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** File names of a listing page, parsed as it arrives (src/core/listing.ts ListingParser), at most `max` bytes of it. */
async function readListing(opened: OpenedBody, max: number, keep: ((name: string) => boolean) | undefined): Promise<{ files: string[]; links: number }> {
  refuseDeclaredOver(opened, max, 'the listing');
  const parser = new ListingParser(opened.url, keep);
  const text = new StringDecoder('utf8');
  let total = 0;
  try {
    for await (const chunk of opened.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > max) throw new BodyLimitError(`the listing is over the ${formatBytes(max)} limit`);
      parser.write(text.write(chunk));
    }
  } finally {
    opened.body.destroy();
  }
  parser.write(text.end());
  return { files: parser.close(), links: parser.links };
}

/**
 * Stream primary.xml(.gz) through the scanner: body -> byte limit (and checksum) -> gunzip ->
 * byte limit -> scanner. The limits are repomd.xml's `size` and `open-size` when it gives them
 * (a byte more is not the file it describes), else limits.primaryBytes: a gzip bomb ends as a
 * failed location, not as all the memory. `pipeline` carries an error from any stage to the
 * loop below and destroys every stage; none is left without an error listener.
 */
async function scanPrimary(
  opened: OpenedBody,
  meta: RepomdData,
  limits: ResolveLimits,
  wants: (name: string) => boolean,
  isComplete: (m: PrimaryEntry[]) => boolean,
): Promise<PrimaryEntry[]> {
  const scanner = new PrimaryScanner((name) => wants(name), limits.packageElementChars);
  const algo = meta.checksum ? nodeHashName(meta.checksum.type) : undefined;
  const hash = algo ? createHash(algo) : undefined;
  const isGzip = meta.href.endsWith('.gz');
  const sent = byteLimit(meta.size ?? limits.primaryBytes, meta.size === undefined ? `over the ${formatBytes(limits.primaryBytes)} limit` : `larger than repomd.xml's size of ${meta.size} bytes`, hash);
  const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream> = [opened.body, sent];
  if (isGzip) {
    const open = meta.openSize ?? limits.primaryBytes;
    const why = meta.openSize === undefined ? `decompresses to more than the ${formatBytes(limits.primaryBytes)} limit` : `decompresses to more than repomd.xml's open-size of ${meta.openSize} bytes`;
    // 64 KiB out at a time rather than zlib's 16 KiB: a quarter of the trips through its thread pool.
    stages.push(createGunzip({ chunkSize: 64 * 1024 }), byteLimit(open, why));
  }
  const out = (pipeline as (...s: unknown[]) => Readable)(...stages, () => {
    // Errors reach the loop below: pipeline destroys the last stage with them.
  });
  const text = new StringDecoder('utf8');
  let stoppedEarly = false;
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) {
      scanner.write(text.write(chunk));
      if (isComplete(scanner.matches)) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    out.destroy();
    opened.body.destroy();
  }
  if (!stoppedEarly) {
    scanner.write(text.end());
    scanner.close();
    // The whole file was read: it must be the one repomd.xml describes.
    if (hash && meta.checksum) {
      const got = hash.digest('hex');
      if (got !== meta.checksum.value) {
        throw new Error(`checksum mismatch (${meta.checksum.type} ${got}, repomd.xml says ${meta.checksum.value})`);
      }
    }
  }
  return scanner.matches;
}

/** Passes bytes through, failing with BodyLimitError past `max`; feeds `hash` on the way. */
function byteLimit(max: number, why: string, hash?: Hash): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max) return done(new BodyLimitError(why));
      hash?.update(chunk);
      done(null, chunk);
    },
  });
}

