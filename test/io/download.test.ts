import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMirrorServer, type MirrorServer, type RequestLogEntry } from '../../fixtures/mirror-server.mjs';
import { FIXTURE_MIRROR_ROOT } from '../support/fixture-mirror.js';
import { createExec } from '../../src/io/exec.js';
import { createProgress } from '../../src/io/progress.js';
import { downloadVerified, type DownloadItem, type DownloadOptions } from '../../src/io/download.js';
import { chooseCacheDir, measureSpace } from '../../src/io/cache.js';
import { KdebuginfoError, ExitCode } from '../../src/errors.js';
import { refusingProxyUrl, startForwardProxy } from '../support/forward-proxy.js';

// Real fixture RPMs (signed, ~8 KB) served by the real fixture mirror server on loopback, two
// instances standing for two mirrors of the same tree.
const DIR8 = '/debuginfo.centos.org/8/x86_64/Packages/';
const DEBUGINFO = 'kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm';
const COMMON = 'kernel-debuginfo-common-x86_64-4.18.0-348.7.1.el8_5.x86_64.rpm';
const DEVEL_PATH = '/vault.centos.org/8.5.2111/BaseOS/x86_64/os/Packages/kernel-devel-4.18.0-348.7.1.el8_5.x86_64.rpm';
const DEBUGINFO_PATH = DIR8 + DEBUGINFO;
const COMMON_PATH = DIR8 + COMMON;

let a: MirrorServer;
let b: MirrorServer;
let cache: string;
let stderr: string;
const exec = createExec({ env: process.env, dryRun: false });

beforeAll(async () => {
  a = await startMirrorServer({ root: FIXTURE_MIRROR_ROOT });
  b = await startMirrorServer({ root: FIXTURE_MIRROR_ROOT });
});
afterAll(async () => {
  await a.close();
  await b.close();
});
beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'kdebuginfo-dl-'));
  stderr = '';
});
afterEach(async () => {
  a.clearFaults();
  b.clearFaults();
  a.resetLog();
  b.resetLog();
  await rm(cache, { recursive: true, force: true });
});

async function fileOnDisk(serverPath: string): Promise<Buffer> {
  return readFile(join(FIXTURE_MIRROR_ROOT, serverPath));
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha256Of = async (path: string) => sha256(await readFile(path));

/** An item as the resolver would give it: repodata checksum by default, or none (listing). */
async function item(serverPath: string, opts: { mirrors?: MirrorServer[]; checksum?: 'repodata' | 'none'; role?: DownloadItem['role'] } = {}): Promise<DownloadItem> {
  const body = await fileOnDisk(serverPath);
  const file = serverPath.slice(serverPath.lastIndexOf('/') + 1);
  return {
    file,
    urls: (opts.mirrors ?? [a]).map((m) => m.url + serverPath),
    size: body.length,
    checksum: opts.checksum === 'none' ? null : { type: 'sha256', value: sha256(body) },
    ...(opts.role ? { role: opts.role } : {}),
  };
}

function options(extra: Partial<DownloadOptions> = {}): DownloadOptions {
  return {
    cacheDir: cache,
    exec,
    userAgent: 'kdebuginfo-test/1',
    env: {},
    retryBaseMs: 10,
    idleTimeoutMs: 5000,
    progress: createProgress({ write: (s: string) => (stderr += s) }, { isTty: false }),
    ...extra,
  };
}

const gets = (m: MirrorServer, path: string): RequestLogEntry[] => m.requests.filter((r) => r.method === 'GET' && r.path === path);

async function expectFinalFile(file: string, serverPath: string): Promise<void> {
  const want = await fileOnDisk(serverPath);
  expect(await sha256Of(join(cache, file))).toBe(sha256(want));
  expect(existsSync(join(cache, `${file}.part`))).toBe(false);
  expect(existsSync(join(cache, `${file}.part.json`))).toBe(false);
}

async function rejection(p: Promise<unknown>): Promise<KdebuginfoError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KdebuginfoError);
  return err as KdebuginfoError;
}

describe('downloadVerified against the fixture mirror', () => {
  it('fetches a file once, verified by its repodata sha256, into the cache', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    const [r] = await downloadVerified([it1], options());
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    expect(r).toMatchObject({ file: DEBUGINFO, path: join(cache, DEBUGINFO), size: it1.size, cached: false, url: it1.urls[0], verifiedBy: 'sha256', fetchedBytes: it1.size, requests: 1 });
    expect(r!.sha256).toBe(it1.checksum!.value);
    const seen = gets(a, DEBUGINFO_PATH);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ status: 200, range: undefined, bytesSent: it1.size, userAgent: 'kdebuginfo-test/1' });
    expect(seen[0]!.headers['accept-encoding']).toBe('identity');
    expect(stderr).toContain(`${DEBUGINFO}: start, `);
    expect(stderr).toMatch(new RegExp(`${DEBUGINFO}: done, 7\\.8 KiB in \\d+\\.\\d s .*sha256 ok`));
  });

  it('resumes after the connection drops mid-body, fetching only the rest', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    a.fault(DEBUGINFO_PATH, { dropAfterBytes: 3000, times: 1 });
    const [r] = await downloadVerified([it1], options());
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    const [first, second] = gets(a, DEBUGINFO_PATH);
    expect(gets(a, DEBUGINFO_PATH)).toHaveLength(2);
    expect(first).toMatchObject({ status: 200, bytesSent: 3000, aborted: true });
    expect(second).toMatchObject({ status: 206, range: 'bytes=3000-', bytesSent: it1.size! - 3000 });
    // If-Range carries the ETag the first response gave, so a replaced file is not spliced.
    expect(second!.headers['if-range']).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(r).toMatchObject({ fetchedBytes: it1.size, requests: 2 });
    expect(stderr).toContain(`${DEBUGINFO}: resuming at 2.9 KiB of 7.8 KiB from ${it1.urls[0]}`);
  });

  it('retries a 503 and then succeeds', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    a.fault(DEBUGINFO_PATH, { status: 503, times: 1 });
    await downloadVerified([it1], options());
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    expect(gets(a, DEBUGINFO_PATH).map((r) => r.status)).toEqual([503, 200]);
    expect(stderr).toMatch(/HTTP 503 from 127\.0\.0\.1:\d+; retry 1\/5 in 0\.0 s/);
  });

  it('waits as long as Retry-After says on a 429', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    a.fault(DEBUGINFO_PATH, { status: 429, retryAfter: 1, times: 1 });
    await downloadVerified([it1], options());
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    const [first, second] = gets(a, DEBUGINFO_PATH);
    expect([first!.status, second!.status]).toEqual([429, 200]);
    // The backoff alone would be 10 ms; Retry-After: 1 makes it a second.
    expect(second!.time - first!.time).toBeGreaterThanOrEqual(950);
    expect(stderr).toContain('HTTP 429 from');
    expect(stderr).toContain('in 1.0 s');
  });

  it('moves to the next mirror when Retry-After is longer than it is willing to wait', async () => {
    const it1 = await item(DEBUGINFO_PATH, { mirrors: [a, b] });
    a.fault(DEBUGINFO_PATH, { status: 429, retryAfter: 3600 });
    const [r] = await downloadVerified([it1], options());
    expect(r!.url).toBe(it1.urls[1]);
    expect(gets(a, DEBUGINFO_PATH)).toHaveLength(1);
    expect(stderr).toContain('asks to come back in 3600 s');
  });

  it('gives up on a stalled transfer after the idle timeout and resumes it', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    a.fault(DEBUGINFO_PATH, { stallAfterBytes: 3000, stallMs: 20_000, times: 1 });
    const t0 = Date.now();
    await downloadVerified([it1], options({ idleTimeoutMs: 300 }));
    expect(Date.now() - t0).toBeLessThan(5000);
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    const [first, second] = gets(a, DEBUGINFO_PATH);
    expect(first).toMatchObject({ status: 200, bytesSent: 3000, aborted: true });
    expect(second).toMatchObject({ status: 206, range: 'bytes=3000-', bytesSent: it1.size! - 3000 });
    expect(stderr).toMatch(/timed out after 2\.9 KiB from 127\.0\.0\.1/);
  });

  it('leaves the .part after retries run out (exit 75) and starts over when the server then ignores Range', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    a.fault(DEBUGINFO_PATH, { dropAfterBytes: 3000, times: 1 });
    const err = await rejection(downloadVerified([it1], options({ retries: 0 })));
    expect(err.exitCode).toBe(ExitCode.network);
    expect(err.message).toContain(`${DEBUGINFO}: no mirror gave a good copy`);
    expect(err.message).toContain(`${it1.urls[0]}: ECONNRESET after 2.9 KiB (gave up after 1 tries)`);
    expect((await stat(join(cache, `${DEBUGINFO}.part`))).size).toBe(3000);
    expect(existsSync(join(cache, DEBUGINFO))).toBe(false);

    a.resetLog();
    a.fault(DEBUGINFO_PATH, { ignoreRange: true, times: 1 });
    const [r] = await downloadVerified([it1], options());
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    const seen = gets(a, DEBUGINFO_PATH);
    expect(seen).toHaveLength(1);
    // Asked for the rest, got the whole file: taken from byte 0, not appended.
    expect(seen[0]).toMatchObject({ range: 'bytes=3000-', status: 200, bytesSent: it1.size });
    expect(r!.fetchedBytes).toBe(it1.size);
    expect(stderr).toContain('sent the whole file instead of the rest');
  });

  it('starts over when the file changed on the server (If-Range fails)', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    a.fault(DEBUGINFO_PATH, { dropAfterBytes: 3000, times: 1 });
    await rejection(downloadVerified([it1], options({ retries: 0 })));
    const sidecar = JSON.parse(await readFile(join(cache, `${DEBUGINFO}.part.json`), 'utf8'));
    expect(sidecar).toMatchObject({ url: it1.urls[0], size: it1.size, checksum: it1.checksum!.value });
    expect(sidecar.etag).toMatch(/^"/);

    a.resetLog();
    a.fault(DEBUGINFO_PATH, { etag: 'changed', times: 1 });
    await downloadVerified([it1], options());
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    const [only] = gets(a, DEBUGINFO_PATH);
    expect(only).toMatchObject({ range: 'bytes=3000-', status: 200, bytesSent: it1.size });
    expect(only!.headers['if-range']).toBe(sidecar.etag);
  });

  it('rejects a wrong checksum: never renamed into place, a clear error, the next mirror tried', async () => {
    const it1 = await item(DEBUGINFO_PATH, { mirrors: [a, b] });
    a.fault(DEBUGINFO_PATH, { corrupt: true });
    const [r] = await downloadVerified([it1], options());
    expect(r!.url).toBe(it1.urls[1]);
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    expect(gets(a, DEBUGINFO_PATH)).toHaveLength(1);
    expect(gets(b, DEBUGINFO_PATH)).toHaveLength(1);
    expect(stderr).toMatch(
      new RegExp(`${DEBUGINFO}: ${esc(it1.urls[0]!)}: ${DEBUGINFO} from ${esc(it1.urls[0]!)}: sha256 mismatch: expected ${it1.checksum!.value}, got [0-9a-f]{64}; trying ${esc(it1.urls[1]!)}`),
    );
  });

  it('fails with exit 1 naming file, URL, expected and actual digest when every mirror is wrong', async () => {
    const it1 = await item(DEBUGINFO_PATH, { mirrors: [a, b] });
    a.fault(DEBUGINFO_PATH, { corrupt: true });
    b.fault(DEBUGINFO_PATH, { corrupt: true });
    const corrupted = sha256(corrupt(await fileOnDisk(DEBUGINFO_PATH)));
    const err = await rejection(downloadVerified([it1], options()));
    expect(err.exitCode).toBe(ExitCode.failed);
    for (const url of it1.urls) {
      expect(err.message).toContain(`${url}: ${DEBUGINFO} from ${url}: sha256 mismatch: expected ${it1.checksum!.value}, got ${corrupted}`);
    }
    expect(existsSync(join(cache, DEBUGINFO))).toBe(false);
    expect(existsSync(join(cache, `${DEBUGINFO}.part`))).toBe(false);
  });

  it('tries the next mirror after a 404 on the first, without retrying the 404', async () => {
    const it1 = await item(DEBUGINFO_PATH, { mirrors: [a, b] });
    a.fault(DEBUGINFO_PATH, { status: 404 });
    const [r] = await downloadVerified([it1], options());
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    expect(r!.url).toBe(it1.urls[1]);
    expect(gets(a, DEBUGINFO_PATH).map((x) => x.status)).toEqual([404]);
    expect(gets(b, DEBUGINFO_PATH).map((x) => x.status)).toEqual([200]);
  });

  it('exits 75 when the network fails on every mirror after the retries', async () => {
    const it1 = await item(DEBUGINFO_PATH, { mirrors: [a, b] });
    a.fault(DEBUGINFO_PATH, { status: 503 });
    b.fault(DEBUGINFO_PATH, { status: 502 });
    const err = await rejection(downloadVerified([it1], options({ retries: 2 })));
    expect(err.exitCode).toBe(ExitCode.network);
    expect(err.message).toContain(`${it1.urls[0]}: HTTP 503 (gave up after 3 tries)`);
    expect(err.message).toContain(`${it1.urls[1]}: HTTP 502 (gave up after 3 tries)`);
    expect(gets(a, DEBUGINFO_PATH)).toHaveLength(3);
    expect(gets(b, DEBUGINFO_PATH)).toHaveLength(3);
  });

  it('never fetches a cached file with a good checksum again', async () => {
    const items = [await item(DEBUGINFO_PATH), await item(COMMON_PATH, { role: 'debuginfo-common' })];
    await downloadVerified(items, options());
    a.resetLog();
    stderr = '';
    const again = await downloadVerified(items, options());
    expect(a.requests).toHaveLength(0);
    expect(again.map((r) => [r.cached, r.fetchedBytes, r.requests])).toEqual([
      [true, 0, 0],
      [true, 0, 0],
    ]);
    expect(stderr).toBe(`${DEBUGINFO}: in the cache, sha256 ok\n${COMMON}: in the cache, sha256 ok\n`);
  });

  it('removes a cached file whose checksum does not match, and fetches it again', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    await writeFile(join(cache, DEBUGINFO), 'not the rpm');
    const [r] = await downloadVerified([it1], options());
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    expect(r!.cached).toBe(false);
    expect(gets(a, DEBUGINFO_PATH)).toHaveLength(1);
    expect(stderr).toContain(`${DEBUGINFO}: the copy in the cache is not the expected file (size 11 bytes, expected ${it1.size}): removed`);
  });

  it('verifies a file found only by a listing with the RPM digests (rpmkeys)', async () => {
    const it1 = await item(DEBUGINFO_PATH, { checksum: 'none' });
    const [r] = await downloadVerified([{ ...it1, size: null }], options());
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    expect(r).toMatchObject({ verifiedBy: 'rpm digests', size: (await fileOnDisk(DEBUGINFO_PATH)).length });
    expect(r!.sha256).toBe(sha256(await fileOnDisk(DEBUGINFO_PATH)));
  });

  it('rejects a damaged file found only by a listing, by its RPM digests', async () => {
    const it1 = await item(DEBUGINFO_PATH, { checksum: 'none', mirrors: [a, b] });
    a.fault(DEBUGINFO_PATH, { corrupt: true });
    const [r] = await downloadVerified([it1], options());
    expect(r!.url).toBe(it1.urls[1]);
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    expect(stderr).toContain(`${DEBUGINFO} from ${it1.urls[0]}: rpm digests do not match (rpmkeys:`);
  });

  it('stops cleanly on abort, keeps the .part (exit 130), and a re-run fetches only the rest', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    a.fault(DEBUGINFO_PATH, { stallAfterBytes: 3000, times: 1 });
    const ac = new AbortController();
    const progress = createProgress({ write: (s: string) => (stderr += s) }, { isTty: false });
    // Abort once the first 3000 bytes are on disk: the moment a user would press Ctrl-C.
    const watching = (async () => {
      for (let i = 0; i < 500; i++) {
        const size = (await stat(join(cache, `${DEBUGINFO}.part`)).catch(() => undefined))?.size ?? 0;
        if (size >= 3000) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      ac.abort();
    })();
    const err = await rejection(downloadVerified([it1], options({ signal: ac.signal, progress })));
    await watching;
    expect(err.exitCode).toBe(ExitCode.interrupted);
    expect(err.message).toContain('partial downloads kept');
    expect((await stat(join(cache, `${DEBUGINFO}.part`))).size).toBe(3000);
    expect(existsSync(join(cache, `${DEBUGINFO}.part.json`))).toBe(true);
    expect(existsSync(join(cache, DEBUGINFO))).toBe(false);
    expect(stderr).toContain(`${DEBUGINFO}: stopped at 2.9 KiB of 7.8 KiB: interrupted, partial download kept`);

    a.resetLog();
    const [r] = await downloadVerified([it1], options());
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    const seen = gets(a, DEBUGINFO_PATH);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ status: 206, range: 'bytes=3000-', bytesSent: it1.size! - 3000 });
    expect(r!.fetchedBytes).toBe(it1.size! - 3000);
  });

  it('resumes a .part begun on another mirror when repodata gives the checksum', async () => {
    const it1 = await item(DEBUGINFO_PATH, { mirrors: [a, b] });
    a.fault(DEBUGINFO_PATH, { dropAfterBytes: 3000, times: 1 });
    const [r] = await downloadVerified([it1], options({ retries: 0 }));
    await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
    expect(r!.url).toBe(it1.urls[1]);
    const [fromB] = gets(b, DEBUGINFO_PATH);
    // Another server's ETag means nothing here: Range without If-Range; the checksum guards.
    expect(fromB).toMatchObject({ status: 206, range: 'bytes=3000-', bytesSent: it1.size! - 3000 });
    expect(fromB!.headers['if-range']).toBeUndefined();
    // Counted from both mirrors: 3000 bytes from the first, the rest from the second.
    expect(r!.fetchedBytes).toBe(it1.size);
    expect(r!.requests).toBe(2);
  });

  it('fetches files in parallel, 3 at once by default, and 1 at a time when asked', async () => {
    const paths = [DEBUGINFO_PATH, COMMON_PATH, DEVEL_PATH];
    const items = await Promise.all(paths.map((p) => item(p)));
    for (const p of paths) a.fault(p, { delayMs: 300 });
    await downloadVerified(items, options());
    let starts = paths.map((p) => gets(a, p)[0]!.time);
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(250);

    await rm(cache, { recursive: true, force: true });
    a.resetLog();
    await downloadVerified(items, options({ parallel: 1 }));
    starts = paths.map((p) => gets(a, p)[0]!.time).sort((x, y) => x - y);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(280);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(280);
    for (const p of paths) await expectFinalFile(p.slice(p.lastIndexOf('/') + 1), p);
  });

  it('refuses to start, with numbers, when the disk is short', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    const huge = 2 ** 50;
    const err = await rejection(downloadVerified([{ ...it1, size: huge }], options()));
    expect(err.exitCode).toBe(ExitCode.failed);
    expect(err.message).toMatch(new RegExp(`not enough free space:\\n  ${esc(cache)}: need 1024\\.0 TiB \\(1024\\.0 TiB downloads\\), [\\d.]+ [KMGT]iB free, short by`));
    expect(a.requests).toHaveLength(0);
  });

  it('counts the unpacked install (5x packed for debuginfo) when an install root is given', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    const root = await mkdtemp(join(tmpdir(), 'kdebuginfo-root-'));
    try {
      const free = await freeBytes(cache);
      // Small enough to download, too big to unpack 5x.
      const size = Math.floor(free / 4);
      const err = await rejection(downloadVerified([{ ...it1, size }], options({ installRoot: root })));
      expect(err.message).toContain('unpacked install (estimate: 5x packed for debuginfo)');
      expect(a.requests).toHaveLength(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  // A real full disk: a 4 KiB tmpfs (needs root and mount(2); skipped where either is missing).
  const tinyFs = (() => {
    const dir = join(tmpdir(), `kdebuginfo-tinyfs-${process.pid}`);
    const r = spawnSync('sh', ['-c', `mkdir -p '${dir}' && mount -t tmpfs -o size=4k tmpfs '${dir}'`]);
    if (r.status !== 0) return undefined;
    spawnSync('umount', [dir]);
    return dir;
  })();

  it.skipIf(!tinyFs)('stops with a clear error (exit 1, not a retry) when the disk fills up mid-download', async () => {
    const dir = tinyFs!;
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', dir]).status).toBe(0);
    try {
      // Size unknown (a listing without sizes), so the free-space check cannot refuse up front.
      const it1 = { ...(await item(DEBUGINFO_PATH)), size: null };
      const err = await rejection(downloadVerified([it1], options({ cacheDir: dir })));
      expect(err.exitCode).toBe(ExitCode.failed);
      expect(err.message).toMatch(new RegExp(`^cannot write ${esc(join(dir, DEBUGINFO))}\.part: .*ENOSPC|no space left`, 'i'));
      expect(gets(a, DEBUGINFO_PATH)).toHaveLength(1);
      expect(existsSync(join(dir, DEBUGINFO))).toBe(false);
    } finally {
      spawnSync('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('goes through HTTP_PROXY, and not for hosts in NO_PROXY', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    const proxy = await startForwardProxy();
    try {
      await downloadVerified([it1], options({ env: { HTTP_PROXY: proxy.url } }));
      await expectFinalFile(DEBUGINFO, DEBUGINFO_PATH);
      expect(proxy.seen).toEqual([it1.urls[0]]);

      await rm(cache, { recursive: true, force: true });
      await downloadVerified([it1], options({ env: { HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.1' } }));
      expect(proxy.seen).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('names the proxy (not its password) when it refuses connections, and never reaches the mirror', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    const proxy = (await refusingProxyUrl()).replace('//', '//ann:s3cret@');
    const err = await rejection(downloadVerified([it1], options({ env: { HTTP_PROXY: proxy }, retries: 1 })));
    expect(err.exitCode).toBe(ExitCode.network);
    const shown = proxy.replace('ann:s3cret@', '***@');
    expect(err.message).toBe(
      `download failed:\n${DEBUGINFO}: no mirror gave a good copy\n  ${it1.urls[0]}: proxy ${shown} (HTTP_PROXY) refused the connection (ECONNREFUSED) (gave up after 2 tries)`,
    );
    expect(err.message).not.toContain('s3cret');
    expect(a.requests).toEqual([]);
  });

  it('refuses unsafe file names from repodata', async () => {
    const it1 = await item(DEBUGINFO_PATH);
    const err = await rejection(downloadVerified([{ ...it1, file: '../../etc/passwd' }], options()));
    expect(err.message).toContain('refusing unsafe file name');
  });
});

describe('cache directory (src/io/cache.ts)', () => {
  it('is /var/cache/kdebuginfo as root, XDG_CACHE_HOME or ~/.cache otherwise, and --cache-dir wins', () => {
    const env = { HOME: '/home/ann', XDG_CACHE_HOME: '/xdg' };
    expect(chooseCacheDir({ flag: undefined, env, isRoot: true, cwd: '/w' })).toBe('/var/cache/kdebuginfo');
    expect(chooseCacheDir({ flag: undefined, env, isRoot: false, cwd: '/w' })).toBe('/xdg/kdebuginfo');
    expect(chooseCacheDir({ flag: undefined, env: { HOME: '/home/ann' }, isRoot: false, cwd: '/w' })).toBe('/home/ann/.cache/kdebuginfo');
    // The XDG spec says to ignore a relative XDG_CACHE_HOME.
    expect(chooseCacheDir({ flag: undefined, env: { HOME: '/home/ann', XDG_CACHE_HOME: 'rel' }, isRoot: false, cwd: '/w' })).toBe('/home/ann/.cache/kdebuginfo');
    expect(chooseCacheDir({ flag: 'c', env, isRoot: true, cwd: '/w' })).toBe('/w/c');
  });

  it('adds up claims on one filesystem, and measures a path that does not exist yet by its parent', async () => {
    const space = await measureSpace([
      { path: join(cache, 'not', 'yet'), bytes: 100, what: 'downloads' },
      { path: cache, bytes: 50, what: 'bundle' },
    ]);
    expect(space).toHaveLength(1);
    expect(space[0]).toMatchObject({ path: join(cache, 'not', 'yet'), neededBytes: 150 });
    expect(space[0]!.freeBytes).toBeGreaterThan(0);
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What the fixture server's `corrupt` fault does: flip one byte in every KiB. */
function corrupt(body: Buffer): Buffer {
  const out = Buffer.from(body);
  for (let i = 0; i < out.length; i += 1024) out[i] = out[i]! ^ 0xff;
  return out;
}

async function freeBytes(dir: string): Promise<number> {
  const { statfs } = await import('node:fs/promises');
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
