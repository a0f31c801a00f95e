import { UsageError } from '../errors.js';

/** A URL prefix rewrite: corporate proxies (Artifactory, Nexus, Pulp) and the tests need it. */
export interface MirrorRewrite {
  from: string;
  to: string;
}

/**
 * Parse `FROM=TO` pairs from `--mirror` (repeatable) or `KDEBUGINFO_MIRROR` (comma separated).
 * `source` names where the value came from, for the error.
 */
export function parseMirrorRewrites(values: readonly string[], source: string): MirrorRewrite[] {
  return values.map((v) => {
    const i = v.indexOf('=');
    const from = i > 0 ? v.slice(0, i).trim() : '';
    const to = i > 0 ? v.slice(i + 1).trim() : '';
    if (!isHttpUrl(from) || !isHttpUrl(to)) {
      throw new UsageError(
        `${source} "${v}" is not FROM=TO with two http(s) URL prefixes (e.g. https://vault.centos.org=https://artifactory.example.com/centos-vault)`,
      );
    }
    return { from, to };
  });
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Rewrite a URL by the longest matching FROM prefix (at a path boundary). */
export function rewriteUrl(url: string, rewrites: readonly MirrorRewrite[]): string {
  let best: MirrorRewrite | undefined;
  for (const r of rewrites) {
    const from = r.from.replace(/\/+$/, '');
    const boundary = url.length === from.length || url[from.length] === '/';
    if (url.startsWith(from) && boundary && (!best || from.length > best.from.replace(/\/+$/, '').length)) best = r;
  }
  if (!best) return url;
  const from = best.from.replace(/\/+$/, '');
  return best.to.replace(/\/+$/, '') + url.slice(from.length);
}
