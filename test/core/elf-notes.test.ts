import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MalformedElfError, gnuBuildId, parseNoteBlob, readElfNotes, type ElfNote, type Endian } from '../../src/core/elf-notes.js';
import { readBuildIdFromFile, readElfNotesFromFile, readRunningKernelBuildId } from '../../src/io/elf.js';
import { hasTool } from '../support/captured-output.js';

const work = mkdtempSync(join(tmpdir(), 'kdebuginfo-elf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const hasReadelf = hasTool('readelf');

interface ReadelfNote {
  owner: string;
  size: number;
  buildId?: string;
}

/** `readelf -n` as the independent reference: owner and data size of every note, and build-ids. */
function readelfNotes(path: string, onlySection?: string): ReadelfNote[] {
  const r = spawnSync('readelf', ['-n', '-W', path], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`readelf -n ${path} failed: ${r.stderr}`);
  const notes: ReadelfNote[] = [];
  let section = '';
  for (const line of r.stdout.split('\n')) {
    const heading = /^Displaying notes found in: (\S+)/.exec(line);
    if (heading) section = heading[1] as string;
    if (onlySection !== undefined && section !== onlySection) continue;
    const note = /^ {2}(\S+)\s+0x([0-9a-f]+)\s/.exec(line);
    if (note && note[1] !== 'Owner') notes.push({ owner: note[1] as string, size: parseInt(note[2] as string, 16) });
    // With -W readelf prints the decoded description on the note's own line, after a tab.
    const id = /\sBuild ID: ([0-9a-f]+)/.exec(line);
    const last = notes[notes.length - 1];
    if (id && last) last.buildId = id[1] as string;
  }
  return notes;
}

function ours(notes: ElfNote[]): ReadelfNote[] {
  return notes.map((n) => {
    const o: ReadelfNote = { owner: n.name, size: n.desc.length };
    if (n.name === 'GNU' && n.type === 3) o.buildId = n.desc.toString('hex');
    return o;
  });
}

// ---------------------------------------------------------------------------------------------
// A minimal ELF writer, so 32/64-bit x little/big-endian files exist whatever the toolchain can
// build. Its output is checked against readelf below, so the tests do not just agree with
// themselves.
// ---------------------------------------------------------------------------------------------

interface NoteSpec {
  name: string;
  type: number;
  desc: Buffer;
}

function encodeNotes(notes: NoteSpec[], endian: Endian, align: 4 | 8): Buffer {
  const parts: Buffer[] = [];
  for (const n of notes) {
    const name = Buffer.from(`${n.name}\0`, 'latin1');
    const head = Buffer.alloc(12);
    const w = (v: number, at: number) => (endian === 'little' ? head.writeUInt32LE(v, at) : head.writeUInt32BE(v, at));
    w(name.length, 0);
    w(n.desc.length, 4);
    w(n.type, 8);
    const pad = (b: Buffer, from: number) => Buffer.concat([b, Buffer.alloc((align - ((from + b.length) % align)) % align)]);
    const nameP = pad(name, 12);
    parts.push(head, nameP, pad(n.desc, 0));
  }
  return Buffer.concat(parts);
}

interface ElfSpec {
  bits: 32 | 64;
  endian: Endian;
  machine: number;
  notes: NoteSpec[];
  noteAlign?: 4 | 8;
  sections?: boolean;
  segments?: boolean;
  /** Put the section header table this far into the file (a sparse multi-GB file). */
  tableAt?: number;
  /** Use gABI extended numbering: e_shnum 0, the count in section 0's sh_size. */
  extendedNumbering?: boolean;
}

interface Chunk {
  offset: number;
  bytes: Buffer;
}

function layoutElf(spec: ElfSpec): { chunks: Chunk[]; size: number } {
  const { bits, endian } = spec;
  const align = spec.noteAlign ?? 4;
  const withSections = spec.sections ?? true;
  const withSegments = spec.segments ?? true;
  const ehsize = bits === 64 ? 64 : 52;
  const phentsize = bits === 64 ? 56 : 32;
  const shentsize = bits === 64 ? 64 : 40;
  const le = endian === 'little';
  const u16 = (b: Buffer, v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const u32 = (b: Buffer, v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const word = (b: Buffer, v: number, at: number) =>
    bits === 64 ? (le ? b.writeBigUInt64LE(BigInt(v), at) : b.writeBigUInt64BE(BigInt(v), at)) : u32(b, v, at);

  const phoff = withSegments ? ehsize : 0;
  const notesAt = 0x100;
  const notes = encodeNotes(spec.notes, endian, align);
  const shstrtab = Buffer.from('\0.note.test\0.shstrtab\0', 'latin1');
  const shstrAt = notesAt + notes.length;
  const shoff = withSections ? (spec.tableAt ?? Math.ceil((shstrAt + shstrtab.length) / 8) * 8) : 0;
  const shnum = 3;

  const eh = Buffer.alloc(ehsize);
  eh.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, le ? 1 : 2, 1], 0);
  u16(eh, 2, 0x10); // ET_EXEC
  u16(eh, spec.machine, 0x12);
  u32(eh, 1, 0x14);
  const w = bits === 64 ? 8 : 4;
  word(eh, phoff, 0x18 + w);
  word(eh, shoff, 0x18 + 2 * w);
  const rest = 0x18 + 3 * w + 4;
  u16(eh, ehsize, rest);
  u16(eh, phentsize, rest + 2);
  u16(eh, withSegments ? 1 : 0, rest + 4);
  u16(eh, shentsize, rest + 6);
  u16(eh, withSections ? (spec.extendedNumbering ? 0 : shnum) : 0, rest + 8);
  u16(eh, withSections ? (spec.extendedNumbering ? 0xffff : 2) : 0, rest + 10);

  const chunks: Chunk[] = [{ offset: 0, bytes: eh }];
  if (withSegments) {
    const ph = Buffer.alloc(phentsize);
    u32(ph, 4, 0); // PT_NOTE
    if (bits === 64) {
      u32(ph, 4, 4);
      word(ph, notesAt, 8);
      word(ph, notes.length, 0x20);
      word(ph, notes.length, 0x28);
      word(ph, align, 0x30);
    } else {
      u32(ph, notesAt, 4);
      u32(ph, notes.length, 0x10);
      u32(ph, notes.length, 0x14);
      u32(ph, 4, 0x18);
      u32(ph, align, 0x1c);
    }
    chunks.push({ offset: phoff, bytes: ph });
  }
  chunks.push({ offset: notesAt, bytes: notes }, { offset: shstrAt, bytes: shstrtab });
  if (withSections) {
    const sh = Buffer.alloc(shentsize * shnum);
    const sec = (i: number, name: number, type: number, off: number, size: number, al: number, link = 0) => {
      const at = i * shentsize;
      u32(sh, name, at);
      u32(sh, type, at + 4);
      if (bits === 64) {
        word(sh, off, at + 0x18);
        word(sh, size, at + 0x20);
        u32(sh, link, at + 0x28);
        word(sh, al, at + 0x30);
      } else {
        u32(sh, off, at + 0x10);
        u32(sh, size, at + 0x14);
        u32(sh, link, at + 0x18);
        u32(sh, al, at + 0x20);
      }
    };
    // Section 0 carries the real counts under extended numbering.
    sec(0, 0, 0, 0, spec.extendedNumbering ? shnum : 0, 0, spec.extendedNumbering ? 2 : 0);
    sec(1, 1, 7, notesAt, notes.length, align); // .note.test, SHT_NOTE
    sec(2, 12, 3, shstrAt, shstrtab.length, 1); // .shstrtab, SHT_STRTAB
    chunks.push({ offset: shoff, bytes: sh });
  }
  const size = Math.max(...chunks.map((c) => c.offset + c.bytes.length));
  return { chunks, size };
}

function buildElf(spec: ElfSpec): Buffer {
  const { chunks, size } = layoutElf(spec);
  const buf = Buffer.alloc(size);
  for (const c of chunks) c.bytes.copy(buf, c.offset);
  return buf;
}

const BUILD_ID = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
const sampleNotes: NoteSpec[] = [
  { name: 'GNU', type: 3, desc: BUILD_ID },
  { name: 'Linux', type: 0x100, desc: Buffer.from('6.1.0-13-amd64\0', 'latin1') }, // odd length: padding
  { name: 'Xen', type: 0x12, desc: Buffer.from([0, 0xfe, 0x78, 0x03, 0, 0, 0, 0]) },
];

describe('readElfNotes on real files of this machine, against readelf -n', () => {
  const real = ['/bin/ls', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/bin/stap'].filter((p) => existsSync(p));

  it.skipIf(!hasReadelf)('finds the same notes and build-id as readelf', () => {
    expect(real.length).toBeGreaterThan(0);
    for (const path of real) {
      const notes = readElfNotes(readFileSync(path), path);
      expect(ours(notes), path).toEqual(readelfNotes(path));
      expect(gnuBuildId(notes), path).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('names the sections the notes came from, and honours the 8-byte alignment of .note.gnu.property', () => {
    const notes = readElfNotes(readFileSync('/bin/ls'), '/bin/ls');
    expect(notes.map((n) => n.origin)).toContain('.note.gnu.build-id');
    const prop = notes.find((n) => n.origin === '.note.gnu.property');
    // NT_GNU_PROPERTY_TYPE_0 (5); 16 bytes on x86-64, per readelf above.
    if (prop) expect([prop.type, prop.desc.length]).toEqual([5, 16]);
  });

  it('reads separate debug files (the debuginfo vmlinux format): the build-id is the file name under .build-id/', () => {
    const root = '/usr/lib/debug/.build-id';
    if (!existsSync(root)) return; // nothing of the kind installed here; the writer tests below still cover it
    const files = readdirSync(root)
      .filter((d) => /^[0-9a-f]{2}$/.test(d))
      .flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.debug')).map((f) => join(root, d, f)))
      .slice(0, 8);
    for (const f of files) {
      const expected = f.slice(root.length + 1).replace('/', '').replace(/\.debug$/, '');
      expect(gnuBuildId(readElfNotes(readFileSync(f), f)), f).toBe(expected);
    }
  });

  it('pairs a binary with its .debug file by build-id, as a vmlinux is paired with the running kernel', async () => {
    const id = await readBuildIdFromFile('/usr/lib/x86_64-linux-gnu/libc.so.6');
    const debug = `/usr/lib/debug/.build-id/${id?.slice(0, 2)}/${id?.slice(2)}.debug`;
    if (!existsSync(debug)) return; // libc6-dbg for this libc not installed
    expect(await readBuildIdFromFile(debug)).toBe(id);
  });
});

describe('readElfNotes on 32-bit and big-endian ELF files', () => {
  const cases: Array<{ label: string; spec: ElfSpec }> = [
    { label: 'ELF64 big-endian (s390x-like)', spec: { bits: 64, endian: 'big', machine: 22, notes: sampleNotes } },
    { label: 'ELF32 big-endian (ppc-like)', spec: { bits: 32, endian: 'big', machine: 20, notes: sampleNotes } },
    { label: 'ELF32 little-endian (i386)', spec: { bits: 32, endian: 'little', machine: 3, notes: sampleNotes } },
    { label: 'ELF64 little-endian, 8-aligned note section', spec: { bits: 64, endian: 'little', machine: 62, notes: sampleNotes, noteAlign: 8 } },
    { label: 'ELF64 big-endian, extended section numbering', spec: { bits: 64, endian: 'big', machine: 22, notes: sampleNotes, extendedNumbering: true } },
  ];

  for (const { label, spec } of cases) {
    it(`${label}: same notes as readelf, build-id found`, () => {
      const buf = buildElf(spec);
      const notes = readElfNotes(buf, label);
      expect(notes.map((n) => [n.name, n.type, n.desc.toString('hex')])).toEqual(
        sampleNotes.map((n) => [n.name, n.type, n.desc.toString('hex')]),
      );
      expect(gnuBuildId(notes)).toBe(BUILD_ID.toString('hex'));
      if (hasReadelf) {
        const path = join(work, `${label.replace(/\W+/g, '-')}.elf`);
        writeFileSync(path, buf);
        expect(ours(notes)).toEqual(readelfNotes(path));
      }
    });
  }

  it('falls back to PT_NOTE segments when there are no section headers (big-endian, hand-built)', () => {
    const buf = buildElf({ bits: 64, endian: 'big', machine: 22, notes: sampleNotes, sections: false });
    const notes = readElfNotes(buf, 'no-sections');
    expect(notes.every((n) => n.origin === 'PT_NOTE@0x100')).toBe(true);
    expect(gnuBuildId(notes)).toBe(BUILD_ID.toString('hex'));
  });

  it.skipIf(!hasReadelf)('falls back to PT_NOTE segments on a real binary whose section headers were removed', () => {
    const buf = Buffer.from(readFileSync('/bin/ls'));
    buf.writeBigUInt64LE(0n, 0x28); // e_shoff
    buf.writeUInt16LE(0, 0x3c); // e_shnum
    buf.writeUInt16LE(0, 0x3e); // e_shstrndx
    const path = join(work, 'ls-no-sections');
    writeFileSync(path, buf);
    const notes = readElfNotes(buf, path);
    expect(notes.every((n) => n.origin?.startsWith('PT_NOTE@'))).toBe(true);
    expect(ours(notes)).toEqual(readelfNotes(path));
    expect(gnuBuildId(notes)).toBe(gnuBuildId(readElfNotes(readFileSync('/bin/ls'))));
  });

  const canLink32 = hasTool('gcc') && hasTool('ld');
  it.skipIf(!canLink32 || !hasReadelf)('reads a real i386 executable linked here with ld -m elf_i386 --build-id', () => {
    const src = join(work, 's.c');
    writeFileSync(src, 'void _start(void) { for (;;) ; }\n');
    const obj = join(work, 's32.o');
    const exe = join(work, 's32');
    const cc = spawnSync('gcc', ['-m32', '-c', '-o', obj, src], { encoding: 'utf8' });
    const ld = cc.status === 0 ? spawnSync('ld', ['-m', 'elf_i386', '--build-id=sha1', '-e', '_start', '-o', exe, obj], { encoding: 'utf8' }) : cc;
    if (ld.status !== 0) {
      // gcc without 32-bit support: the hand-built ELF32 cases above still run.
      console.warn(`skipped: this toolchain cannot build i386 objects: ${ld.stderr}`);
      return;
    }
    const buf = readFileSync(exe);
    expect(buf[4]).toBe(1); // ELFCLASS32
    const notes = readElfNotes(buf, exe);
    expect(ours(notes)).toEqual(readelfNotes(exe));
    expect(gnuBuildId(notes)).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('readBuildIdFromFile', () => {
  it('reads only headers and notes: a 5 GiB sparse file with its section table at the end', async () => {
    const tableAt = 5 * 1024 ** 3;
    const { chunks, size } = layoutElf({ bits: 64, endian: 'little', machine: 62, notes: sampleNotes, tableAt });
    const path = join(work, 'huge-vmlinux');
    const fh = await open(path, 'w');
    try {
      for (const c of chunks) await fh.write(c.bytes, 0, c.bytes.length, c.offset);
      await fh.truncate(size);
    } finally {
      await fh.close();
    }
    // readFile() of this file would throw ERR_FS_FILE_TOO_LARGE; reading pieces does not.
    const started = Date.now();
    expect(await readBuildIdFromFile(path)).toBe(BUILD_ID.toString('hex'));
    expect(Date.now() - started).toBeLessThan(5000);
    const notes = await readElfNotesFromFile(path);
    expect(notes.map((n) => n.origin)).toEqual(['.note.test', '.note.test', '.note.test']);
  });

  it('agrees with the in-memory reader on real files', async () => {
    for (const path of ['/bin/ls', '/usr/lib/x86_64-linux-gnu/libc.so.6']) {
      expect(await readBuildIdFromFile(path)).toBe(gnuBuildId(readElfNotes(readFileSync(path), path)));
    }
  });

  it('returns undefined for an ELF file without a build-id', async () => {
    const path = join(work, 'no-build-id.elf');
    writeFileSync(path, buildElf({ bits: 64, endian: 'little', machine: 62, notes: sampleNotes.slice(1) }));
    expect(await readBuildIdFromFile(path)).toBeUndefined();
  });

  describe('malformed input: a clear error naming the file', () => {
    const good = buildElf({ bits: 64, endian: 'big', machine: 22, notes: sampleNotes });
    const cases: Array<[string, Buffer, RegExp]> = [
      ['not-elf.txt', Buffer.from('#!/bin/sh\necho hello\n'), /no ELF magic/],
      ['empty', Buffer.alloc(0), /no ELF magic/],
      ['bad-class.elf', Buffer.concat([good.subarray(0, 4), Buffer.from([9]), good.subarray(5)]), /unknown ELF class 9/],
      ['truncated-header.elf', good.subarray(0, 40), /ELF header truncated/],
      ['truncated-table.elf', good.subarray(0, good.length - 10), /section header table .* past the end/],
    ];
    for (const [name, bytes, why] of cases) {
      it(name, async () => {
        const path = join(work, name);
        writeFileSync(path, bytes);
        const err = await readBuildIdFromFile(path).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MalformedElfError);
        expect((err as Error).message).toContain(path);
        expect((err as Error).message).toMatch(why);
        expect(() => readElfNotes(bytes, path)).toThrow(why);
      });
    }

    it('a note whose descsz runs past its section', async () => {
      const buf = Buffer.from(good);
      buf.writeUInt32BE(0x1000, 0x100 + 4); // first note's descsz
      const path = join(work, 'note-overrun.elf');
      writeFileSync(path, buf);
      await expect(readBuildIdFromFile(path)).rejects.toThrow(new RegExp(`${path}: .*note at offset 0 in \\.note\\.test .*runs past the end`));
    });

    it('a missing file', async () => {
      await expect(readBuildIdFromFile(join(work, 'absent'))).rejects.toThrow(/absent: no such file/);
    });
  });
});

describe('parseNoteBlob and readRunningKernelBuildId (/sys/kernel/notes)', () => {
  const sysNotes = '/sys/kernel/notes';
  const haveSysNotes = existsSync(sysNotes);

  it.skipIf(!haveSysNotes)('parses the running kernel notes into a 40-hex GNU build-id', async () => {
    const id = await readRunningKernelBuildId();
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    const notes = parseNoteBlob(readFileSync(sysNotes), 'little', { source: sysNotes });
    expect(notes[0]?.name).toBe('GNU');
  });

  // readelf cannot open a bare note stream, but it reads the same bytes once objcopy wraps them
  // in an ELF SHT_NOTE section: an independent parse of the kernel's own notes.
  it.skipIf(!haveSysNotes || !hasReadelf || !hasTool('objcopy') || !hasTool('gcc'))(
    'matches readelf on the same bytes wrapped into a .note section by objcopy',
    () => {
      const blob = join(work, 'kernel-notes.bin');
      writeFileSync(blob, readFileSync(sysNotes));
      const src = join(work, 'empty.c');
      writeFileSync(src, 'int kdebuginfo_unused;\n');
      const obj = join(work, 'empty.o');
      const wrapped = join(work, 'kernel-notes.o');
      expect(spawnSync('gcc', ['-c', '-o', obj, src]).status).toBe(0);
      const oc = spawnSync(
        'objcopy',
        ['--add-section', `.note.kernel=${blob}`, '--set-section-flags', '.note.kernel=alloc,readonly', '--set-section-alignment', '.note.kernel=4', obj, wrapped],
        { encoding: 'utf8' },
      );
      expect(oc.status, oc.stderr).toBe(0);
      expect(ours(parseNoteBlob(readFileSync(sysNotes), 'little', { source: sysNotes }))).toEqual(readelfNotes(wrapped, '.note.kernel'));
    },
  );

  it('reads a note stream from another path; undefined when the file is absent', async () => {
    const path = join(work, 'notes-blob');
    writeFileSync(path, encodeNotes(sampleNotes, 'little', 4));
    expect(await readRunningKernelBuildId(path)).toBe(BUILD_ID.toString('hex'));
    expect(await readRunningKernelBuildId(join(work, 'no-such-notes'))).toBeUndefined();
  });

  it('parses both byte orders and tolerates trailing padding', () => {
    for (const endian of ['little', 'big'] as const) {
      const blob = Buffer.concat([encodeNotes(sampleNotes, endian, 4), Buffer.alloc(3)]);
      expect(gnuBuildId(parseNoteBlob(blob, endian))).toBe(BUILD_ID.toString('hex'));
    }
  });

  it('rejects a truncated stream, naming it', () => {
    const blob = encodeNotes(sampleNotes, 'little', 4).subarray(0, 30);
    expect(() => parseNoteBlob(blob, 'little', { source: '/sys/kernel/notes' })).toThrow(
      /^\/sys\/kernel\/notes: not a valid ELF file: note at offset 0 \(namesz 4, descsz 20\) runs past/,
    );
  });

  it('gnuBuildId ignores non-GNU owners and other GNU note types', () => {
    expect(gnuBuildId([{ name: 'Linux', type: 3, desc: BUILD_ID }, { name: 'GNU', type: 1, desc: BUILD_ID }])).toBeUndefined();
  });
});
