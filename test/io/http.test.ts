import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, describeHttpError } from '../../src/io/http.js';
import { refusingProxyUrl, startForwardProxy, type ForwardProxy } from '../support/forward-proxy.js';

/**
 * Two origins on loopback, told apart by port (NO_PROXY's `host:port` form): `/hop?to=URL`
 * answers 302 to URL, anything else 200 with the origin's name.
 */
function handler(name: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const to = u.searchParams.get('to');
    if (u.pathname === '/hop' && to) {
      res.writeHead(302, { location: to, 'content-length': '0' });
      res.end();
      return;
    }
    const body = `${name}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
}

async function listen(server: Server): Promise<{ port: number; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const client = (env: Record<string, string>) => createHttpClient({ userAgent: 'kdebuginfo-test', env, retries: 0, connectTimeoutMs: 2000, idleTimeoutMs: 5000 });

let proxy: ForwardProxy;
beforeAll(async () => {
  proxy = await startForwardProxy();
});
afterAll(async () => {
  await proxy.close();
});

describe('the HTTP client routes each request by its URL (http:// through HTTP_PROXY, absolute-form)', () => {
  let one: Awaited<ReturnType<typeof listen>>;
  let two: Awaited<ReturnType<typeof listen>>;
  const url = (o: { port: number }, path = '/file') => `http://127.0.0.1:${o.port}${path}`;
  beforeAll(async () => {
    one = await listen(createHttpServer(handler('one')));
    two = await listen(createHttpServer(handler('two')));
  });
  afterAll(async () => {
    await one.close();
    await two.close();
  });

  it('adds no hook at all without a proxy variable', async () => {
    const http = await client({ NO_PROXY: '*' });
    expect(http.defaults.options.hooks.beforeRequest).toEqual([]);
    proxy.seen.length = 0;
    expect(await http.get(url(one)).text()).toBe('one\n');
    expect(proxy.seen).toEqual([]);
  });

  it('goes through the proxy, and direct for a host:port in NO_PROXY', async () => {
    const http = await client({ HTTP_PROXY: proxy.url, NO_PROXY: `127.0.0.1:${two.port}` });
    proxy.requests.length = 0;
    expect(await http.get(url(one)).text()).toBe('one\n');
    expect((await http.head(url(one))).statusCode).toBe(200);
    expect(await http.get(url(two)).text()).toBe('two\n');
    expect(proxy.requests).toEqual([`GET ${url(one)}`, `HEAD ${url(one)}`]);
  });

  it('decides again on each redirect hop: to a NO_PROXY host goes direct, from one goes through the proxy', async () => {
    const http = await client({ HTTP_PROXY: proxy.url, NO_PROXY: `127.0.0.1:${two.port}` });
    proxy.seen.length = 0;
    const toTwo = url(one, `/hop?to=${encodeURIComponent(url(two))}`);
    const res = await http.get(toTwo);
    expect(res.body).toBe('two\n');
    expect(res.redirectUrls.map(String)).toEqual([url(two)]);
    expect(proxy.seen).toEqual([toTwo]);

    proxy.seen.length = 0;
    const toOne = url(two, `/hop?to=${encodeURIComponent(url(one))}`);
    expect((await http.get(toOne)).body).toBe('one\n');
    expect(proxy.seen).toEqual([url(one)]);
  });

  it('names the proxy, without its password, when it refuses connections', async () => {
    const refusing = (await refusingProxyUrl()).replace('//', '//ann:s3cret@');
    const http = await client({ http_proxy: refusing });
    const err = await http.get(url(one)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(describeHttpError(err)).toBe(`proxy ${refusing.replace('ann:s3cret@', '***@')} (http_proxy) refused the connection (ECONNREFUSED)`);
  });

  it('sends the credentials in the variable, and says so when the proxy wants them', async () => {
    const guarded = await startForwardProxy({ credentials: 'ann:s3cret' });
    try {
      const withThem = await client({ HTTP_PROXY: guarded.url.replace('//', '//ann:s3cret@') });
      expect(await withThem.get(url(one)).text()).toBe('one\n');
      const without = await client({ HTTP_PROXY: guarded.url });
      const err = await without.get(url(one)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(describeHttpError(err)).toBe(`proxy ${guarded.url} (HTTP_PROXY) wants credentials (HTTP 407): give them as http://user:password@host:port`);
    } finally {
      await guarded.close();
    }
  });
});

// A throwaway self-signed certificate for 127.0.0.1 (needs the openssl program).
const tls = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'kdebuginfo-tls-'));
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ]);
  try {
    return r.status === 0 ? { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } : undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

describe.skipIf(!tls)('https:// through HTTPS_PROXY (CONNECT, hpagent)', () => {
  let one: Awaited<ReturnType<typeof listen>>;
  let two: Awaited<ReturnType<typeof listen>>;
  const url = (o: { port: number }, path = '/file') => `https://127.0.0.1:${o.port}${path}`;
  const trust = { https: { certificateAuthority: tls?.cert } };
  beforeAll(async () => {
    one = await listen(createHttpsServer({ key: tls!.key, cert: tls!.cert }, handler('one')) as unknown as Server);
    two = await listen(createHttpsServer({ key: tls!.key, cert: tls!.cert }, handler('two')) as unknown as Server);
  });
  afterAll(async () => {
    await one.close();
    await two.close();
  });

  it('tunnels with CONNECT, and a redirect to a NO_PROXY host leaves the tunnel', async () => {
    const http = await client({ HTTPS_PROXY: proxy.url, NO_PROXY: `127.0.0.1:${two.port}` });
    proxy.requests.length = 0;
    expect(await http.get(url(one), trust).text()).toBe('one\n');
    const res = await http.get(url(one, `/hop?to=${encodeURIComponent(url(two))}`), trust);
    expect(res.body).toBe('two\n');
    // One tunnel to `one` (kept alive for the second request); `two` was reached directly.
    expect(proxy.requests).toEqual([`CONNECT 127.0.0.1:${one.port}`]);
    expect(await http.get(url(two), trust).text()).toBe('two\n');
    expect(proxy.requests).toHaveLength(1);
  });
});
