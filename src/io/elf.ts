/**
 * Build-ids from files on disk. A debuginfo vmlinux is hundreds of MB (docs/kernel-packages.md), so
 * this reads only the ELF header, the section (or program) header table, the section-name table
 * and the note sections, by position; the parsing itself is in src/core/elf-notes.ts.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { KdebuginfoError } from '../errors.js';
import {
  ELF_HEADER_MAX_SIZE,
  MalformedElfError,
  gnuBuildId,
  nameSections,
  needsExtendedNumbering,
  noteRegions,
  parseElfHeader,
  parseNoteBlob,
  parseProgramHeaders,
  parseSectionHeaders,
  programTableSize,
  resolveExtendedNumbering,
  sectionNameTable,
  sectionTableSize,
  type ElfNote,
  type ElfSection,
} from '../core/elf-notes.js';

/**
 * Upper bound for any one piece read here. Header tables and note sections are kilobytes even in
 * a vmlinux; a bigger value means a corrupt header, and must not make us allocate gigabytes.
 */
const MAX_PIECE_BYTES = 64 * 1024 * 1024;

async function readPiece(fh: FileHandle, path: string, offset: number, size: number, what: string, fileSize: number): Promise<Buffer> {
  if (size > MAX_PIECE_BYTES) {
    throw new MalformedElfError(path, `${what} claims ${size} bytes, more than any real one`);
  }
  if (offset + size > fileSize) {
    throw new MalformedElfError(path, `${what} (offset ${offset}, ${size} bytes) lies past the end of the file (${fileSize} bytes)`);
  }
  const buf = Buffer.alloc(size);
  let done = 0;
  while (done < size) {
    const { bytesRead } = await fh.read(buf, done, size - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  if (done < size) throw new MalformedElfError(path, `${what}: file ended after ${done} of ${size} bytes`);
  return buf;
}

function ioError(path: string, err: unknown): KdebuginfoError {
  const e = err as NodeJS.ErrnoException;
  return new KdebuginfoError(`${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: err });
}

/** All notes of an ELF file on disk, reading only the pieces that hold them. */
export async function readElfNotesFromFile(path: string): Promise<ElfNote[]> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(path, err);
  }
  try {
    const { size: fileSize } = await fh.stat();
    const head = await readPiece(fh, path, 0, Math.min(ELF_HEADER_MAX_SIZE, fileSize), 'ELF header', fileSize);
    let header = parseElfHeader(head, path);
    if (needsExtendedNumbering(header)) {
      const first = await readPiece(fh, path, header.shoff, header.shentsize, 'section header 0', fileSize);
      header = resolveExtendedNumbering(header, parseSectionHeaders(first, header, path, 1)[0] as ElfSection);
    }
    let sections = parseSectionHeaders(
      await readPiece(fh, path, header.shoff, sectionTableSize(header), 'section header table', fileSize),
      header,
      path,
    );
    const strtab = sectionNameTable(header, sections);
    if (strtab) {
      sections = nameSections(sections, await readPiece(fh, path, strtab.offset, strtab.size, 'section name table', fileSize));
    }
    const segments =
      sections.length > 0
        ? []
        : parseProgramHeaders(await readPiece(fh, path, header.phoff, programTableSize(header), 'program header table', fileSize), header, path);
    const notes: ElfNote[] = [];
    for (const region of noteRegions(sections, segments)) {
      const blob = await readPiece(fh, path, region.offset, region.size, region.origin, fileSize);
      notes.push(...parseNoteBlob(blob, header.endian, { align: region.align, source: path, origin: region.origin }));
    }
    return notes;
  } finally {
    await fh.close();
  }
}

/** Hex GNU build-id of an ELF file (vmlinux, .ko, .debug), or undefined when it has none. */
export async function readBuildIdFromFile(path: string): Promise<string | undefined> {
  return gnuBuildId(await readElfNotesFromFile(path));
}

/**
 * The running kernel's build-id from /sys/kernel/notes: the kernel's own note section exported
 * as a raw 4-aligned note stream in the kernel's byte order, which is this process's byte order.
 * Undefined when the file does not exist (no sysfs, some containers) or holds no GNU build-id.
 */
export async function readRunningKernelBuildId(sysNotesPath = '/sys/kernel/notes'): Promise<string | undefined> {
  let blob: Buffer;
  try {
    blob = await readFile(sysNotesPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(sysNotesPath, err);
  }
  const endian = endianness() === 'LE' ? 'little' : 'big';
  return gnuBuildId(parseNoteBlob(blob, endian, { align: 4, source: sysNotesPath }));
}
