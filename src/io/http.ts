import type { BeforeRequestHook, Got } from 'got';
import { KdebuginfoError } from '../errors.js';
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
}

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
  return got.extend({
    headers: { 'user-agent': s.userAgent },
    timeout: { connect: s.connectTimeoutMs ?? 15_000, socket: s.idleTimeoutMs ?? 30_000 },
    retry: {
      limit: s.retries ?? 2,
      methods: ['GET', 'HEAD'],
      statusCodes: [408, 429, 500, 502, 503, 504, 521, 522, 524],
      // Backoff: 1s, 2s, 4s... capped; Retry-After is honoured up to retry.maxRetryAfter.
      calculateDelay: ({ attemptCount, computedValue }) => (computedValue === 0 ? 0 : Math.min(1000 * 2 ** (attemptCount - 1), 10_000)),
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
  if (e.response?.statusCode) return `HTTP ${e.response.statusCode}`;
  if (e.name === 'TimeoutError') return 'timed out';
  if (e.code) return e.code;
  return e.message ?? String(err);
}

export function httpStatusOf(err: unknown): number | undefined {
  return (err as { response?: { statusCode?: number } }).response?.statusCode;
}
