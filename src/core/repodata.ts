import { SaxesParser } from 'saxes';
import { formatBytes } from './format.js';

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
  /** Bytes of the file as sent (`<size>`). */
  size: number | undefined;
  /** Bytes once decompressed (`<open-size>`). */
  openSize: number | undefined;
}

/** Parse repomd.xml (small: the caller caps it) and return the `primary` data entry. */
export function parseRepomd(xml: string): RepomdData | undefined {
  const p = new SaxesParser();
  let inPrimary = false;
  let textOf: 'checksum' | 'size' | 'open-size' | undefined;
  let text = '';
  let checksumType = '';
  let href: string | undefined;
  let checksum: RepomdData['checksum'];
  let size: number | undefined;
  let openSize: number | undefined;
  let result: RepomdData | undefined;
  p.on('opentag', (t) => {
    const a = t.attributes as Record<string, string>;
    if (t.name === 'data') {
      inPrimary = a.type === 'primary';
      return;
    }
    if (!inPrimary) return;
    if (t.name === 'location') href = a.href;
    if (t.name === 'checksum' || t.name === 'size' || t.name === 'open-size') {
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
    if (t.name === 'size' && textOf === 'size') size = byteCount(text);
    if (t.name === 'open-size' && textOf === 'open-size') openSize = byteCount(text);
    textOf = undefined;
    if (t.name === 'data') {
      if (href) result = { href, checksum, size, openSize };
      inPrimary = false;
    }
  });
  p.write(xml).close();
  return result;
}

/** A `<size>` as a whole number of bytes; anything else is as good as absent. */
function byteCount(text: string): number | undefined {
  const t = text.trim();
  return /^\d{1,15}$/.test(t) ? Number(t) : undefined;
}

/**
 * A streaming scanner of primary.xml: fed text chunks, it keeps only the packages `wants`
 * accepts, so memory stays flat however large the repo is (a CentOS 7 debuginfo tree's primary
 * lists tens of thousands of packages). It cuts the stream at `</package>` and reads each
 * package's `<name>` with a plain string search; only the packages it wants go through the XML
 * parser. A full XML parse of every package was 3x slower than `dnf repoquery` on 50,000
 * packages (bench/resolve). A literal `</package>` cannot occur inside a well-formed package
 * element (text would carry `&lt;`), and the caller checks the whole file's checksum.
 *
 * The work per chunk follows the chunk: each search starts where the last one ended (less the
 * length of the tag it looks for, which may straddle two chunks), and an element that spans
 * chunks is kept as a list of pieces joined once at its end. Outside an element nothing is kept
 * but the few characters that may begin `<package`. An element longer than `maxElementChars`
 * throws, so one endless `<package>` cannot take the memory.
 */
export class PrimaryScanner {
  readonly matches: PrimaryEntry[] = [];
  packagesSeen = 0;
  /** Inside a `<package>` element whose end has not been seen yet. */
  private inside = false;
  /** The current element's text before `carry`, in pieces. */
  private pieces: string[] = [];
  private piecesLength = 0;
  /** Unscanned text put before the next chunk: a possible start of `<package` or `</package>`. */
  private carry = '';

  constructor(
    private readonly wants: (name: string, arch: string) => boolean,
    private readonly maxElementChars: number = Number.POSITIVE_INFINITY,
  ) {}

  write(chunk: string): void {
    const s = this.carry + chunk;
    this.carry = '';
    let pos = 0;
    for (;;) {
      if (!this.inside) {
        const open = findOpenTag(s, pos);
        if (open < 0) {
          // `<package` may be cut at the end: keep what could be its start (and the character after it).
          this.carry = s.slice(Math.max(pos, s.length - OPEN.length));
          return;
        }
        this.inside = true;
        pos = open;
      }
      const end = s.indexOf(CLOSE, pos);
      if (end < 0) {
        const keep = Math.max(pos, s.length - (CLOSE.length - 1));
        if (keep > pos) {
          this.pieces.push(s.slice(pos, keep));
          this.piecesLength += keep - pos;
        }
        this.carry = s.slice(keep);
        if (this.piecesLength + this.carry.length > this.maxElementChars) throw this.tooLarge();
        return;
      }
      const stop = end + CLOSE.length;
      const block = this.pieces.length > 0 ? this.pieces.join('') + s.slice(pos, stop) : s.slice(pos, stop);
      this.pieces = [];
      this.piecesLength = 0;
      this.inside = false;
      pos = stop;
      if (block.length > this.maxElementChars) throw this.tooLarge();
      this.packagesSeen++;
      const name = between(block, '<name>', '</name>');
      const arch = between(block, '<arch>', '</arch>');
      if (name === undefined || arch === undefined || !this.wants(decodeXml(name), decodeXml(arch))) continue;
      const entry = parsePackageElement(block);
      if (entry) this.matches.push(entry);
    }
  }

  close(): void {
    if (this.inside) throw new Error('primary.xml ends inside a <package> element');
    this.carry = '';
  }

  private tooLarge(): Error {
    return new Error(`a <package> element is longer than the ${formatBytes(this.maxElementChars)} limit`);
  }
}

const OPEN = '<package';
const CLOSE = '</package>';

/** The next `<package` open tag from `from` (not `<packager>`, which every package has). */
function findOpenTag(s: string, from: number): number {
  let i = s.indexOf(OPEN, from);
  while (i >= 0) {
    const c = s[i + OPEN.length];
    if (c === ' ' || c === '>' || c === '\n' || c === '\t' || c === '\r') return i;
    // At the very end the next character is unknown: the caller keeps the tail and looks again.
    if (c === undefined) return -1;
    i = s.indexOf(OPEN, i + 1);
  }
  return -1;
}

function between(s: string, open: string, close: string): string | undefined {
  const a = s.indexOf(open);
  if (a < 0) return undefined;
  const b = s.indexOf(close, a + open.length);
  return b < 0 ? undefined : s.slice(a + open.length, b).trim();
}

function decodeXml(s: string): string {
  return s.includes('&')
    ? s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&')
    : s;
}

/** Parse one `<package>...</package>` element with a real XML parser. */
export function parsePackageElement(xml: string): PrimaryEntry | undefined {
  const p = new SaxesParser();
  const cur: Partial<PrimaryEntry> & { requires: PrimaryEntry['requires'] } = { requires: [] };
  let field: 'name' | 'arch' | 'checksum' | undefined;
  let text = '';
  let inFormat = false;
  let inRequires = false;
  p.on('opentag', (t) => {
    const a = t.attributes as Record<string, string>;
    switch (t.name) {
      case 'name':
      case 'arch':
        if (!inFormat) {
          field = t.name;
          text = '';
        }
        break;
      case 'checksum':
        field = 'checksum';
        text = '';
        cur.checksum = { type: a.type ?? '', value: '' };
        break;
      case 'version':
        cur.epoch = a.epoch ?? '0';
        cur.version = a.ver ?? '';
        cur.release = a.rel ?? '';
        break;
      case 'size':
        if (a.package !== undefined) cur.size = Number(a.package);
        break;
      case 'location':
        cur.href = a.href ?? '';
        cur.base = a['xml:base'];
        break;
      case 'format':
        inFormat = true;
        break;
      case 'rpm:requires':
        inRequires = true;
        break;
      case 'rpm:entry':
        if (inRequires && a.name) cur.requires.push({ name: a.name, flags: a.flags, epoch: a.epoch, version: a.ver, release: a.rel });
        break;
    }
  });
  p.on('text', (t) => {
    if (field) text += t;
  });
  p.on('closetag', (t) => {
    if (field === t.name) {
      if (field === 'checksum' && cur.checksum) cur.checksum.value = text.trim();
      else if (field === 'name' || field === 'arch') cur[field] = text.trim();
      field = undefined;
    }
    if (t.name === 'rpm:requires') inRequires = false;
    if (t.name === 'format') inFormat = false;
  });
  p.write(xml).close();
  if (!cur.name || !cur.arch || cur.href === undefined || cur.version === undefined) return undefined;
  return {
    name: cur.name,
    arch: cur.arch,
    epoch: cur.epoch ?? '0',
    version: cur.version,
    release: cur.release ?? '',
    href: cur.href,
    base: cur.base,
    size: cur.size,
    checksum: cur.checksum,
    requires: cur.requires,
  };
}
