import type { Agents, RequestFunction } from 'got';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ExitCode, KdebuginfoError } from '../errors.js';
import { maskUrlCredentials } from '../core/credentials.js';

type Env = Record<string, string | undefined>;

const PROXY_VARIABLES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'] as const;

/** Does the environment name any proxy? When not, no request needs routing and hpagent is never loaded. */
export function hasProxyVariable(env: Env): boolean {
  return PROXY_VARIABLES.some((n) => (env[n] ?? '').trim() !== '');
}

/**
 * Proxies from the environment, as curl reads them: `https_proxy`/`HTTPS_PROXY` for https URLs,
 * `http_proxy`/`HTTP_PROXY` for http URLs, and `no_proxy`/`NO_PROXY` (comma or space separated
 * host names, `.domain` or `*.domain` suffixes, `host:port`, `[v6]`, or `*`) to bypass them. The
 * proxy itself may be http:// or https://. hpagent is loaded only when a proxy is set.
 */
export function proxyFor(url: string, env: Env): string | undefined {
  return pickProxy(url, env)?.proxy;
}

/** The proxy for `url` and the variable that named it. */
function pickProxy(url: string, env: Env): { proxy: string; variable: string } | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const pick = (...names: string[]) => names.find((n) => env[n] !== undefined && env[n].trim() !== '');
  const variable = u.protocol === 'https:' ? pick('https_proxy', 'HTTPS_PROXY') : u.protocol === 'http:' ? pick('http_proxy', 'HTTP_PROXY') : undefined;
  if (!variable) return undefined;
  const proxy = env[variable] as string;
  const noProxyVariable = pick('no_proxy', 'NO_PROXY');
  const noProxy = noProxyVariable ? (env[noProxyVariable] as string) : '';
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  if (bypassesProxy(u.hostname, port, noProxy)) return undefined;
  return { proxy: /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`, variable };
}

export function bypassesProxy(hostname: string, port: string, noProxy: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let name = entry;
    let entryPort: string | undefined;
    if (entry.startsWith('[')) {
      // [v6] or [v6]:port
      const end = entry.indexOf(']');
      name = entry.slice(1, end < 0 ? undefined : end);
      const rest = end < 0 ? '' : entry.slice(end + 1);
      if (rest.startsWith(':')) entryPort = rest.slice(1);
    } else if (entry.split(':').length === 2) {
      // host:port (a bare IPv6 address has several colons and no port)
      [name, entryPort] = entry.split(':') as [string, string];
    }
    if (entryPort && entryPort !== port) continue;
    const suffix = name.replace(/^\*?\./, '');
    if (host === suffix || host.endsWith(`.${suffix}`)) return true;
  }
  return false;
}

/** Per-request got options that send a request through the proxy the environment names. */
export type ProxyOptions = { agent: Agents } | { request: RequestFunction };

/** Where one request goes: the proxy (credentials hidden), the variable that named it, and how. */
export interface ProxyRoute {
  proxy: string;
  variable: string;
  how: 'absolute-form' | 'CONNECT';
  options: ProxyOptions;
}

/**
 * The route for each URL: undefined for a direct request. One hpagent agent per proxy (kept
 * alive, so the CONNECTs of one run share sockets); hpagent is imported on the first https URL
 * that goes through a proxy.
 */
export function createProxyAgents(env: Env, debug: (line: string) => void = () => {}): (url: string) => Promise<ProxyRoute | undefined> {
  const agents = new Map<string, Agents>();
  const requests = new Map<string, RequestFunction>();
  return async (url) => {
    const picked = pickProxy(url, env);
    if (!picked) return undefined;
    const { proxy, variable } = picked;
    const shown = maskUrlCredentials(proxy);
    if (url.startsWith('http:')) {
      debug(`via proxy ${shown} (absolute-form)`);
      let request = requests.get(proxy);
      if (!request) {
        request = absoluteFormRequest(new URL(proxy));
        requests.set(proxy, request);
      }
      return { proxy: shown, variable, how: 'absolute-form', options: { request } };
    }
    let agent = agents.get(proxy);
    if (!agent) {
      const { HttpsProxyAgent } = await import('hpagent');
      agent = { https: new HttpsProxyAgent({ proxy, keepAlive: true, keepAliveMsecs: 1000, maxSockets: 16, maxFreeSockets: 4 }) };
      agents.set(proxy, agent);
    }
    debug(`via proxy ${shown} (CONNECT)`);
    return { proxy: shown, variable, how: 'CONNECT', options: { agent } };
  };
}

/**
 * An http:// URL through a proxy the way curl sends it: `GET http://host/path` to the proxy
 * (RFC 9112 §3.2.2 absolute-form). hpagent's HttpProxyAgent would tunnel with CONNECT instead,
 * which Squid's default configuration refuses for ports other than 443.
 */
export function absoluteFormRequest(proxy: URL): RequestFunction {
  return (url, options, callback) => {
    // got always passes headers as an object (never the raw-array form).
    const headers: OutgoingHttpHeaders = { ...(options.headers as OutgoingHttpHeaders | undefined), host: url.host };
    if (proxy.username || proxy.password) {
      const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(cred).toString('base64')}`;
    }
    const { agent: _agent, ...rest } = options;
    const viaTls = proxy.protocol === 'https:';
    const req = (viaTls ? httpsRequest : httpRequest)(
      {
        ...rest,
        protocol: proxy.protocol,
        hostname: proxy.hostname.replace(/^\[|\]$/g, ''),
        port: proxy.port || (viaTls ? 443 : 80),
        path: url.href,
        headers,
        setHost: false,
      },
      callback,
    );
    return req;
  };
}

/** What a request that failed says about its proxy (read from the error got raised). */
export interface ProxyFailure {
  /** `proxy http://proxy.corp:3128 (HTTPS_PROXY) refused the connection (ECONNREFUSED)`. */
  text: string;
  /** The variable that named the proxy, e.g. `HTTPS_PROXY`. */
  variable: string;
  /**
   * The proxy itself cannot be used (refused, unknown name, unreachable, wants credentials):
   * every request through it will fail alike. Otherwise it answered, for this host only (a
   * CONNECT refused with 403 or 502).
   */
  isProxyDown: boolean;
}

/** Where src/io/http.ts notes, in got's per-request `context`, the route a request took. */
export const PROXY_CONTEXT_KEY = 'kdebuginfoProxy';

/** Errors from the socket to the proxy. Through a proxy, the target host is never looked up or dialled here. */
const PROXY_DOWN: Record<string, string> = {
  ECONNREFUSED: 'refused the connection',
  ENOTFOUND: 'has a host name that does not resolve',
  EAI_AGAIN: 'has a host name that does not resolve (yet)',
  EHOSTUNREACH: 'is unreachable',
  ENETUNREACH: 'is unreachable',
};

/** Undefined when the request did not go through a proxy, or failed for a reason that is not the proxy's. */
export function proxyFailureOf(err: unknown): ProxyFailure | undefined {
  const e = err as { code?: string; message?: string; response?: { statusCode?: number }; options?: { context?: Record<string, unknown> } };
  const route = e.options?.context?.[PROXY_CONTEXT_KEY] as Pick<ProxyRoute, 'proxy' | 'variable'> | undefined;
  if (!route) return undefined;
  const who = `proxy ${route.proxy} (${route.variable})`;
  const down = e.code === undefined ? undefined : PROXY_DOWN[e.code];
  if (down) return { text: `${who} ${down} (${e.code})`, variable: route.variable, isProxyDown: true };
  // hpagent's words when the proxy answers CONNECT with anything but 200.
  const connect = /^Bad response: (\d{3})$/.exec(e.message ?? '');
  if (connect?.[1] === '407' || e.response?.statusCode === 407) {
    const what = route.proxy.includes('***@') ? 'refused its credentials (HTTP 407)' : 'wants credentials (HTTP 407): give them as http://user:password@host:port';
    return { text: `${who} ${what}`, variable: route.variable, isProxyDown: true };
  }
  if (connect) return { text: `${who} answered CONNECT with HTTP ${connect[1]}`, variable: route.variable, isProxyDown: false };
  return undefined;
}

/** A request could not go through the proxy at all: stop, there is no point trying the other mirrors through it. */
export class ProxyUnreachableError extends KdebuginfoError {
  /** The short form, for a list of per-URL reasons (doctor's mirror check). */
  readonly reason: string;

  constructor(failure: ProxyFailure, url: string, cause: unknown) {
    super(`${failure.text}, fetching ${maskUrlCredentials(url)}`, {
      exitCode: ExitCode.network,
      hint: `check ${failure.variable}, or list the mirror's host in NO_PROXY to reach it directly`,
      cause,
    });
    this.name = 'ProxyUnreachableError';
    this.reason = failure.text;
  }
}
