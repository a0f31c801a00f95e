import { createGunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { Got } from 'got';
import type { Found, RepoAccess } from '../core/resolver.js';
import { parseRepomd, PrimaryScanner, type PrimaryEntry } from '../core/repodata.js';
import { parseListing, safeRepoUrl } from '../core/listing.js';
import { describeHttpError, httpStatusOf } from './http.js';
import { proxyFailureOf, ProxyUnreachableError } from './proxy.js';

/**
 * RepoAccess over HTTP: repomd.xml -> primary.xml.gz streamed, listings, HEAD probes. A failed
 * request is a reason, except when the proxy itself cannot be used: then it throws
 * ProxyUnreachableError, since every other location through that proxy would fail the same way
 * and "not found on any mirror" would hide the cause.
 */
export function createMirrorClient(http: Got, debug: (line: string) => void = () => {}): RepoAccess {
  return {
    async scanRepodata(repo, wants, isComplete) {
      const repomdUrl = `${repo}repodata/repomd.xml`;
      let repomdXml: string;
      try {
        debug(`GET ${repomdUrl}`);
        repomdXml = await http.get(repomdUrl).text();
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
      try {
        debug(`GET ${primaryUrl}`);
        return { ok: true, value: await scanPrimary(http, primaryUrl, primary, wants, isComplete) };
      } catch (err) {
        return { ok: false, reason: `${primary.href}: ${reasonOf(err, primaryUrl)}` };
      }
    },

    async listDirectory(url) {
      try {
        debug(`GET ${url}`);
        const res = await http.get(url);
        const type = String(res.headers['content-type'] ?? '');
        if (type && !/html|text/i.test(type)) return { ok: false, reason: `not a listing (${type})` };
        return { ok: true, value: parseListing(res.body, res.url) };
      } catch (err) {
        return { ok: false, reason: reasonOf(err, url) };
      }
    },

    async probe(url) {
      try {
        debug(`HEAD ${url}`);
        const res = await http.head(url);
        const len = res.headers['content-length'];
        return { ok: true, value: { size: len === undefined ? undefined : Number(len) } };
      } catch (err) {
        const status = httpStatusOf(err);
        if (status === 405 || status === 501) return probeWithGet(http, url);
        return { ok: false, reason: reasonOf(err, url) };
      }
    },
  };
}

/** Some servers refuse HEAD: ask for the first byte instead. */
async function probeWithGet(http: Got, url: string): Promise<Found<{ size: number | undefined }>> {
  try {
    const res = await http.get(url, { headers: { range: 'bytes=0-0' } });
    const range = String(res.headers['content-range'] ?? '');
    const total = /\/(\d+)$/.exec(range)?.[1];
    return { ok: true, value: { size: total ? Number(total) : undefined } };
  } catch (err) {
    return { ok: false, reason: reasonOf(err, url) };
  }
}

/** The reason a request failed; throws when the proxy it went through cannot be used at all. */
function reasonOf(err: unknown, url: string): string {
  const proxy = proxyFailureOf(err);
  if (proxy?.isProxyDown) throw new ProxyUnreachableError(proxy, url, err);
  return describeHttpError(err);
}

async function scanPrimary(
  http: Got,
  url: string,
  meta: { href: string; checksum: { type: string; value: string } | undefined },
  wants: (name: string) => boolean,
  isComplete: (m: PrimaryEntry[]) => boolean,
): Promise<PrimaryEntry[]> {
  const scanner = new PrimaryScanner((name) => wants(name));
  const body = http.stream(url);
  const hash = meta.checksum && isHashName(meta.checksum.type) ? createHash(normaliseHash(meta.checksum.type)) : undefined;
  body.on('data', (chunk: Buffer) => hash?.update(chunk));
  const text = meta.href.endsWith('.gz') ? body.pipe(createGunzip()) : body;
  text.setEncoding('utf8');
  let stoppedEarly = false;
  try {
    for await (const chunk of text as AsyncIterable<string>) {
      scanner.write(chunk);
      if (isComplete(scanner.matches)) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    body.destroy();
  }
  if (!stoppedEarly) {
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

const isHashName = (t: string) => ['sha', 'sha1', 'sha256', 'sha512', 'sha384', 'sha224'].includes(t);
const normaliseHash = (t: string) => (t === 'sha' ? 'sha1' : t);
