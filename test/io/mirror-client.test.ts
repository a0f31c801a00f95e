import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../src/io/http.js';
import { createMirrorClient, type MirrorClientOptions } from '../../src/io/mirror-client.js';
import { startHostileServer, type HostileServer } from '../support/hostile-server.js';

/**
 * The mirror client against a server that misbehaves (test/support/hostile-server.ts), with the
 * limits lowered so each case takes milliseconds: every case is a failed location with the
 * reason a user reads in the list of locations tried, never a thrown error or a crash.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
let server: HostileServer;
beforeAll(async () => {
  server = await startHostileServer({ maxMsPerResponse: 5_000 });
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => server.reset());

const limits = { repomdBytes: 4 * KiB, listingBytes: 64 * KiB, primaryBytes: 1 * MiB, packageElementChars: 16 * KiB };

async function client(opts: MirrorClientOptions = {}, http: { idleTimeoutMs?: number; retries?: number } = {}) {
  const got = await createHttpClient({ userAgent: 'kdebuginfo-test', env: {}, retries: http.retries ?? 0, connectTimeoutMs: 2000, idleTimeoutMs: http.idleTimeoutMs ?? 5000 });
  return createMirrorClient(got, () => {}, { limits, ...opts });
}

const pkg = (name: string, vr = '1-1') => `<package type="rpm"><name>${name}</name><arch>x86_64</arch><version epoch="0" ver="${vr.split('-')[0]}" rel="${vr.split('-')[1]}"/><checksum type="sha256" pkgid="YES">${'a'.repeat(64)}</checksum><size package="10"/><location href="Packages/${name}-${vr}.x86_64.rpm"/></package>\n`;
const primaryXml = (n: number) => `<?xml version="1.0"?>\n<metadata packages="${n}">\n${Array.from({ length: n }, (_, i) => pkg(`p${i}`)).join('')}${pkg('kernel-debuginfo')}</metadata>\n`;

function repomd(href: string, sizes: { size?: number; openSize?: number; sha256?: string } = {}) {
  return `<?xml version="1.0"?>\n<repomd><data type="primary">${sizes.sha256 ? `<checksum type="sha256">${sizes.sha256}</checksum>` : ''}<location href="${href}"/>${
    sizes.size === undefined ? '' : `<size>${sizes.size}</size>`
  }${sizes.openSize === undefined ? '' : `<open-size>${sizes.openSize}</open-size>`}</data></repomd>\n`;
}

const wants = (n: string) => n === 'kernel-debuginfo';
const never = () => false;

describe('primary.xml that breaks, stalls or never ends is a failed location', () => {
  it('reads a good primary.xml.gz whole, checksum checked', async () => {
    const gz = gzipSync(primaryXml(50));
    server.route('/r/repodata/repomd.xml', { kind: 'file', body: repomd('repodata/p.xml.gz', { size: gz.length, sha256: createHash('sha256').update(gz).digest('hex') }) });
    server.route('/r/repodata/p.xml.gz', { kind: 'file', body: gz });
    const r = await (await client()).scanRepodata(`${server.url}/r/`, wants, never);
    expect(r).toMatchObject({ ok: true, value: [{ name: 'kernel-debuginfo', href: 'Packages/kernel-debuginfo-1-1.x86_64.rpm' }] });
  });

  it('a connection cut after 500 bytes', async () => {
    const gz = gzipSync(primaryXml(200));
    server.route('/r/repodata/repomd.xml', { kind: 'file', body: repomd('repodata/p.xml.gz') });
    server.route('/r/repodata/p.xml.gz', { kind: 'drop', body: gz, afterBytes: 500 });
    const r = await (await client()).scanRepodata(`${server.url}/r/`, wants, never);
    expect(r).toEqual({ ok: false, reason: 'repodata/p.xml.gz: the connection closed in the middle of the body (ECONNRESET)' });
  });

  it('a body that stops coming: the idle timeout', async () => {
    const gz = gzipSync(primaryXml(200));
    server.route('/r/repodata/repomd.xml', { kind: 'file', body: repomd('repodata/p.xml.gz') });
    server.route('/r/repodata/p.xml.gz', { kind: 'stall', body: gz, afterBytes: 500 });
    const r = await (await client({}, { idleTimeoutMs: 300 })).scanRepodata(`${server.url}/r/`, wants, never);
    expect(r).toEqual({ ok: false, reason: 'repodata/p.xml.gz: timed out' });
  });

  it('a gzip bomb, against repomd.xml open-size, against its size, and against the limit when it gives neither', async () => {
    server.route('/r/repodata/p.xml.gz', { kind: 'gzip', zeros: 10 * 1024 * MiB });
    const c = await client();
    server.route('/r/repodata/repomd.xml', { kind: 'file', body: repomd('repodata/p.xml.gz', { size: 900 * KiB, openSize: 3000 }) });
    expect(await c.scanRepodata(`${server.url}/r/`, wants, never)).toEqual({
      ok: false,
      reason: "repodata/p.xml.gz: decompresses to more than repomd.xml's open-size of 3000 bytes",
    });
    server.route('/r/repodata/repomd.xml', { kind: 'file', body: repomd('repodata/p.xml.gz', { size: 3000 }) });
    expect(await c.scanRepodata(`${server.url}/r/`, wants, never)).toEqual({ ok: false, reason: "repodata/p.xml.gz: larger than repomd.xml's size of 3000 bytes" });
    server.route('/r/repodata/repomd.xml', { kind: 'file', body: repomd('repodata/p.xml.gz') });
    expect(await c.scanRepodata(`${server.url}/r/`, wants, never)).toEqual({ ok: false, reason: 'repodata/p.xml.gz: decompresses to more than the 1.0 MiB limit' });
    // Each bomb was left soon after it went past its limit: what the server wrote is what
    // loopback's socket buffers hold (some MiB), not the 10 GiB of zeros (some 10 MB gzipped).
    for (const q of server.requests.filter((q) => q.path.endsWith('.gz'))) expect(q.bytesSent).toBeLessThan(8 * MiB);
  });

  it('a bomb inside one <package> element', async () => {
    server.route('/r/repodata/repomd.xml', { kind: 'file', body: repomd('repodata/p.xml.gz') });
    server.route('/r/repodata/p.xml.gz', { kind: 'gzip', head: '<metadata><package type="rpm"><name>kernel-debuginfo</name><description>', zeros: 10 * 1024 * MiB });
    expect(await (await client()).scanRepodata(`${server.url}/r/`, wants, never)).toEqual({
      ok: false,
      reason: 'repodata/p.xml.gz: a <package> element is longer than the 16.0 KiB limit',
    });
  });

  it('a gzip stream that is not gzip, and one that ends too soon', async () => {
    server.route('/r/repodata/repomd.xml', { kind: 'file', body: repomd('repodata/p.xml.gz') });
    server.route('/r/repodata/p.xml.gz', { kind: 'file', body: primaryXml(3) });
    const c = await client();
    expect(await c.scanRepodata(`${server.url}/r/`, wants, never)).toEqual({ ok: false, reason: 'repodata/p.xml.gz: not valid gzip (incorrect header check)' });
    server.route('/r/repodata/p.xml.gz', { kind: 'file', body: gzipSync(primaryXml(300)).subarray(0, 2000) });
    expect(await c.scanRepodata(`${server.url}/r/`, wants, never)).toEqual({ ok: false, reason: 'repodata/p.xml.gz: not valid gzip (unexpected end of file)' });
  });
});

describe('repomd.xml and listings are read up to a limit', () => {
  it('an endless repomd.xml, with and without Content-Length', async () => {
    const c = await client();
    server.route('/r/repodata/repomd.xml', { kind: 'endless', chunk: '<repomd>' });
    expect(await c.scanRepodata(`${server.url}/r/`, wants, never)).toEqual({ ok: false, reason: 'repomd.xml: repomd.xml is over the 4.0 KiB limit' });
    server.route('/r/repodata/repomd.xml', { kind: 'endless', chunk: '<repomd>', contentLength: 3 * 1024 * MiB });
    expect(await c.scanRepodata(`${server.url}/r/`, wants, never)).toEqual({ ok: false, reason: 'repomd.xml: repomd.xml is 3.0 GiB, over the 4.0 KiB limit' });
    // Left at the limit: the server wrote no more than the socket buffers hold, not its 256 MiB budget.
    for (const q of server.requests) expect(q.bytesSent).toBeLessThan(16 * MiB);
  });

  it('an endless listing, with and without Content-Length; a listing just under the limit is read', async () => {
    const c = await client();
    const row = (i: number) => `<tr><td><a href="kernel-debuginfo-4.18.0-${i}.el8.x86_64.rpm">kernel-debuginfo-4.18.0-${i}.el8.x86_64.rpm</a></td></tr>\n`;
    server.route('/d/', { kind: 'endless', chunk: row(1) });
    expect(await c.listDirectory(`${server.url}/d/`)).toEqual({ ok: false, reason: 'the listing is over the 64.0 KiB limit' });
    server.route('/d/', { kind: 'endless', chunk: row(1), contentLength: 45 * MiB });
    expect(await c.listDirectory(`${server.url}/d/`)).toEqual({ ok: false, reason: 'the listing is 45.0 MiB, over the 64.0 KiB limit' });
    let page = '';
    for (let i = 0; page.length + 200 < 64 * KiB; i++) page += row(i);
    server.route('/d/', { kind: 'file', body: page, contentType: 'text/html' });
    const r = await c.listDirectory(`${server.url}/d/`, (f) => f.endsWith('-7.el8.x86_64.rpm'));
    expect(r).toEqual({ ok: true, value: { files: ['kernel-debuginfo-4.18.0-7.el8.x86_64.rpm'], links: page.split('\n').length - 1 } });
  });

  it('an error status is never read: a 503 with an endless body is one short request per try', async () => {
    server.route('/r/repodata/repomd.xml', { kind: 'endless', chunk: 'x', status: 503 });
    const r = await (await client({}, { retries: 1 })).scanRepodata(`${server.url}/r/`, wants, never);
    expect(r).toEqual({ ok: false, reason: 'repomd.xml: HTTP 503' });
    expect(server.requests).toHaveLength(2);
    for (const q of server.requests) expect(q.bytesSent).toBeLessThan(16 * MiB);
  });

  it('a redirect loop', async () => {
    server.route('/r/repodata/repomd.xml', { kind: 'redirect', to: '/loop' });
    server.route('/loop', { kind: 'redirect', to: '/r/repodata/repomd.xml' });
    const r = await (await client()).scanRepodata(`${server.url}/r/`, wants, never);
    expect(r).toEqual({ ok: false, reason: 'repomd.xml: too many redirects (Redirected 10 times. Aborting.)' });
    expect(server.requests).toHaveLength(11);
  });
});

describe('Ctrl-C', () => {
  it('ends a trickling repomd.xml at once: the call throws the signal reason', async () => {
    server.route('/r/repodata/repomd.xml', { kind: 'trickle', body: repomd('repodata/p.xml.gz').repeat(20), bytes: 10, everyMs: 100 });
    const interrupts = new AbortController();
    const c = await client({ signal: interrupts.signal });
    const scanning = c.scanRepodata(`${server.url}/r/`, wants, never);
    setTimeout(() => interrupts.abort(new Error('interrupted')), 300);
    await expect(scanning).rejects.toThrow('interrupted');
    // The request was cut when the signal fired, not read to its end.
    await new Promise((r) => setTimeout(r, 100));
    expect(server.requests[0]).toMatchObject({ aborted: true });
    expect(server.requests[0]!.bytesSent).toBeLessThan(200);
  });
});

describe('a host that gives no answer at all', () => {
  /** A server that accepts each connection and closes it at once, before any status: counts them. */
  async function hangingUp() {
    const { createServer } = await import('node:net');
    let connections = 0;
    const srv = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    return { url, connections: () => connections, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
  }

  it('is unreachable after its retries, and every later request to that origin fails at once with the same reason', async () => {
    const dead = await hangingUp();
    try {
      const got = await createHttpClient({ userAgent: 'kdebuginfo-test', env: {}, retries: 2, noAnswerRetryDelayMs: 10, connectTimeoutMs: 2000 });
      const c = createMirrorClient(got, () => {}, { limits });
      const first = await c.scanRepodata(`${dead.url}/a/`, wants, never);
      expect(first).toEqual({ ok: false, reason: 'repomd.xml: ECONNRESET', isUnreachable: true });
      expect(dead.connections()).toBe(3);
      expect(await c.listDirectory(`${dead.url}/b/Packages/`)).toEqual({ ok: false, reason: 'ECONNRESET', isUnreachable: true });
      expect(await c.probe(`${dead.url}/b/Packages/x.rpm`)).toEqual({ ok: false, reason: 'ECONNRESET', isUnreachable: true });
      expect(dead.connections()).toBe(3);
      // Another origin is asked as before.
      server.route('/r/x.rpm', { kind: 'file', body: 'rpm' });
      expect(await c.probe(`${server.url}/r/x.rpm`)).toMatchObject({ ok: true });
    } finally {
      await dead.close();
    }
  });

  it('a host that answers, even 500 or a body cut short, is not unreachable', async () => {
    server.route('/r/x.rpm', { kind: 'file', body: 'oops', status: 500 });
    const c = await client();
    expect(await c.probe(`${server.url}/r/x.rpm`)).toEqual({ ok: false, reason: 'HTTP 500' });
    expect(await c.listDirectory(`${server.url}/r/`)).toEqual({ ok: false, reason: 'HTTP 404' });
  });
});
