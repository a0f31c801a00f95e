import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, readdir, rm, stat, statfs, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMirrorServer, type MirrorServer } from '../../fixtures/mirror-server.mjs';
import { FIXTURE_MIRROR_ROOT } from '../support/fixture-mirror.js';
import { createExec } from '../../src/io/exec.js';
import { createProgress } from '../../src/io/progress.js';
import { downloadVerified, type DownloadItem, type DownloadOptions } from '../../src/io/download.js';
import { KdebuginfoError, ExitCode } from '../../src/errors.js';

/**
 * Hostile servers and a hostile cache (issue 13, items 3 and 4): a body that never ends, a
 * connection cut mid-body, a broken chunked encoding; links and hard links planted in the cache
 * by someone who can write it. The good copy comes from the real fixture mirror server.
 */

const PATH = '/debuginfo.centos.org/8/x86_64/Packages/kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm';
const FILE = PATH.slice(PATH.lastIndexOf('/') + 1);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What a hostile route did: bytes written to the socket before the client went away. */
interface Served {
  route: string;
  bytesSent: number;
  range: string | undefined;
}

/**
 * A small server on 127.0.0.1 whose routes misbehave on purpose. Every body is bounded here too
 * (HARD_STOP), so a client that fails to stop fails an assertion instead of running forever.
 */
const HARD_STOP = 256 << 20;
const CHUNK = Buffer.alloc(64 << 10, 0x5a);

interface HostileServer {
  url: string;
  served: Served[];
  close(): Promise<void>;
}

async function startHostileServer(body: Buffer): Promise<HostileServer> {
  const served: Served[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const route = (req.url ?? '/').split('/')[1] ?? '';
    const entry: Served = { route, bytesSent: 0, range: req.headers.range };
    served.push(entry);
    const send = (b: Buffer) => {
      entry.bytesSent += b.length;
      return res.write(b);
    };
    /** Writes chunks as fast as the client reads them, until it goes away or HARD_STOP. */
    const pump = (first: Buffer) => {
      let gone = false;
      res.on('close', () => (gone = true));
      const more = () => {
        while (!gone && entry.bytesSent < HARD_STOP) {
          if (!send(CHUNK)) return void res.once('drain', more);
        }
        if (!gone) res.end();
      };
      send(first);
      more();
    };
    if (route === 'endless') {
      // The real file first, then more, chunked: the size repodata gave is passed, silently.
      res.writeHead(200, { 'content-type': 'application/x-rpm', etag: '"endless"' });
      pump(body);
    } else if (route === 'endless-nolength') {
      res.writeHead(200, { 'content-type': 'application/x-rpm' });
      pump(CHUNK);
    } else if (route === 'drop') {
      // Content-Length promised, 3000 bytes given, then the connection is cut.
      res.writeHead(200, { 'content-length': String(body.length), etag: '"drop"' });
      send(body.subarray(0, 3000));
      setTimeout(() => req.socket.destroy(), 50);
    } else if (route === 'bad-chunk' || route === 'bad-chunk-later') {
      // A chunked body whose second chunk-size line is not hex: the HTTP parser fails. At once
      // (in the same packet as the headers: the error comes with the response), or 50 ms after
      // the first 3000 bytes (mid-body).
      const head = Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${(3000).toString(16)}\r\n`);
      const bad = Buffer.from('\r\nZZZZ\r\n');
      entry.bytesSent = 3000;
      if (route === 'bad-chunk') req.socket.write(Buffer.concat([head, body.subarray(0, 3000), bad]));
      else {
        req.socket.write(Buffer.concat([head, body.subarray(0, 3000)]));
        setTimeout(() => req.socket.write(bad), 50);
      }
      setTimeout(() => req.socket.destroy(), 100);
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let good: MirrorServer;
let hostile: HostileServer;
let body: Buffer;
let cache: string;
let elsewhere: string;
let stderr: string;
const exec = createExec({ env: process.env, dryRun: false });

beforeAll(async () => {
  body = await readFile(join(FIXTURE_MIRROR_ROOT, PATH));
  good = await startMirrorServer({ root: FIXTURE_MIRROR_ROOT });
  hostile = await startHostileServer(body);
});
afterAll(async () => {
  await good.close();
  await hostile.close();
});
beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'kdebuginfo-hostile-'));
  elsewhere = await mkdtemp(join(tmpdir(), 'kdebuginfo-victim-'));
  stderr = '';
  hostile.served.length = 0;
});
afterEach(async () => {
  good.resetLog();
  await rm(cache, { recursive: true, force: true });
  await rm(elsewhere, { recursive: true, force: true });
});

function item(urls: string[], opts: { size?: number | null; checksum?: boolean } = {}): DownloadItem {
  return {
    file: FILE,
    urls,
    size: opts.size === undefined ? body.length : opts.size,
    checksum: opts.checksum === false ? null : { type: 'sha256', value: sha256(body) },
  };
}

function options(extra: Partial<DownloadOptions> = {}): DownloadOptions {
  return {
    cacheDir: cache,
    exec,
    userAgent: 'kdebuginfo-test/1',
    env: {},
    retries: 0,
    retryBaseMs: 10,
    idleTimeoutMs: 5000,
    progress: createProgress({ write: (s: string) => (stderr += s) }, { isTty: false }),
    ...extra,
  };
}

async function rejection(p: Promise<unknown>): Promise<KdebuginfoError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KdebuginfoError);
  return err as KdebuginfoError;
}

/** The cache holds the good file under its name and nothing else (no .part, no sidecar, no temp file). */
async function expectOnlyTheGoodFile(dir = cache): Promise<void> {
  expect(await readdir(dir)).toEqual([FILE]);
  expect(lstatSync(join(dir, FILE)).isFile()).toBe(true);
  expect(sha256(await readFile(join(dir, FILE)))).toBe(sha256(body));
}

const goodUrl = () => good.url + PATH;
const goodGets = () => good.requests.filter((r) => r.method === 'GET' && r.path === PATH);

describe('a body is bounded (issue 13, item 3)', () => {
  it('stops an endless chunked body at the size repodata gives, keeps none of it, and takes the next mirror', async () => {
    const endless = `${hostile.url}/endless${PATH}`;
    const [r] = await downloadVerified([item([endless, goodUrl()])], options());
    expect(r).toMatchObject({ url: goodUrl(), cached: false, size: body.length });
    await expectOnlyTheGoodFile();
    const [sent] = hostile.served;
    // Stopped at the first chunk past 7,993 bytes: what the server got out is its first write
    // plus what the sockets buffered, nowhere near HARD_STOP.
    expect(sent!.bytesSent).toBeLessThan(16 << 20);
    expect(goodGets().map((g) => [g.status, g.range])).toEqual([[200, undefined]]);
    expect(stderr).toContain(`${FILE}: ${endless}: the body went on past its ${body.length} bytes; stopped; trying ${goodUrl()}`);
  });

  it('fails with exit 1 naming the mirror when it is the only one, leaving nothing in the cache', async () => {
    const endless = `${hostile.url}/endless${PATH}`;
    const err = await rejection(downloadVerified([item([endless])], options()));
    expect(err.exitCode).toBe(ExitCode.failed);
    expect(err.message).toBe(`download failed:\n${FILE}: no mirror gave a good copy\n  ${endless}: the body went on past its ${body.length} bytes; stopped`);
    expect(await readdir(cache)).toEqual([]);
  });

  it('caps a body of unknown size (no size anywhere, no Content-Length) at the configured cap, then takes the next mirror', async () => {
    const endless = `${hostile.url}/endless-nolength${PATH}`;
    const cap = 1 << 20;
    const [r] = await downloadVerified([item([endless, goodUrl()], { size: null })], options({ unknownSizeCapBytes: cap }));
    expect(r!.url).toBe(goodUrl());
    await expectOnlyTheGoodFile();
    expect(hostile.served[0]!.bytesSent).toBeLessThan(cap + (16 << 20));
    expect(stderr).toContain(`${FILE}: ${endless}: the body went on past the 1.0 MiB cap for a file of unknown size; stopped; trying ${goodUrl()}`);

    // Alone, the same stop is the error, and nothing is left that looks like the file.
    await rm(join(cache, FILE));
    const err = await rejection(downloadVerified([item([endless], { size: null })], options({ unknownSizeCapBytes: cap })));
    expect(err.message).toBe(`download failed:\n${FILE}: no mirror gave a good copy\n  ${endless}: the body went on past the 1.0 MiB cap for a file of unknown size; stopped`);
    expect(await readdir(cache)).toEqual([]);
  });

  it('treats a connection cut mid-body as a failed try: the next mirror continues the .part with Range', async () => {
    const drop = `${hostile.url}/drop${PATH}`;
    const [r] = await downloadVerified([item([drop, goodUrl()])], options());
    expect(r).toMatchObject({ url: goodUrl(), fetchedBytes: body.length, requests: 2 });
    await expectOnlyTheGoodFile();
    expect(hostile.served.map((s) => [s.route, s.bytesSent])).toEqual([['drop', 3000]]);
    expect(goodGets().map((g) => [g.status, g.range, g.bytesSent])).toEqual([[206, 'bytes=3000-', body.length - 3000]]);
    expect(stderr).toMatch(new RegExp(`${FILE}: ${drop.replace(/[.?+]/g, '\\$&')}: \\w+ after 2\\.9 KiB \\(gave up after 1 tries\\); trying `));
  });

  it('treats a broken chunked encoding as a failed try, whether it comes with the response or mid-body, then the next mirror', async () => {
    const atOnce = `${hostile.url}/bad-chunk${PATH}`;
    const later = `${hostile.url}/bad-chunk-later${PATH}`;
    const [r] = await downloadVerified([item([atOnce, later, goodUrl()])], options());
    expect(r!.url).toBe(goodUrl());
    await expectOnlyTheGoodFile();
    // The parse error came in the same tick as the response: before this was handled, the try
    // waited forever for a body that had already failed.
    expect(stderr).toContain(`${FILE}: ${atOnce}: HPE_INVALID_CHUNK_SIZE after 0 B (gave up after 1 tries); trying ${later}`);
    expect(stderr).toContain(`${FILE}: ${later}: HPE_INVALID_CHUNK_SIZE after 2.9 KiB (gave up after 1 tries); trying ${goodUrl()}`);
    // The 3000 good bytes from the second were kept, and the third was asked only for the rest.
    expect(goodGets().map((g) => [g.status, g.range])).toEqual([[206, 'bytes=3000-']]);
  });

  it('gives up on a server that ignores Range and cuts at the same byte every time (before, a loop without end)', async () => {
    // Each try restarts from byte 0 and gets 3000 bytes: the .part never grows past what it held,
    // so that is no progress, and the retries run out.
    const drop = `${hostile.url}/drop${PATH}`;
    const err = await rejection(downloadVerified([item([drop])], options({ retries: 3 })));
    expect(err.exitCode).toBe(ExitCode.network);
    expect(hostile.served.map((s) => s.range)).toEqual([undefined, 'bytes=3000-', 'bytes=3000-', 'bytes=3000-']);
  });

  it('exits 75 with the exact reason when the only mirror keeps cutting the connection; the .part is kept, no file', async () => {
    const drop = `${hostile.url}/drop${PATH}`;
    const err = await rejection(downloadVerified([item([drop])], options({ retries: 1 })));
    expect(err.exitCode).toBe(ExitCode.network);
    expect(err.message).toMatch(new RegExp(`^download failed:\\n${FILE}: no mirror gave a good copy\\n  ${drop.replace(/[.?+]/g, '\\$&')}: \\w+ after 2\\.9 KiB \\(gave up after 2 tries\\)$`));
    // The second try continued from 3000 and was cut again at once: still 3000 bytes, no file.
    expect(hostile.served.map((s) => s.range)).toEqual([undefined, 'bytes=3000-']);
    expect((await readdir(cache)).sort()).toEqual([`${FILE}.part`, `${FILE}.part.json`]);
    expect((await stat(join(cache, `${FILE}.part`))).size).toBe(3000);
  });

  // The free-space check while a body of unknown size grows needs a small filesystem: an 80 MiB
  // tmpfs (root and mount(2); skipped where either is missing, like the full-disk test).
  const canMount = (() => {
    const dir = join(tmpdir(), `kdebuginfo-mount-probe-${process.pid}`);
    const r = spawnSync('sh', ['-c', `mkdir -p '${dir}' && mount -t tmpfs -o size=80m tmpfs '${dir}' && umount '${dir}'; rmdir '${dir}'`]);
    return r.status === 0;
  })();

  it.skipIf(!canMount)('stops a body of unknown size while 64 MiB is still free on the cache filesystem (exit 1, the .part kept)', async () => {
    const dir = join(tmpdir(), `kdebuginfo-smallfs-${process.pid}`);
    await mkdir(dir, { recursive: true });
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=80m', 'tmpfs', dir]).status).toBe(0);
    try {
      const endless = `${hostile.url}/endless-nolength${PATH}`;
      const err = await rejection(downloadVerified([item([endless, goodUrl()], { size: null })], options({ cacheDir: dir })));
      expect(err.exitCode).toBe(ExitCode.failed);
      expect(err.message).toMatch(
        new RegExp(`^not enough free space: ${dir.replace(/[.]/g, '\\.')} has [\\d.]+ MiB free after [\\d.]+ MiB of ${FILE.replace(/[.]/g, '\\.')}, whose size no one gave; stopped to keep 64\\.0 MiB free$`),
      );
      // The disk is this machine's problem, not the mirror's: the next mirror is not tried.
      expect(goodGets()).toEqual([]);
      const part = (await stat(join(dir, `${FILE}.part`))).size;
      expect(part).toBeGreaterThan(8 << 20);
      // 16 MiB until the reserve is reached, then at most one check step (8 MiB) and what the
      // sink thread had in flight (a few 2 MiB buffers): far from filling the 80 MiB.
      expect(part).toBeLessThanOrEqual(32 << 20);
      const fs = await statfs(dir);
      expect(fs.bavail * fs.bsize).toBeGreaterThanOrEqual(48 << 20);
      expect(existsSync(join(dir, FILE))).toBe(false);
    } finally {
      spawnSync('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('links planted in the cache are removed, never followed (issue 13, item 4)', () => {
  const VICTIM_TEXT = Buffer.from('the victim: another user would lose this file\n'.repeat(100));
  async function victim(): Promise<string> {
    const path = join(elsewhere, 'victim');
    await writeFile(path, VICTIM_TEXT);
    return path;
  }
  async function expectVictimUntouched(path: string): Promise<void> {
    expect(await readFile(path)).toEqual(VICTIM_TEXT);
  }
  /** A sidecar as a resume would trust it: same URL and checksum, and validators. */
  const forgedSidecar = (url: string) => JSON.stringify({ url, etag: '"x"', lastModified: null, size: body.length, checksum: sha256(body) });

  it('a .part.json.tmp link (the old fixed temporary name) is never written through', async () => {
    const v = await victim();
    await symlink(v, join(cache, `${FILE}.part.json.tmp`));
    await downloadVerified([item([goodUrl()])], options());
    await expectVictimUntouched(v);
    // The planted link stays (it is not a name we use); the file is in place.
    expect((await readdir(cache)).sort()).toEqual([FILE, `${FILE}.part.json.tmp`]);
  });

  it('a .part.json link is removed, not read or written through', async () => {
    const v = await victim();
    await writeFile(v, forgedSidecar(goodUrl()));
    const before = await readFile(v);
    await symlink(v, join(cache, `${FILE}.part.json`));
    const drop = `${hostile.url}/drop${PATH}`;
    // A cut try writes a sidecar: it must replace the link, not the victim.
    await rejection(downloadVerified([item([drop])], options()));
    expect(await readFile(v)).toEqual(before);
    expect(lstatSync(join(cache, `${FILE}.part.json`)).isSymbolicLink()).toBe(false);
    expect(JSON.parse(await readFile(join(cache, `${FILE}.part.json`), 'utf8'))).toMatchObject({ url: drop, etag: '"drop"' });
  });

  it('a .part link with a forged sidecar: the victim is neither truncated nor filled with RPM bytes', async () => {
    const v = await victim();
    await symlink(v, join(cache, `${FILE}.part`));
    await writeFile(join(cache, `${FILE}.part.json`), forgedSidecar(goodUrl()));
    await downloadVerified([item([goodUrl()])], options());
    await expectVictimUntouched(v);
    await expectOnlyTheGoodFile();
    // Fetched whole: the link's target was not taken for a prefix.
    expect(goodGets().map((g) => g.range)).toEqual([undefined]);
  });

  it('a .part hard link to a victim file is set aside, not continued (the victim keeps its bytes)', async () => {
    const v = await victim();
    await link(v, join(cache, `${FILE}.part`));
    await writeFile(join(cache, `${FILE}.part.json`), forgedSidecar(goodUrl()));
    await downloadVerified([item([goodUrl()])], options());
    await expectVictimUntouched(v);
    expect((await stat(v)).nlink).toBe(1);
    await expectOnlyTheGoodFile();
  });

  it('a link at the final name is not taken for a cached copy, even to a file with the right bytes', async () => {
    const target = join(elsewhere, 'looks-right.rpm');
    await writeFile(target, body);
    await symlink(target, join(cache, FILE));
    const [r] = await downloadVerified([item([goodUrl()])], options());
    expect(r!.cached).toBe(false);
    expect(await readFile(target)).toEqual(body);
    await expectOnlyTheGoodFile();
    expect(stderr).toContain(`${FILE}: the copy in the cache is not the expected file (a symbolic link, not a file kdebuginfo wrote): removed`);
  });

  it('a link at the final name pointing at /dev/zero neither hangs the cache check nor survives', async () => {
    await symlink('/dev/zero', join(cache, FILE));
    await downloadVerified([item([goodUrl()])], options());
    await expectOnlyTheGoodFile();
  });

  it('a .part that is a directory: one line saying what it is and what to do', async () => {
    await mkdir(join(cache, `${FILE}.part`));
    const err = await rejection(downloadVerified([item([goodUrl()])], options()));
    expect(err.exitCode).toBe(ExitCode.failed);
    expect(err.message).toBe(`${join(cache, FILE)}.part is a directory, not a file kdebuginfo wrote: remove it, or choose another --cache-dir`);
    expect(goodGets()).toEqual([]);
  });

  it('a final name that is a directory: the same one line, before anything is fetched', async () => {
    await mkdir(join(cache, FILE));
    const err = await rejection(downloadVerified([item([goodUrl()])], options()));
    expect(err.message).toBe(`${join(cache, FILE)} is a directory, not a file kdebuginfo wrote: remove it, or choose another --cache-dir`);
    expect(goodGets()).toEqual([]);
  });
});
