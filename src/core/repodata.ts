import { SaxesParser } from 'saxes';

/** One `<package>` of primary.xml, reduced to what resolution needs. */
export interface PrimaryEntry {
  name: string;
  arch: string;
  epoch: string;
  version: string;
  release: string;
  /** `location href`, relative to the repo root (validated by the caller). */
  href: string;
  /** `location xml:base`, when the repo points elsewhere for its files. */
  base: string | undefined;
  size: number | undefined;
  checksum: { type: string; value: string } | undefined;
  requires: Array<{ name: string; flags?: string; epoch?: string; version?: string; release?: string }>;
}

export interface RepomdData {
  /** e.g. `repodata/abc-primary.xml.gz` */
  href: string;
  checksum: { type: string; value: string } | undefined;
  size: number | undefined;
}

/** Parse repomd.xml (small) and return the `primary` data entry. */
export function parseRepomd(xml: string): RepomdData | undefined {
  const p = new SaxesParser();
  let inPrimary = false;
  let textOf: 'checksum' | 'size' | undefined;
  let text = '';
  let checksumType = '';
  let href: string | undefined;
  let checksum: RepomdData['checksum'];
  let size: number | undefined;
  let result: RepomdData | undefined;
  p.on('opentag', (t) => {
    const a = t.attributes as Record<string, string>;
    if (t.name === 'data') {
      inPrimary = a.type === 'primary';
      return;
    }
    if (!inPrimary) return;
    if (t.name === 'location') href = a.href;
    if (t.name === 'checksum' || t.name === 'size') {
      textOf = t.name;
      text = '';
      if (t.name === 'checksum') checksumType = a.type ?? '';
    }
  });
  p.on('text', (t) => {
    if (textOf) text += t;
  });
  p.on('closetag', (t) => {
    if (!inPrimary) return;
    if (t.name === 'checksum' && textOf === 'checksum') checksum = { type: checksumType, value: text.trim() };
    if (t.name === 'size' && textOf === 'size') size = Number(text.trim());
    textOf = undefined;
    if (t.name === 'data') {
      if (href) result = { href, checksum, size };
      inPrimary = false;
    }
  });
  p.write(xml).close();
  return result;
}

/**
 * A streaming scanner of primary.xml: fed text chunks, it keeps only the packages `wants`
 * accepts, so memory stays flat however large the repo is (a CentOS 7 debuginfo tree's primary
 * lists tens of thousands of packages). `isDone` lets the caller stop reading early.
 */
export class PrimaryScanner {
  private readonly parser = new SaxesParser();
  private cur: Partial<PrimaryEntry> & { requires: PrimaryEntry['requires'] } = { requires: [] };
  private field: 'name' | 'arch' | 'checksum' | undefined;
  private text = '';
  private inRequires = false;
  private depth = 0;
  readonly matches: PrimaryEntry[] = [];
  packagesSeen = 0;

  constructor(private readonly wants: (name: string, arch: string) => boolean) {
    const p = this.parser;
    p.on('opentag', (t) => {
      const a = t.attributes as Record<string, string>;
      switch (t.name) {
        case 'package':
          this.depth++;
          this.cur = { requires: [] };
          break;
        case 'name':
        case 'arch':
          if (this.depth === 1 && !this.inRequires) {
            this.field = t.name;
            this.text = '';
          }
          break;
        case 'checksum':
          this.field = 'checksum';
          this.text = '';
          this.cur.checksum = { type: a.type ?? '', value: '' };
          break;
        case 'version':
          this.cur.epoch = a.epoch ?? '0';
          this.cur.version = a.ver ?? '';
          this.cur.release = a.rel ?? '';
          break;
        case 'size':
          if (a.package !== undefined) this.cur.size = Number(a.package);
          break;
        case 'location':
          this.cur.href = a.href ?? '';
          this.cur.base = a['xml:base'];
          break;
        case 'rpm:requires':
          this.inRequires = true;
          break;
        case 'rpm:entry':
          if (this.inRequires && a.name) {
            this.cur.requires.push({ name: a.name, flags: a.flags, epoch: a.epoch, version: a.ver, release: a.rel });
          }
          break;
      }
    });
    p.on('text', (text) => {
      if (this.field) this.text += text;
    });
    p.on('closetag', (t) => {
      switch (t.name) {
        case 'name':
        case 'arch':
          if (this.field === t.name) this.cur[t.name] = this.text.trim();
          this.field = undefined;
          break;
        case 'checksum':
          if (this.cur.checksum) this.cur.checksum.value = this.text.trim();
          this.field = undefined;
          break;
        case 'rpm:requires':
          this.inRequires = false;
          break;
        case 'package': {
          this.depth--;
          this.packagesSeen++;
          const c = this.cur;
          if (c.name && c.arch && c.href !== undefined && c.version !== undefined && this.wants(c.name, c.arch)) {
            this.matches.push({
              name: c.name,
              arch: c.arch,
              epoch: c.epoch ?? '0',
              version: c.version,
              release: c.release ?? '',
              href: c.href,
              base: c.base,
              size: c.size,
              checksum: c.checksum,
              requires: c.requires,
            });
          }
          this.cur = { requires: [] };
          break;
        }
      }
    });
  }

  write(chunk: string): void {
    this.parser.write(chunk);
  }

  close(): void {
    this.parser.close();
  }
}
