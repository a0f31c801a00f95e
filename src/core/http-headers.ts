/** Pure readers of the HTTP response headers the download engine acts on. */

/** The first value of a header (Node gives `set-cookie`-style headers as arrays), or null. */
export function firstHeader(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name];
  if (v === undefined) return null;
  return Array.isArray(v) ? (v[0] ?? null) : v;
}

/** `bytes START-END/TOTAL` -> numbers; TOTAL may be `*`. */
export function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(v?.trim() ?? '');
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now. */
export function parseRetryAfter(v: string | null, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const when = Date.parse(t);
  return Number.isNaN(when) ? undefined : Math.max(0, when - now);
}
