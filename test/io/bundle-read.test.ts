import { spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MANIFEST_BYTES, openBundle } from '../../src/io/bundle-read.js';
import type { BundleManifest } from '../../src/io/bundle.js';
import { writeBundle } from '../../src/io/bundle.js';
import { ExitCode, KdebuginfoError } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { FIXTURE_MIRROR_ROOT } from '../support/fixture-mirror.js';
import { REPO_TOP, ensureBuiltCli } from '../support/scratch-root.js';

// Hostile bundles, made here with tar headers from the tar package and a streamed gzip (big
// members are generated, never committed): each must be refused by its tar header, before its
// body is read, with one line naming it, nothing left in the temp dir and memory bounded.

const K = '5.14.0-362.el9.x86_64';
const DIR = `kdebuginfo-${K}`;
const GiB = 1024 ** 3;

interface FixturePackage {
  path: string;
  name: string;
  size: number;
  sha256: string;
}
const PACKAGES: FixturePackage[] = JSON.parse(readFileSync(join(FIXTURE_MIRROR_ROOT, 'PACKAGES.json'), 'utf8'));
const RPMS = (['debuginfo', 'debuginfo-common', 'devel'] as const).map((role) => {
  const name = { debuginfo: 'kernel-debuginfo', 'debuginfo-common': 'kernel-debuginfo-common-x86_64', devel: 'kernel-devel' }[role];
  const p = PACKAGES.find((q) => q.path.endsWith(`/${name}-${K}.rpm`))!;
  return { role, name, version: '5.14.0', release: '362.el9', arch: 'x86_64', file: `${name}-${K}.rpm`, size: p.size, sha256: p.sha256, path: join(FIXTURE_MIRROR_ROOT, p.path) };
});

const MANIFEST: BundleManifest = {
  format: 1,
  packaging: 'rpm',
  tool: { name: 'kdebuginfo', version: '0.1.0' },
  created: '2026-01-02T03:04:05.000Z',
  kernel: { uname: K, version: '5.14.0', release: '362.el9', arch: 'x86_64', flavor: 'default' },
  os: { id: 'centos-stream', version: '9', name: 'CentOS Stream 9' },
  packages: RPMS.map(({ path: _p, ...p }) => p),
  installer: 'install.sh',
};

/** A member: a tar header and a body of `size` bytes, of which only `written` are produced (a truncated archive). */
interface Member {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink';
  linkpath?: string;
  size?: number;
  /** The body: bytes, or `zeros` / `spaces` (streamed, never held whole). */
  body?: Buffer | 'zeros' | 'spaces';
  /** Stop the archive after this many body bytes (the gzip stream ends cleanly, the tar does not). */
  truncateAfter?: number;
}

const FILL = { zeros: Buffer.alloc(1024 * 1024), spaces: Buffer.alloc(1024 * 1024, ' ') };

async function* tarStream(members: readonly Member[], trailingZeros = 0): AsyncGenerator<Buffer> {
  for (const m of members) {
    const size = m.size ?? (Buffer.isBuffer(m.body) ? m.body.length : 0);
    const type = m.type ?? 'File';
    const header = new tar.Header({ path: m.path, type, size: type === 'File' ? size : 0, mode: type === 'Directory' ? 0o755 : 0o644, mtime: new Date(0), linkpath: m.linkpath });
    header.encode();
    yield header.block!;
    if (type !== 'File') continue;
    const limit = Math.min(size, m.truncateAfter ?? size);
    if (Buffer.isBuffer(m.body)) yield m.body.subarray(0, limit);
    else {
      const fill = FILL[m.body ?? 'zeros'];
      for (let n = 0; n < limit; n += fill.length) yield fill.subarray(0, Math.min(fill.length, limit - n));
    }
    if (m.truncateAfter !== undefined) return;
    if (size % 512) yield Buffer.alloc(512 - (size % 512));
  }
  yield Buffer.alloc(1024);
  for (let n = 0; n < trailingZeros; n += FILL.zeros.length) yield FILL.zeros;
}

let work: string;
let n = 0;
/** Write the members as a .tar.gz (gzip level 1, as kdebuginfo bundle writes). */
async function bundleOf(members: readonly Member[], opts: { trailingZeros?: number; gzipTwice?: boolean } = {}): Promise<string> {
  const out = join(work, `b${n++}.tar.gz`);
  const stages = [Readable.from(tarStream(members, opts.trailingZeros)), createGzip({ level: 1 }), ...(opts.gzipTwice ? [createGzip({ level: 1 })] : [])];
  await (pipeline as (...s: unknown[]) => Promise<void>)(...stages, createWriteStream(out));
  return out;
}

const manifestMember = (m: unknown = MANIFEST): Member => ({ path: `${DIR}/manifest.json`, body: Buffer.from(JSON.stringify(m)) });
const rpmMembers = (): Member[] => RPMS.map((r) => ({ path: `${DIR}/${r.file}`, body: readFileSync(r.path) }));
const dirMember: Member = { path: `${DIR}/`, type: 'Directory' };

/** The error openBundle throws, with TMPDIR pointed at an empty directory that must stay empty. */
async function refusal(file: string, opts: Parameters<typeof openBundle>[1] = {}): Promise<KdebuginfoError> {
  let err: unknown;
  try {
    const b = await openBundle(file, opts);
    await b.close();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KdebuginfoError);
  expect(await readdir(scratchTmp)).toEqual([]);
  return err as KdebuginfoError;
}

let scratchTmp: string;
const savedTmp = process.env.TMPDIR;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kdebuginfo-bundle-read-'));
  scratchTmp = join(work, 'tmp');
  await mkdir(scratchTmp);
  // os.tmpdir() follows TMPDIR: openBundle's temp dir is made in scratchTmp, where the tests look.
  process.env.TMPDIR = scratchTmp;
});
afterAll(async () => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  await rm(work, { recursive: true, force: true });
});

describe('a bundle as kdebuginfo bundle writes it', () => {
  it('manifest.json first; every package unpacked and its sha256 checked; close() removes the copy', async () => {
    const out = join(work, 'real.tar.gz');
    await writeBundle({ output: out, directory: DIR, manifest: MANIFEST, installScript: '#!/bin/sh\n', files: RPMS.map((r) => ({ name: r.file, path: r.path })) });
    const listed: string[] = [];
    await tar.t({ file: out, onReadEntry: (e) => listed.push(e.path) });
    expect(listed).toEqual([`${DIR}/`, `${DIR}/manifest.json`, `${DIR}/install.sh`, ...RPMS.map((r) => `${DIR}/${r.file}`)]);

    const b = await openBundle(out);
    expect(b.unpacked).toBe(true);
    expect(b.manifest).toEqual(MANIFEST);
    for (const [i, f] of b.files.entries()) expect(readFileSync(f.path).equals(readFileSync(RPMS[i]!.path))).toBe(true);
    expect(await readdir(scratchTmp)).toHaveLength(1);
    await b.close();
    expect(await readdir(scratchTmp)).toEqual([]);
  });

  it('manifest-only (for --dry-run) checks every member as the full read does but unpacks nothing', async () => {
    const whole = await bundleOf([dirMember, manifestMember(), ...rpmMembers()]);
    const b = await openBundle(whole, { manifestOnly: true });
    expect(b).toMatchObject({ unpacked: false, manifest: MANIFEST });
    expect(b.files.map((f) => f.path)).toEqual(['', '', '']);
    expect(await readdir(scratchTmp)).toEqual([]);
    await b.close();
    // A truncated bundle is refused by the check-only read too: a dry run says what the real run would.
    const file = await bundleOf([dirMember, manifestMember(), { path: `${DIR}/${RPMS[0]!.file}`, size: RPMS[0]!.size, body: readFileSync(RPMS[0]!.path), truncateAfter: 100 }]);
    const truncated = `--from-bundle ${file}: not a readable .tar.gz bundle (Truncated input (needed 8192 more bytes, only 100 available))`;
    expect((await refusal(file, { manifestOnly: true })).message).toBe(truncated);
    expect((await refusal(file)).message).toBe(truncated);
    expect(await readdir(scratchTmp)).toEqual([]);
    // Decided once the manifest is read.
    const decided = await openBundle(whole, { manifestOnly: (m) => m.packaging === 'rpm' });
    expect(decided.unpacked).toBe(false);
    await decided.close();
  });
});

describe('hostile bundles are refused by their tar headers', () => {
  it('the tar bomb: a 14 MB bundle with a 3 GiB member of zeros is refused at its header, in bounded memory, leaving nothing', async () => {
    const bomb = await bundleOf([dirMember, manifestMember(), ...rpmMembers(), { path: `${DIR}/zeros.bin`, size: 3 * GiB, body: 'zeros' }]);
    expect((await stat(bomb)).size).toBeLessThan(20 * 1024 * 1024);
    const err = await refusal(bomb);
    expect(err.message).toBe(`--from-bundle ${bomb}: zeros.bin is not listed in manifest.json`);
    expect(err.exitCode).toBe(ExitCode.usage);

    // Peak memory of a process doing only this (the whole archive unpacked took 3.3 GB).
    await ensureBuiltCli();
    const script = `const { openBundle } = await import(${JSON.stringify(join(REPO_TOP, 'dist/io/bundle-read.js'))});
      let out; try { await openBundle(process.argv[1]); out = { ok: true }; } catch (e) { out = { message: e.message }; }
      out.maxRssKiB = process.resourceUsage().maxRSS; console.log(JSON.stringify(out));`;
    const childTmp = join(work, 'child-tmp');
    await mkdir(childTmp);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, bomb], { encoding: 'utf8', env: { PATH: process.env.PATH, TMPDIR: childTmp } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { message: string; maxRssKiB: number };
    expect(out.message).toBe(`--from-bundle ${bomb}: zeros.bin is not listed in manifest.json`);
    expect(out.maxRssKiB).toBeLessThan(200 * 1024);
    expect(await readdir(childTmp)).toEqual([]);
  }, 180_000);

  it('a listed member larger than its manifest size (3 GiB by its header; the body is never read)', async () => {
    const [a, b, c] = rpmMembers();
    const file = await bundleOf([dirMember, manifestMember(), a!, b!, { ...c!, size: 3 * GiB, body: 'zeros', truncateAfter: 1024 * 1024 }]);
    expect((await refusal(file)).message).toBe(`--from-bundle ${file}: ${RPMS[2]!.file} is ${3 * GiB} bytes in the archive, manifest.json says ${RPMS[2]!.size}`);
  });

  it('a 400 MB manifest is refused by its size, not parsed (it took 1.3 GB)', async () => {
    // JSON whitespace, streamed: a valid document to a parser that reads it whole.
    const file = await bundleOf([dirMember, { path: `${DIR}/manifest.json`, size: 400 * 1000 * 1000, body: 'spaces' }]);
    expect((await refusal(file)).message).toBe(`--from-bundle ${file}: manifest.json is 381.5 MiB; a bundle manifest is at most 1.0 MiB`);
    expect(MAX_MANIFEST_BYTES).toBe(1024 * 1024);
  });

  it('a member before manifest.json, whatever its size', async () => {
    const file = await bundleOf([dirMember, { path: `${DIR}/zeros.bin`, size: 3 * GiB, body: 'zeros', truncateAfter: 1024 * 1024 }, manifestMember()]);
    expect((await refusal(file)).message).toBe(`--from-bundle ${file}: zeros.bin comes before manifest.json, which kdebuginfo bundle writes first`);
  });

  it('more data than the manifest lists, after the last member', async () => {
    const file = await bundleOf([dirMember, manifestMember(), ...rpmMembers()], { trailingZeros: 64 * 1024 * 1024 });
    expect((await refusal(file)).message).toMatch(new RegExp(`^--from-bundle ${file}: the archive holds more than manifest.json lists \\(over \\d+\\.\\d MiB\\)$`));
  });

  it('links, paths out of the directory, a second top directory, a member twice, a gzip inside the gzip', async () => {
    const cases: Array<[Member[], string]> = [
      [[dirMember, manifestMember(), { path: `${DIR}/${RPMS[0]!.file}`, type: 'SymbolicLink', linkpath: '/etc/shadow' }], `${DIR}/${RPMS[0]!.file} is a SymbolicLink, not a plain file`],
      [[dirMember, manifestMember(), { path: `${DIR}/../../etc/cron.d/x`, body: Buffer.from('x') }], `${DIR}/../../etc/cron.d/x: expected one kdebuginfo-<release>/ directory holding plain files`],
      [[{ path: '/etc/passwd', body: Buffer.from('x') }], '/etc/passwd: expected one kdebuginfo-<release>/ directory holding plain files'],
      [[dirMember, manifestMember(), { path: 'kdebuginfo-other/x.rpm', body: Buffer.from('x') }], `kdebuginfo-other/x.rpm is outside ${DIR}/: expected one kdebuginfo-<release>/ directory`],
      [[dirMember, manifestMember(), ...rpmMembers(), rpmMembers()[0]!], `${RPMS[0]!.file} is in the archive twice`],
    ];
    for (const [members, line] of cases) {
      const file = await bundleOf(members);
      expect((await refusal(file)).message).toBe(`--from-bundle ${file}: ${line}`);
    }
    const twice = await bundleOf([dirMember, manifestMember(), ...rpmMembers()], { gzipTwice: true });
    expect((await refusal(twice)).message).toBe(`--from-bundle ${twice}: not a readable .tar.gz bundle (it holds another gzip stream, not a tar archive)`);
  });

  it('manifest fields are shown escaped and trimmed: an ESC byte never reaches the message', async () => {
    const evil = { ...MANIFEST, kernel: { ...MANIFEST.kernel, uname: `5.14.0\x1b]0;owned\x07${'x'.repeat(5000)}` } };
    const file = await bundleOf([dirMember, manifestMember(evil)]);
    const msg = (await refusal(file)).message;
    expect(msg).not.toMatch(/[\x1b\x07]/);
    expect(msg.length).toBeLessThan(500);
    expect(msg).toMatch(/manifest\.json kernel\.uname "5\.14\.0\\x1b\]0;owned\\x07x+…" is \d+ characters long/);
    const badFile = { ...MANIFEST, packages: [{ ...MANIFEST.packages[0]!, file: `a\x1b[2J.rpm` }] };
    const f2 = await bundleOf([dirMember, manifestMember(badFile)]);
    expect((await refusal(f2)).message).toBe(`--from-bundle ${f2}: manifest.json lists an unsafe file name or checksum ("a\\x1b[2J.rpm")`);
    const badSize = { ...MANIFEST, packages: [{ ...MANIFEST.packages[0]!, size: -1 }] };
    const f3 = await bundleOf([dirMember, manifestMember(badSize)]);
    expect((await refusal(f3)).message).toBe(`--from-bundle ${f3}: manifest.json gives ${RPMS[0]!.file} the size "-1", not a whole number of bytes`);
  });

  it('a package whose bytes differ from the manifest is refused after its own body (exit 1), and nothing is left', async () => {
    const members = rpmMembers();
    const body = Buffer.from(members[1]!.body as Buffer);
    body[body.length - 1] = body[body.length - 1]! ^ 0xff;
    const file = await bundleOf([dirMember, manifestMember(), members[0]!, { ...members[1]!, body }, members[2]!]);
    const err = await refusal(file);
    expect(err.message).toMatch(new RegExp(`^--from-bundle ${file}: ${RPMS[1]!.file.replace(/\./g, '\\.')} has sha256 [0-9a-f]{64}, the manifest says ${RPMS[1]!.sha256}$`));
    expect(err.exitCode).toBe(ExitCode.failed);
  });
});

describe('install --from-bundle with a tar bomb', () => {
  it('is one line and exit 2, under --dry-run too', async () => {
    const bomb = await bundleOf([dirMember, manifestMember(), { path: `${DIR}/zeros.bin`, size: 3 * GiB, body: 'zeros', truncateAfter: 1024 * 1024 }]);
    for (const extra of [[], ['--dry-run']]) {
      const r = await runCli(['install', '--from-bundle', bomb, '--root', work, '--kernel', K, ...extra], { isRoot: true });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`kdebuginfo: --from-bundle ${bomb}: zeros.bin is not listed in manifest.json\nhint: make the bundle again with kdebuginfo bundle\n`);
    }
    expect(await readdir(scratchTmp)).toEqual([]);
  });
});
