import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

/**
 * A mirror that misbehaves on purpose, on 127.0.0.1: bodies cut, stalled, trickled, endless or
 * decompressing to gigabytes, and redirects that go round. Each path answers with the scenario
 * routed to it, anything else 404.
 *
 * Every response stops by itself: after `maxBytesPerResponse` bytes sent or `maxMsPerResponse`
 * ms, whichever comes first, the connection is cut (a client that is still reading then sees a
 * reset, as from a real server that gave up). After `maxRequests` requests in all, every answer
 * is 503 with no body, so a client that loops cannot keep the server busy.
 */
export type Scenario =
  /** A plain 200 (or `status`) with this body and Content-Length. */
  | { kind: 'file'; body: string | Buffer; contentType?: string; status?: number }
  /** Content-Length of the whole body, `afterBytes` of it, then the connection is closed. */
  | { kind: 'drop'; body: string | Buffer; afterBytes: number }
  /** Content-Length of the whole body, `afterBytes` of it, then nothing until the client leaves (or the time budget ends). */
  | { kind: 'stall'; body: string | Buffer; afterBytes: number }
  /** The body `bytes` at a time every `everyMs` ms. */
  | { kind: 'trickle'; body: string | Buffer; bytes: number; everyMs: number }
  /** `chunk` again and again, with no Content-Length (chunked), or with this one (a lie: it never ends before the budget). */
  | { kind: 'endless'; chunk: string; contentLength?: number; contentType?: string; status?: number }
  /**
   * A gzip stream of `head`, then `zeros` zero bytes (Infinity: never-ending), then `tail`,
   * made as it is sent: one gzip member of 1 MiB of zeros is computed once and sent again and
   * again (a gzip file may hold several members one after another; gunzip joins them), so ten
   * GiB of zeros cost the server some 10 MB of writes and no memory.
   */
  | { kind: 'gzip'; head?: string; zeros: number; tail?: string; contentLength?: boolean }
  /** 302 to `to` (a path on this server, or a URL). Two routes pointing at each other make a loop. */
  | { kind: 'redirect'; to: string; status?: number };

export interface HostileRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  status: number;
  /** Body bytes written to the socket. */
  bytesSent: number;
  /** The connection closed before the response ended (a cut, a stall given up, or the client left). */
  aborted: boolean;
}

export interface HostileServerOptions {
  /** Default 256 MiB. */
  maxBytesPerResponse?: number;
  /** Default 20 s. */
  maxMsPerResponse?: number;
  /** Default 400. */
  maxRequests?: number;
}

export interface HostileServer {
  /** e.g. `http://127.0.0.1:40123`, no trailing slash. */
  readonly url: string;
  readonly requests: HostileRequest[];
  /** Answer GET and HEAD of `path` (as sent, query excluded) with `scenario`. */
  route(path: string, scenario: Scenario): void;
  /** Forget every route and the request log. */
  reset(): void;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
const ZEROS_MEMBER = gzipSync(Buffer.alloc(MiB), { level: 9 });

export async function startHostileServer(options: HostileServerOptions = {}): Promise<HostileServer> {
  const maxBytes = options.maxBytesPerResponse ?? 256 * MiB;
  const maxMs = options.maxMsPerResponse ?? 20_000;
  const maxRequests = options.maxRequests ?? 400;
  const routes = new Map<string, Scenario>();
  const requests: HostileRequest[] = [];
  let served = 0;
  let closing = false;

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const entry: HostileRequest = { method: req.method ?? 'GET', path, headers: req.headers, status: 0, bytesSent: 0, aborted: false };
    requests.push(entry);
    res.on('close', () => {
      entry.aborted = !res.writableFinished;
    });
    served++;
    const scenario = served > maxRequests ? undefined : routes.get(path);
    if (!scenario) return answer(res, entry, served > maxRequests ? 503 : 404, {}, '');
    void play(req, res, entry, scenario).catch(() => res.destroy());
  });

  /** Writes `chunk`, resolving once the socket took it or the response is gone. */
  const write = (res: ServerResponse, entry: HostileRequest, chunk: Buffer) =>
    new Promise<void>((resolve) => {
      if (res.destroyed) return resolve();
      const done = () => {
        res.off('close', done);
        resolve();
      };
      res.once('close', done);
      res.write(chunk, () => {
        entry.bytesSent += chunk.length;
        done();
      });
    });

  const sleep = (ms: number, res: ServerResponse) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        res.off('close', done);
        resolve();
      }
      res.once('close', done);
    });

  async function play(req: IncomingMessage, res: ServerResponse, entry: HostileRequest, s: Scenario): Promise<void> {
    const started = Date.now();
    const isHead = req.method === 'HEAD';
    /** Still worth sending: the client is there and the budget is not spent. */
    const goOn = () => !closing && !res.destroyed && entry.bytesSent < maxBytes && Date.now() - started < maxMs;
    /** The budget ended a body that had more to come: cut, so the client sees an incomplete response. */
    const cut = (): void => void res.socket?.destroy();
    switch (s.kind) {
      case 'file': {
        const body = Buffer.from(s.body);
        return answer(res, entry, s.status ?? 200, { 'content-type': s.contentType ?? 'text/xml', 'content-length': String(body.length) }, isHead ? '' : body);
      }
      case 'redirect':
        return answer(res, entry, s.status ?? 302, { location: s.to, 'content-length': '0' }, '');
      case 'drop':
      case 'stall':
      case 'trickle': {
        const body = Buffer.from(s.body);
        start(res, entry, 200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
        if (isHead) return void res.end();
        if (s.kind === 'trickle') {
          for (let at = 0; at < body.length && goOn(); at += s.bytes) {
            await write(res, entry, body.subarray(at, at + s.bytes));
            await sleep(s.everyMs, res);
          }
          return entry.bytesSent >= body.length ? void res.end() : cut();
        }
        await write(res, entry, body.subarray(0, s.afterBytes));
        if (s.kind === 'stall') await sleep(Math.max(0, maxMs - (Date.now() - started)), res);
        return cut();
      }
      case 'endless': {
        const headers: Record<string, string> = { 'content-type': s.contentType ?? 'text/html' };
        if (s.contentLength !== undefined) headers['content-length'] = String(s.contentLength);
        start(res, entry, s.status ?? 200, headers);
        if (isHead) return void res.end();
        const chunk = Buffer.from(s.chunk.repeat(Math.max(1, Math.floor(64 * 1024 / Math.max(1, s.chunk.length)))));
        while (goOn()) await write(res, entry, chunk);
        return cut();
      }
      case 'gzip': {
        const head = s.head ? gzipSync(s.head) : undefined;
        const tail = s.tail ? gzipSync(s.tail) : undefined;
        const members = Math.ceil(s.zeros / MiB);
        const length = (head?.length ?? 0) + (Number.isFinite(members) ? members * ZEROS_MEMBER.length : 0) + (tail?.length ?? 0);
        start(res, entry, 200, { 'content-type': 'application/x-gzip', ...(s.contentLength && Number.isFinite(length) ? { 'content-length': String(length) } : {}) });
        if (isHead) return void res.end();
        if (head) await write(res, entry, head);
        // Sixteen members a write: fewer round trips, still a small buffer.
        const batch = Buffer.concat(Array.from({ length: 16 }, () => ZEROS_MEMBER));
        let left = members;
        while (left > 0 && goOn()) {
          const n = Math.min(16, left);
          await write(res, entry, n === 16 ? batch : batch.subarray(0, n * ZEROS_MEMBER.length));
          left -= n;
        }
        if (left > 0) return cut();
        if (tail) await write(res, entry, tail);
        return void res.end();
      }
    }
  }

  function start(res: ServerResponse, entry: HostileRequest, status: number, headers: Record<string, string>): void {
    entry.status = status;
    res.writeHead(status, headers);
    res.flushHeaders();
  }

  function answer(res: ServerResponse, entry: HostileRequest, status: number, headers: Record<string, string>, body: string | Buffer): void {
    const b = Buffer.from(body);
    start(res, entry, status, { 'content-length': String(b.length), ...headers });
    entry.bytesSent = b.length;
    res.end(b);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route(path, scenario) {
      routes.set(path, scenario);
    },
    reset() {
      routes.clear();
      requests.length = 0;
      served = 0;
    },
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
