import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ForwardProxy {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The request targets it relayed (or refused for want of credentials), in order: absolute URLs, and `host:port` for CONNECT. */
  seen: string[];
  /** The same, with the method: `HEAD http://127.0.0.1:PORT/path`, `CONNECT 127.0.0.1:PORT`. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A minimal forwarding HTTP proxy, enough to prove that requests go through HTTP_PROXY or
 * HTTPS_PROXY: absolute-form requests (as curl and kdebuginfo send http:// URLs to a proxy) are
 * relayed, CONNECT (https:// URLs) opens a tunnel. Not a mirror: it relays to the local test
 * servers. With `credentials` ("user:password") it answers 407 to a request without that
 * Proxy-Authorization, as Squid with basic auth does.
 */
export async function startForwardProxy(opts: { credentials?: string } = {}): Promise<ForwardProxy> {
  const seen: string[] = [];
  const requests: string[] = [];
  const isAuthorised = (header: string | undefined) =>
    opts.credentials === undefined || header === `Basic ${Buffer.from(opts.credentials).toString('base64')}`;
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? '');
    requests.push(`${req.method} ${req.url}`);
    if (!isAuthorised(req.headers['proxy-authorization'])) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test proxy"', 'content-length': '0' });
      res.end();
      return;
    }
    const target = new URL(req.url ?? '');
    const { 'proxy-authorization': _auth, ...headers } = req.headers;
    const up = httpRequest(target, { method: req.method, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  // Tunnels leave the HTTP server's bookkeeping: closed here by hand, or close() would wait for
  // the client's kept-alive sockets.
  const tunnels = new Set<Socket>();
  server.on('connect', (req, socket: Socket, head: Buffer) => {
    seen.push(req.url ?? '');
    requests.push(`CONNECT ${req.url}`);
    if (!isAuthorised(req.headers['proxy-authorization'])) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test proxy"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const target = new URL(`http://${req.url}`);
    const up = connect(Number(target.port), target.hostname, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    tunnels.add(socket).add(up);
    const drop = () => {
      socket.destroy();
      up.destroy();
      tunnels.delete(socket);
      tunnels.delete(up);
    };
    up.on('error', drop).on('close', drop);
    socket.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of tunnels) t.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL where nothing listens (a port just bound and released): connections are refused. */
export async function refusingProxyUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
