/**
 * ELF note parsing, enough to read GNU build-ids: from a whole ELF file (a vmlinux, a .ko, a
 * .debug file), from pieces of one read by src/io/elf.ts (a debuginfo vmlinux is several GB;
 * only its headers and note sections are needed), and from a bare note stream such as
 * /sys/kernel/notes.
 *
 * Why build-ids: the running kernel's build-id is in /sys/kernel/notes and the debuginfo vmlinux
 * carries the same one in .note.gnu.build-id (docs/build-ids-and-debuginfod.md), so "the debuginfo matches the
 * running kernel" can be proven rather than inferred from package names.
 *
 * Layouts follow the System V gABI (ELF header, section and program headers, note entries);
 * the note walk and its alignment rule mirror binutils readelf (process_notes_at /
 * ELF_NOTE_DESC_OFFSET), which the tests use as the independent reference.
 */
import { KdebuginfoError } from '../errors.js';

export type Endian = 'little' | 'big';

export interface ElfNote {
  /** The note's owner, NUL stripped: `GNU`, `Linux`, `Xen`, ... */
  name: string;
  type: number;
  desc: Buffer;
  /** Where it came from: a section name (`.note.gnu.build-id`), or `PT_NOTE@0x<offset>`. */
  origin?: string;
}

/** NT_GNU_BUILD_ID, owner `GNU` (elf.h). */
export const NT_GNU_BUILD_ID = 3;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const PT_NOTE = 4;

/** The largest ELF header (64-bit); reading this many bytes always covers e_shstrndx. */
export const ELF_HEADER_MAX_SIZE = 64;

/** Input that is not the ELF (or note stream) it should be. Names the file in its message. */
export class MalformedElfError extends KdebuginfoError {
  readonly source: string;
  constructor(source: string, problem: string) {
    super(`${source}: not a valid ELF file: ${problem}`, {
      hint: 'Is the file complete? A truncated download or a partly unpacked package gives this.',
    });
    this.name = 'MalformedElfError';
    this.source = source;
  }
}

export interface ElfHeader {
  bits: 32 | 64;
  endian: Endian;
  /** e_type: 1 REL, 2 EXEC, 3 DYN, 4 CORE. */
  type: number;
  machine: number;
  phoff: number;
  phentsize: number;
  /** Already resolved when the header alone can tell (not PN_XNUM); see resolveExtendedNumbering. */
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface ElfSection {
  index: number;
  /** Offset of the name in the section-name string table. */
  nameOffset: number;
  /** Filled in by nameSections(). */
  name?: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
}

export interface ElfSegment {
  type: number;
  offset: number;
  filesz: number;
  align: number;
}

/** A byte range of the file holding notes, with the alignment its entries use. */
export interface NoteRegion {
  offset: number;
  size: number;
  align: 4 | 8;
  origin: string;
}

const PN_XNUM = 0xffff;
const SHN_XINDEX = 0xffff;
const SHN_UNDEF = 0;

/** Binary reader that checks every access against the buffer and names the source on failure. */
class Reader {
  constructor(
    readonly buf: Buffer,
    readonly endian: Endian,
    readonly source: string,
  ) {}

  private need(offset: number, size: number, what: string): void {
    if (offset < 0 || offset + size > this.buf.length) {
      throw new MalformedElfError(this.source, `${what} at offset ${offset} runs past the end of the data (${this.buf.length} bytes)`);
    }
  }

  u16(offset: number, what: string): number {
    this.need(offset, 2, what);
    return this.endian === 'little' ? this.buf.readUInt16LE(offset) : this.buf.readUInt16BE(offset);
  }

  u32(offset: number, what: string): number {
    this.need(offset, 4, what);
    return this.endian === 'little' ? this.buf.readUInt32LE(offset) : this.buf.readUInt32BE(offset);
  }

  /** A 64-bit field as a number; offsets and sizes beyond 2^53 cannot be real files. */
  u64(offset: number, what: string): number {
    this.need(offset, 8, what);
    const v = this.endian === 'little' ? this.buf.readBigUInt64LE(offset) : this.buf.readBigUInt64BE(offset);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new MalformedElfError(this.source, `${what} at offset ${offset} is implausibly large (${v})`);
    }
    return Number(v);
  }

  /** A word: 4 bytes in ELF32, 8 in ELF64. */
  word(bits: 32 | 64, offset: number, what: string): number {
    return bits === 64 ? this.u64(offset, what) : this.u32(offset, what);
  }
}

/** Parses the ELF header from the start of a file (at least ELF_HEADER_MAX_SIZE bytes, or the whole file if shorter). */
export function parseElfHeader(buf: Buffer, source = '<buffer>'): ElfHeader {
  if (buf.length < 16 || buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) {
    throw new MalformedElfError(source, 'no ELF magic (\\x7fELF) at the start');
  }
  const cls = buf[4];
  const data = buf[5];
  if (cls !== 1 && cls !== 2) throw new MalformedElfError(source, `unknown ELF class ${String(cls)} (expected 1 or 2)`);
  if (data !== 1 && data !== 2) throw new MalformedElfError(source, `unknown ELF data encoding ${String(data)} (expected 1 or 2)`);
  const bits = cls === 2 ? 64 : 32;
  const endian: Endian = data === 1 ? 'little' : 'big';
  const r = new Reader(buf, endian, source);
  const headerSize = bits === 64 ? 64 : 52;
  if (buf.length < headerSize) {
    throw new MalformedElfError(source, `ELF header truncated (${buf.length} of ${headerSize} bytes)`);
  }
  // Field offsets: gABI "ELF Header", Elf32_Ehdr / Elf64_Ehdr.
  const w = bits === 64 ? 8 : 4;
  const phoffAt = 0x18 + w;
  const shoffAt = phoffAt + w;
  const restAt = shoffAt + w + 4; // after e_flags
  const header: ElfHeader = {
    bits,
    endian,
    type: r.u16(0x10, 'e_type'),
    machine: r.u16(0x12, 'e_machine'),
    phoff: r.word(bits, phoffAt, 'e_phoff'),
    shoff: r.word(bits, shoffAt, 'e_shoff'),
    phentsize: r.u16(restAt + 2, 'e_phentsize'),
    phnum: r.u16(restAt + 4, 'e_phnum'),
    shentsize: r.u16(restAt + 6, 'e_shentsize'),
    shnum: r.u16(restAt + 8, 'e_shnum'),
    shstrndx: r.u16(restAt + 10, 'e_shstrndx'),
  };
  const minSh = bits === 64 ? 64 : 40;
  const minPh = bits === 64 ? 56 : 32;
  if (header.shoff !== 0 && header.shentsize < minSh) {
    throw new MalformedElfError(source, `e_shentsize ${header.shentsize} is smaller than a section header (${minSh})`);
  }
  if (header.phoff !== 0 && header.phnum !== 0 && header.phentsize < minPh) {
    throw new MalformedElfError(source, `e_phentsize ${header.phentsize} is smaller than a program header (${minPh})`);
  }
  return header;
}

/** Does this header need section 0 to know its real counts (gABI extended numbering)? */
export function needsExtendedNumbering(header: ElfHeader): boolean {
  return header.shoff !== 0 && (header.shnum === 0 || header.shstrndx === SHN_XINDEX || header.phnum === PN_XNUM);
}

/**
 * Files with 65280+ sections (or program headers) keep the real counts in section 0's sh_size,
 * sh_link and sh_info (gABI "Extended Section Header Numbering").
 */
export function resolveExtendedNumbering(header: ElfHeader, section0: ElfSection): ElfHeader {
  return {
    ...header,
    shnum: header.shnum === 0 ? section0.size : header.shnum,
    shstrndx: header.shstrndx === SHN_XINDEX ? section0.link : header.shstrndx,
    phnum: header.phnum === PN_XNUM ? section0.info : header.phnum,
  };
}

/** Size in bytes of the section header table. */
export function sectionTableSize(header: ElfHeader): number {
  return header.shoff === 0 ? 0 : header.shnum * header.shentsize;
}

/** Size in bytes of the program header table. */
export function programTableSize(header: ElfHeader): number {
  return header.phoff === 0 ? 0 : header.phnum * header.phentsize;
}

/** Parses `count` section headers from the bytes of the section header table. */
export function parseSectionHeaders(table: Buffer, header: ElfHeader, source = '<buffer>', count = header.shnum): ElfSection[] {
  const r = new Reader(table, header.endian, source);
  const sections: ElfSection[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * header.shentsize;
    const what = `section header ${i}`;
    // Elf32_Shdr: name type flags addr offset size link info addralign entsize (all 4 bytes);
    // Elf64_Shdr: name(4) type(4) flags(8) addr(8) offset(8) size(8) link(4) info(4) addralign(8) entsize(8).
    if (header.bits === 64) {
      sections.push({
        index: i,
        nameOffset: r.u32(at, what),
        type: r.u32(at + 4, what),
        flags: r.u64(at + 8, what),
        offset: r.u64(at + 0x18, what),
        size: r.u64(at + 0x20, what),
        link: r.u32(at + 0x28, what),
        info: r.u32(at + 0x2c, what),
        addralign: r.u64(at + 0x30, what),
      });
    } else {
      sections.push({
        index: i,
        nameOffset: r.u32(at, what),
        type: r.u32(at + 4, what),
        flags: r.u32(at + 8, what),
        offset: r.u32(at + 0x10, what),
        size: r.u32(at + 0x14, what),
        link: r.u32(at + 0x18, what),
        info: r.u32(at + 0x1c, what),
        addralign: r.u32(at + 0x20, what),
      });
    }
  }
  return sections;
}

/** Parses the program header table. */
export function parseProgramHeaders(table: Buffer, header: ElfHeader, source = '<buffer>'): ElfSegment[] {
  const r = new Reader(table, header.endian, source);
  const segments: ElfSegment[] = [];
  for (let i = 0; i < header.phnum; i++) {
    const at = i * header.phentsize;
    const what = `program header ${i}`;
    // Elf32_Phdr: type offset vaddr paddr filesz memsz flags align;
    // Elf64_Phdr: type flags offset vaddr paddr filesz memsz align.
    if (header.bits === 64) {
      segments.push({
        type: r.u32(at, what),
        offset: r.u64(at + 8, what),
        filesz: r.u64(at + 0x20, what),
        align: r.u64(at + 0x30, what),
      });
    } else {
      segments.push({
        type: r.u32(at, what),
        offset: r.u32(at + 4, what),
        filesz: r.u32(at + 0x10, what),
        align: r.u32(at + 0x1c, what),
      });
    }
  }
  return segments;
}

/** The section that holds section names, or undefined when the file has none. */
export function sectionNameTable(header: ElfHeader, sections: ElfSection[]): ElfSection | undefined {
  if (header.shstrndx === SHN_UNDEF) return undefined;
  const s = sections[header.shstrndx];
  return s && s.type !== SHT_NOBITS ? s : undefined;
}

/** Fills in section names from the bytes of the section-name string table. */
export function nameSections(sections: ElfSection[], shstrtab: Buffer): ElfSection[] {
  return sections.map((s) => {
    if (s.nameOffset >= shstrtab.length) return s;
    const end = shstrtab.indexOf(0, s.nameOffset);
    return { ...s, name: shstrtab.toString('latin1', s.nameOffset, end === -1 ? shstrtab.length : end) };
  });
}

/**
 * readelf takes the note alignment from the section/segment: 8 for 8-aligned ones (gABI, used by
 * .note.gnu.property on 64-bit), 4 for everything else including 0 and 1.
 */
function noteAlign(align: number): 4 | 8 {
  return align === 8 ? 8 : 4;
}

/**
 * Where the notes are: SHT_NOTE sections when the file has section headers (what readelf -n
 * reads), else PT_NOTE segments. Sections come first on purpose: in a separate debuginfo file
 * (the debuginfo vmlinux) the program headers are copied from the stripped binary and their
 * offsets point at unrelated bytes, while the note sections are kept with their data.
 */
export function noteRegions(sections: ElfSection[], segments: ElfSegment[]): NoteRegion[] {
  const fromSections = sections
    .filter((s) => s.type === SHT_NOTE && s.size > 0)
    .map((s) => ({ offset: s.offset, size: s.size, align: noteAlign(s.addralign), origin: s.name ?? `section ${s.index}` }));
  if (sections.length > 0) return fromSections;
  return segments
    .filter((p) => p.type === PT_NOTE && p.filesz > 0)
    .map((p) => ({ offset: p.offset, size: p.filesz, align: noteAlign(p.align), origin: `PT_NOTE@0x${p.offset.toString(16)}` }));
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/**
 * Parses a raw note stream: entries of namesz, descsz, type (4 bytes each, in `endian`), then
 * the name and the descriptor, each padded to `align` (4 unless the containing section says 8).
 * /sys/kernel/notes is such a stream, 4-aligned, in the running kernel's byte order.
 */
export function parseNoteBlob(
  buf: Buffer,
  endian: Endian,
  opts: { align?: 4 | 8; source?: string; origin?: string } = {},
): ElfNote[] {
  const align = opts.align ?? 4;
  const source = opts.source ?? '<buffer>';
  const r = new Reader(buf, endian, source);
  const notes: ElfNote[] = [];
  let at = 0;
  // Trailing padding shorter than a note header is tolerated, as readelf does.
  while (at + 12 <= buf.length) {
    const namesz = r.u32(at, 'note namesz');
    const descsz = r.u32(at + 4, 'note descsz');
    const type = r.u32(at + 8, 'note type');
    const descAt = alignUp(at + 12 + namesz, align);
    const next = alignUp(descAt + descsz, align);
    if (at + 12 + namesz > buf.length || descAt + descsz > buf.length) {
      const where = opts.origin ? ` in ${opts.origin}` : '';
      throw new MalformedElfError(
        source,
        `note at offset ${at}${where} (namesz ${namesz}, descsz ${descsz}) runs past the end of its ${buf.length}-byte note area`,
      );
    }
    const rawName = buf.subarray(at + 12, at + 12 + namesz);
    const nul = rawName.indexOf(0);
    const note: ElfNote = {
      name: rawName.toString('latin1', 0, nul === -1 ? rawName.length : nul),
      type,
      desc: Buffer.from(buf.subarray(descAt, descAt + descsz)),
    };
    if (opts.origin !== undefined) note.origin = opts.origin;
    notes.push(note);
    at = Math.max(next, at + 12); // never loop in place
  }
  return notes;
}

/** Bounds-checked slice of the file for a region named `what`. */
function sliceOf(buf: Buffer, offset: number, size: number, source: string, what: string): Buffer {
  if (offset + size > buf.length) {
    throw new MalformedElfError(source, `${what} (offset ${offset}, ${size} bytes) lies past the end of the file (${buf.length} bytes)`);
  }
  return buf.subarray(offset, offset + size);
}

/** All notes of a whole ELF file held in memory. */
export function readElfNotes(buf: Buffer, source = '<buffer>'): ElfNote[] {
  let header = parseElfHeader(buf.subarray(0, ELF_HEADER_MAX_SIZE), source);
  if (needsExtendedNumbering(header)) {
    const first = parseSectionHeaders(sliceOf(buf, header.shoff, header.shentsize, source, 'section header 0'), header, source, 1);
    header = resolveExtendedNumbering(header, first[0] as ElfSection);
  }
  let sections = parseSectionHeaders(sliceOf(buf, header.shoff, sectionTableSize(header), source, 'section header table'), header, source);
  const strtab = sectionNameTable(header, sections);
  if (strtab) sections = nameSections(sections, sliceOf(buf, strtab.offset, strtab.size, source, 'section name table'));
  const segments =
    sections.length > 0 ? [] : parseProgramHeaders(sliceOf(buf, header.phoff, programTableSize(header), source, 'program header table'), header, source);
  return noteRegions(sections, segments).flatMap((region) =>
    parseNoteBlob(sliceOf(buf, region.offset, region.size, source, region.origin), header.endian, {
      align: region.align,
      source,
      origin: region.origin,
    }),
  );
}

/** Lower-case hex of the first GNU build-id note, or undefined when there is none. */
export function gnuBuildId(notes: ElfNote[]): string | undefined {
  const note = notes.find((n) => n.name === 'GNU' && n.type === NT_GNU_BUILD_ID && n.desc.length > 0);
  return note?.desc.toString('hex');
}
