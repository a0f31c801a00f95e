import { isSafeFileName } from './file-name.js';

/**
 * File names linked from a directory listing page. Any HTML with hrefs will do: Apache's
 * autoindex, nginx's, lighttpd's, Artifactory's. Only plain file names in that directory are
 * kept (no `../`, no sub-paths, no query links such as Apache's `?C=N;O=D` sort links), and only
 * names that are safe to use as a file name.
 */
export function parseListing(html: string, pageUrl: string): string[] {
  const names = new Set<string>();
  const re = /href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;
  const page = new URL(pageUrl);
  for (const m of html.matchAll(re)) {
    const raw = decodeEntities(m[1] ?? m[2] ?? m[3] ?? '');
    if (!raw || raw.startsWith('?') || raw.startsWith('#')) continue;
    let u: URL;
    try {
      u = new URL(raw, page);
    } catch {
      continue;
    }
    if (u.origin !== page.origin || u.search) continue;
    const dir = page.pathname.endsWith('/') ? page.pathname : `${page.pathname}/`;
    if (!u.pathname.startsWith(dir)) continue;
    let name: string;
    try {
      name = decodeURIComponent(u.pathname.slice(dir.length));
    } catch {
      continue;
    }
    if (isSafeFileName(name)) names.add(name);
  }
  return [...names];
}

function decodeEntities(s: string): string {
  return s
    .replace(/&amp;/g, '&')
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/**
 * A repodata `location href` turned into a URL under the repo root, or undefined when it could
 * escape it (absolute, `..`, a scheme, backslashes): nothing from a server is used as a path
 * without this check.
 */
export function safeRepoUrl(repoRoot: string, href: string): string | undefined {
  if (!href || href.startsWith('/') || href.includes('\\') || /^[a-z][a-z0-9+.-]*:/i.test(href)) return undefined;
  const parts = href.split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '')) return undefined;
  if (!parts.every(isSafeFileName)) return undefined;
  const root = repoRoot.endsWith('/') ? repoRoot : `${repoRoot}/`;
  const url = new URL(href, root);
  return url.href.startsWith(root) ? url.href : undefined;
}
