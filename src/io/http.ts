import type { Got } from 'got';
import { KdebuginfoError } from '../errors.js';

export interface HttpSettings {
  userAgent: string;
  /** Connect timeout, ms. */
  connectTimeoutMs?: number;
  /** Idle (no bytes) timeout, ms. Never a total timeout: a 1 GB file may take an hour. */
  idleTimeoutMs?: number;
  /** Retries for idempotent requests on connection errors, 5xx and 429. */
  retries?: number;
}

/**
 * The one HTTP client: got, with our User-Agent (some mirrors answer 406 without one),
 * connect and idle timeouts, retries with backoff, and no https -> http redirect downgrades.
 * got is imported lazily so commands without network pay nothing for it at start-up.
 */
export async function createHttpClient(s: HttpSettings): Promise<Got> {
  const { default: got } = await import('got');
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

/** A short, user-facing reason for a failed request: `HTTP 404`, `ECONNREFUSED`, `timeout`. */
export function describeHttpError(err: unknown): string {
  const e = err as { response?: { statusCode?: number }; code?: string; message?: string; name?: string };
  if (e.response?.statusCode) return `HTTP ${e.response.statusCode}`;
  if (e.name === 'TimeoutError') return 'timed out';
  if (e.code) return e.code;
  return e.message ?? String(err);
}

export function httpStatusOf(err: unknown): number | undefined {
  return (err as { response?: { statusCode?: number } }).response?.statusCode;
}
