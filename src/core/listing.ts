import { isSafeFileName } from './file-name.js';

/**
 * File names linked from a directory listing page. Any HTML with hrefs will do: Apache's
 * autoindex, nginx's, lighttpd's, Artifactory's. Only plain file names in that directory are
 * kept (no `../`, no sub-paths, no query links such as Apache's `?C=N;O=D` sort links), and only
 * names that are safe to use as a file name.
 */
export function parseListing(html: string, pageUrl: string): string[] {
  const parser = new ListingParser(pageUrl);
  parser.write(html);
  return parser.close();
}

/** Longer than this, a tag is no link we could use (a name is at most 255 characters): it is skipped, not kept. */
const MAX_TAG_CHARS = 64 * 1024;

/**
 * parseListing for a page that arrives in chunks, so a page is never held whole: each chunk is
 * searched up to its last `<` (an href lives inside one tag) and only the rest, one unfinished
 * tag, waits for the next chunk. `keep` picks the names worth remembering (the resolver keeps only
 * those of the package it looks for), so memory follows the answer, not the page.
 */
export class ListingParser {
  private readonly names = new Set<string>();
  private readonly page: URL;
  private readonly dir: string;
  private carry = '';
  /** File links seen, kept or not. */
  links = 0;

  constructor(
    pageUrl: string,
    private readonly keep: (name: string) => boolean = () => true,
  ) {
    this.page = new URL(pageUrl);
    this.dir = this.page.pathname.endsWith('/') ? this.page.pathname : `${this.page.pathname}/`;
  }

  write(chunk: string): void {
    const s = this.carry + chunk;
    const cut = s.lastIndexOf('<');
    if (cut <= 0) {
      this.carry = s.length > MAX_TAG_CHARS ? '' : s;
      return;
    }
    this.scan(s.slice(0, cut));
    const rest = s.slice(cut);
    this.carry = rest.length > MAX_TAG_CHARS ? '' : rest;
  }

  /** The names, in page order. */
  close(): string[] {
    this.scan(this.carry);
    this.carry = '';
    return [...this.names];
  }

  private scan(html: string): void {
    for (const m of html.matchAll(HREF)) {
      const name = this.nameOf(decodeEntities(m[1] ?? m[2] ?? m[3] ?? ''));
      if (name === undefined) continue;
      this.links++;
      if (this.keep(name)) this.names.add(name);
    }
  }

  private nameOf(raw: string): string | undefined {
    if (!raw || raw.startsWith('?') || raw.startsWith('#')) return undefined;
    let u: URL;
    try {
      u = new URL(raw, this.page);
    } catch {
      return undefined;
    }
    if (u.origin !== this.page.origin || u.search) return undefined;
    if (!u.pathname.startsWith(this.dir)) return undefined;
    let name: string;
    try {
      name = decodeURIComponent(u.pathname.slice(this.dir.length));
    } catch {
      return undefined;
    }
    return isSafeFileName(name) ? name : undefined;
  }
}

const HREF = /href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;

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
