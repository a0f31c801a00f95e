import type { BeforeRequestHook, Got, Request as GotRequest } from 'got';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { KdebuginfoError } from '../errors.js';
import { formatBytes } from '../core/format.js';
import { createProxyAgents, hasProxyVariable, proxyFailureOf, PROXY_CONTEXT_KEY } from './proxy.js';

export interface HttpSettings {
  userAgent: string;
  /** The context's env: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (and lower-case forms) route each request. */
  env: Record<string, string | undefined>;
  /** Verbose lines: which proxy a request goes through. */
  debug?: (line: string) => void;
  /** Connect timeout, ms. */
  connectTimeoutMs?: number;
  /** Idle (no bytes) timeout, ms. Never a total timeout: a 1 GB file may take an hour. */
  idleTimeoutMs?: number;
  /** Retries for idempotent requests on connection errors, 5xx and 429. */
  retries?: number;
  /**
   * First backoff, ms, after a request that got no answer at all (isNoAnswer: DNS, refused,
   * reset, TLS), doubling after; 1000 unless set. Resolve sets it low: a few quick tries, then
   * the next host (src/backends/rpm/resolve.ts).
   */
  noAnswerRetryDelayMs?: number;
}

/** Each client's first backoff after a request that got no answer (HttpSettings.noAnswerRetryDelayMs). */
const noAnswerDelays = new WeakMap<Got, number>();
const backoffMs = (attempt: number, base: number) => Math.min(base * 2 ** attempt, 10_000);

/**
 * The one HTTP client: got, with our User-Agent (some mirrors answer 406 without one),
 * connect and idle timeouts, retries with backoff, no https -> http redirect downgrades, and
 * every request through the proxy the environment names for its URL (src/io/proxy.ts).
 * got is imported lazily so commands without network pay nothing for it at start-up.
 */
export async function createHttpClient(s: HttpSettings): Promise<Got> {
  const { default: got } = await import('got');
  // No proxy variable: no hook at all, and hpagent is never loaded. (`s.env &&`: plain-JS
  // callers such as bench/resolve.mjs may pass none.)
  const beforeRequest = s.env && hasProxyVariable(s.env) ? [routeThroughProxy(s.env, s.debug)] : [];
  const noAnswerDelay = s.noAnswerRetryDelayMs ?? 1000;
  const client = got.extend({
    headers: { 'user-agent': s.userAgent },
    timeout: { connect: s.connectTimeoutMs ?? 15_000, socket: s.idleTimeoutMs ?? 30_000 },
    retry: {
      limit: s.retries ?? 2,
      methods: ['GET', 'HEAD'],
      statusCodes: [408, 429, 500, 502, 503, 504, 521, 522, 524],
      // Backoff: 1s, 2s, 4s... capped; Retry-After is honoured up to retry.maxRetryAfter.
      calculateDelay: ({ attemptCount, computedValue, error }) =>
        computedValue === 0 ? 0 : backoffMs(attemptCount - 1, isNoAnswer(error) ? noAnswerDelay : 1000),
      maxRetryAfter: 60_000,
    },
    hooks: {
      beforeRequest,
      beforeRedirect: [
        (options, response) => {
          const from = response.url;
          const to = options.url?.toString() ?? '';
          if (from.startsWith('https:') && to.startsWith('http:')) {
            throw new KdebuginfoError(`refusing redirect from ${from} to insecure ${to}`);
          }
        },
      ],
    },
  });
  noAnswerDelays.set(client, noAnswerDelay);
  return client;
}

/**
 * Picks the route of each request from its URL, in got's beforeRequest hook. got runs that hook
 * before every request it sends: the first, each retry, and each hop of a redirect, where the
 * options (agent and request function included) are copied from the hop before
 * (got/dist/source/core/index.js, `_onResponse` then `_makeRequest`). So the hook first undoes
 * what it set for an earlier hop: a redirect to a host in NO_PROXY goes direct, and one from such
 * a host to another goes through the proxy. The route is noted in `options.context`, so an error
 * can name the proxy (proxyFailureOf).
 */
function routeThroughProxy(env: Record<string, string | undefined>, debug?: (line: string) => void): BeforeRequestHook {
  const routeFor = createProxyAgents(env, debug);
  const ours = new WeakSet<object>();
  return async (options) => {
    const route = options.url === undefined ? undefined : await routeFor(options.url.toString());
    if (options.request && ours.has(options.request)) options.request = undefined;
    const { https } = options.agent;
    if (https && ours.has(https)) options.agent = { ...options.agent, https: undefined };
    const { [PROXY_CONTEXT_KEY]: _earlier, ...context } = options.context;
    if (!route) {
      options.context = context;
      return;
    }
    options.context = { ...context, [PROXY_CONTEXT_KEY]: { proxy: route.proxy, variable: route.variable } };
    if ('request' in route.options) {
      ours.add(route.options.request);
      options.request = route.options.request;
    } else {
      if (route.options.agent.https) ours.add(route.options.agent.https);
      options.agent = { ...options.agent, ...route.options.agent };
    }
  };
}

/**
 * A short, user-facing reason for a failed request: `HTTP 404`, `ECONNREFUSED`, `timeout`, or
 * what went wrong with the proxy, naming it.
 */
export function describeHttpError(err: unknown): string {
  const proxy = proxyFailureOf(err);
  if (proxy) return proxy.text;
  const e = err as { response?: { statusCode?: number }; code?: string; message?: string; name?: string };
  if (e.name === 'TimeoutError') return 'timed out';
  if (e.name === 'MaxRedirectsError') return `too many redirects (${e.message ?? ''})`;
  // A 200 whose body broke off carries its response too: the status is not the reason.
  if (e.name === 'ReadError') return e.code === 'ECONNRESET' ? 'the connection closed in the middle of the body (ECONNRESET)' : `reading the body failed (${e.code ?? e.message})`;
  if (e.response?.statusCode) return `HTTP ${e.response.statusCode}`;
  if (e.code) return e.code;
  return e.message ?? String(err);
}

/**
 * A request that failed before any HTTP answer: the name did not resolve, the connection was
 * refused, reset or timed out, TLS failed, or a proxy could not reach the host (hpagent's
 * "Bad response: 502"). Only for errors of opening a request (openGet, a HEAD): a body that breaks
 * after a status is an answer that went wrong, not a host that could not be reached. A redirect
 * this client refuses (a KdebuginfoError from the hook) or a proxy that is down (thrown before
 * this is asked, src/io/mirror-client.ts) are not this either.
 */
export function isNoAnswer(err: unknown): boolean {
  if (err instanceof KdebuginfoError) return false;
  const e = err as { name?: string; response?: unknown };
  return httpStatusOf(err) === undefined && e.response === undefined && e.name !== 'MaxRedirectsError' && e.name !== 'ReadError';
}

export function httpStatusOf(err: unknown): number | undefined {
  return (err as { response?: { statusCode?: number } }).response?.statusCode;
}

/** A GET whose status is not 2xx, shaped as got's HTTPError is for describeHttpError and httpStatusOf. */
class HttpStatusError extends Error {
  readonly response: { statusCode: number; headers: IncomingMessage['headers'] };

  constructor(statusCode: number, headers: IncomingMessage['headers']) {
    super(`HTTP ${statusCode}`);
    this.name = 'HttpStatusError';
    this.response = { statusCode, headers };
  }
}

const RETRIED_STATUS = new Set([408, 429, 500, 502, 503, 504, 521, 522, 524]);
const RETRIED_CODES = new Set(['ETIMEDOUT', 'ECONNRESET', 'EADDRINUSE', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'ENETUNREACH', 'EAI_AGAIN']);

export interface OpenedBody {
  /** The body; errors (socket, idle timeout, Ctrl-C) are emitted on it and end any read. */
  body: GotRequest;
  /** The final URL, after redirects. */
  url: string;
  headers: IncomingMessage['headers'];
}

/**
 * GET `url` as a stream, settled once a 2xx status arrives; nothing of the body is read yet.
 * A status that is not 2xx is never read: got, asked to throw on it, reads the whole error
 * body into memory first (got/dist/source/core/index.js `_beforeError` -> `_setRawBody`), so an
 * endless 503 would take every byte of memory. So got is told not to throw, the body is dropped
 * here, and the retries got would have made (connection errors before the status; 408, 429 and
 * 5xx) are made here, as many as the client's `retries`, with its backoff, Retry-After up to
 * 60 s; the wait ends at once when `signal` aborts. The body is never decompressed
 * (`decompress: false`, so no Accept-Encoding is sent): what arrives is what is counted against
 * a limit, and a `.gz` file is gunzipped by the caller, whatever its Content-Encoding says.
 */
export async function openGet(http: Got, url: string, opts: { signal?: AbortSignal | undefined; headers?: Record<string, string> } = {}): Promise<OpenedBody> {
  const retries = http.defaults.options.retry.limit ?? 0;
  for (let attempt = 0; ; attempt++) {
    let failure: unknown;
    let retryAfterMs: number | undefined;
    let isRetried = false;
    let isAnswer = true;
    try {
      const opened = await responseOf(
        http.stream(url, {
          throwHttpErrors: false,
          decompress: false,
          retry: { limit: 0 },
          ...(opts.headers ? { headers: opts.headers } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        }),
      );
      const status = opened.statusCode;
      if (status >= 200 && status < 300) return { body: opened.body, url: opened.url, headers: opened.headers };
      opened.body.destroy();
      failure = new HttpStatusError(status, opened.headers);
      isRetried = RETRIED_STATUS.has(status);
      retryAfterMs = retryAfterOf(opened.headers['retry-after']);
    } catch (err) {
      failure = err;
      isAnswer = !isNoAnswer(err);
      isRetried = RETRIED_CODES.has(String((err as { code?: unknown }).code));
    }
    if (!isRetried || opts.signal?.aborted || attempt >= retries) throw failure;
    const backoff = backoffMs(attempt, isAnswer ? 1000 : (noAnswerDelays.get(http) ?? 1000));
    if (retryAfterMs !== undefined && retryAfterMs > 60_000) throw failure;
    await sleep(retryAfterMs ?? backoff, undefined, opts.signal ? { signal: opts.signal } : undefined);
  }
}

/** Retry-After as ms: seconds, or an HTTP date. */
function retryAfterOf(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The status and headers of a got stream. Its errors always have a listener: none of them can crash the process. */
function responseOf(body: GotRequest): Promise<{ body: GotRequest; statusCode: number; url: string; headers: IncomingMessage['headers'] }> {
  body.on('error', () => {
    // Kept for the life of the stream: an error after the response (a reset, the idle timeout)
    // is seen by whoever reads the body; without any listener Node would throw it.
  });
  return new Promise((resolve, reject) => {
    const onError = (err: unknown) => {
      body.off('response', onResponse);
      reject(err);
    };
    const onResponse = (res: IncomingMessage & { url?: string }) => {
      body.off('error', onError);
      resolve({ body, statusCode: res.statusCode ?? 0, url: res.url ?? body.requestUrl?.toString() ?? '', headers: res.headers });
    };
    body.once('error', onError);
    body.once('response', onResponse);
  });
}

/** The first byte of a bounded body over `max`: names what was over the limit. */
export class BodyLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BodyLimitError';
  }
}

/** Content-Length already over `max`: fail before reading a byte. */
export function refuseDeclaredOver(opened: OpenedBody, max: number, what: string): void {
  const declared = Number(opened.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    opened.body.destroy();
    throw new BodyLimitError(`${what} is ${formatBytes(declared)}, over the ${formatBytes(max)} limit`);
  }
}

/**
 * Read a whole body, failing with BodyLimitError past `max` bytes (at once when Content-Length
 * says so). For small documents (repomd.xml); large ones are streamed.
 */
export async function readBounded(opened: OpenedBody, max: number, what: string): Promise<Buffer> {
  refuseDeclaredOver(opened, max, what);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of opened.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > max) throw new BodyLimitError(`${what} is over the ${formatBytes(max)} limit`);
      chunks.push(chunk);
    }
  } finally {
    opened.body.destroy();
  }
  return Buffer.concat(chunks);
}
