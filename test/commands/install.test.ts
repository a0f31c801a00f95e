import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/core/format.js';
import { startMirrorServer, type MirrorServer } from '../../fixtures/mirror-server.mjs';
import { runCli, startCli, type CliRun } from '../support/cli.js';
import { FIXTURE_MIRROR_ROOT, startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';
import {
  OTHER_KEY,
  TEST_KEY,
  ensureBuiltCli,
  installedPackages,
  makeScratchRoot,
  nvrasFor,
  type ScratchRoot,
} from '../support/scratch-root.js';

// The main job end to end: real rpm and real dnf --installroot into scratch image roots, the
// real fixture mirror on a local port (every real host rewritten to it), real rpmkeys against
// the fixture keys. The machine's user is root, so each test says which it pretends to be.

const K362 = '5.14.0-362.el9.x86_64'; // signed with the trusted test key
const K999 = '5.14.0-999.el9.x86_64'; // unsigned
const K998 = '5.14.0-998.el9.x86_64'; // signed with the other key
const STREAM9 = '/mirror.stream.centos.org/9-stream';
const DEBUG_TREE = `${STREAM9}/BaseOS/x86_64/debug/tree`;
const FILES_362 = [
  `kernel-debuginfo-${K362}.rpm`,
  `kernel-debuginfo-common-x86_64-${K362}.rpm`,
  `kernel-devel-${K362}.rpm`,
];
const DEBUGINFO_362_PATH = `${DEBUG_TREE}/Packages/kernel-debuginfo-${K362}.rpm`;

interface FixturePackage {
  path: string;
  size: number;
  sha256: string;
}
const PACKAGES: FixturePackage[] = JSON.parse(readFileSync(join(FIXTURE_MIRROR_ROOT, 'PACKAGES.json'), 'utf8'));
const fixtureSize = (file: string) => PACKAGES.find((p) => p.path.endsWith(`/${file}`))!.size;

let mirror: FixtureMirror;
const scratches: ScratchRoot[] = [];
const extraServers: MirrorServer[] = [];

beforeAll(async () => {
  mirror = await startFixtureMirror();
});
afterAll(async () => {
  await mirror?.close();
  for (const s of extraServers) await s.close();
  for (const s of scratches) await s.remove();
});
beforeEach(() => {
  mirror.server.clearFaults();
  mirror.server.resetLog();
});

async function scratch(kernels: string[], keys?: string[]): Promise<ScratchRoot> {
  const s = await makeScratchRoot(keys === undefined ? { kernels } : { kernels, keys });
  scratches.push(s);
  return s;
}

/** `kdebuginfo install --root R --cache-dir C ...` in-process, no terminal; root unless told. */
const install = (s: ScratchRoot, args: string[], opts: { isRoot?: boolean; mirrorEnv?: string } = {}): Promise<CliRun> =>
  runCli(['install', '--root', s.root, '--cache-dir', s.cache, ...args], {
    isRoot: opts.isRoot ?? true,
    env: { KDEBUGINFO_MIRROR: opts.mirrorEnv ?? mirror.mirrorEnv },
  });

const lines = (text: string) => text.split('\n');
const isDebianFamilyHost = /^ID="?(debian|ubuntu)"?$/m.test(existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '');
const rpmGets = (server: MirrorServer = mirror.server) => server.requests.filter((q) => q.method === 'GET' && q.path.endsWith('.rpm'));
const actions = (out: { packages: Array<{ file: string; action: string }> }) => out.packages.map((p) => [p.file, p.action]);

/** A file's size, 0 when it does not exist. */
const sizeOf = (path: string) => stat(path).then((st) => st.size, () => 0);

/** Poll until cond holds; generous, as the machine running the suite may be loaded. */
async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The files a kernel's three packages put in place: the proof they are really installed. */
function expectKernelFiles(root: string, uname: string): void {
  const utsrelease = join(root, 'usr/src/kernels', uname, 'include/generated/utsrelease.h');
  expect(readFileSync(utsrelease, 'utf8')).toContain(`#define UTS_RELEASE "${uname}"`);
  expect(existsSync(join(root, 'usr/lib/debug/lib/modules', uname, 'vmlinux'))).toBe(true);
}

describe('install into a scratch root', () => {
  it('installs the three packages with real dnf --installroot (as root, auto picks dnf); --json has the whole contract', async () => {
    const s = await scratch([K362]);
    const r = await install(s, ['--json']);
    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toContain(`installing 3 package(s) with dnf into ${s.root}`);
    const out = r.json(); // throws unless stdout is exactly one JSON document
    // The --json contract: {changed, failed, msg, rc, kernel, os, packages:[{name, file, action}], verify, warnings}.
    for (const k of ['changed', 'failed', 'msg', 'rc', 'kernel', 'os', 'packages', 'verify', 'warnings']) expect(out).toHaveProperty(k);
    expect(out).toMatchObject({ changed: true, failed: false, rc: 0, msg: `installed 3 package(s) for ${K362}`, verify: null, warnings: [] });
    // Into an image root: the probe is for once it boots, not this host's kernel.
    expect(out.next).toEqual([`inside the image, once it boots ${K362}: kdebuginfo verify, then try the probe`]);
    expect(out.packages.map((p: { name: string }) => p.name)).toEqual(['kernel-debuginfo', 'kernel-debuginfo-common-x86_64', 'kernel-devel']);
    expect(out.kernel).toEqual({ uname: K362, version: '5.14.0', release: '362.el9', arch: 'x86_64', flavor: 'default' });
    expect(out.os).toEqual({ id: 'centos-stream', version: '9', name: 'CentOS Stream 9' });
    expect(actions(out)).toEqual(FILES_362.map((f) => [f, 'installed']));
    expect(out.packages.map((p: { size: number }) => p.size)).toEqual(FILES_362.map(fixtureSize));
    expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
    expectKernelFiles(s.root, K362);
    // Downloaded once each, verified and kept in the cache.
    expect(rpmGets().map((q) => q.path.split('/').pop()).sort()).toEqual(FILES_362);
    for (const f of FILES_362) expect((await stat(join(s.cache, f))).size).toBe(fixtureSize(f));
  });

  it('installs with real rpm --root when asked (--package-manager rpm)', async () => {
    const s = await scratch([K362]);
    const r = await install(s, ['--json', '--package-manager', 'rpm']);
    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toContain(`installing 3 package(s) with rpm into ${s.root}`);
    const out = r.json();
    expect(out).toMatchObject({ changed: true, failed: false, rc: 0 });
    expect(actions(out)).toEqual(FILES_362.map((f) => [f, 'installed']));
    expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
    expectKernelFiles(s.root, K362);
  });

  it('picks rpm on its own when not root (dnf refuses to run without root, rpm --root does not)', async () => {
    const s = await scratch([K362]);
    const r = await install(s, ['--json'], { isRoot: false });
    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toContain(`installing 3 package(s) with rpm into ${s.root}`);
    expect(r.json()).toMatchObject({ changed: true, failed: false, rc: 0 });
    expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
    expectKernelFiles(s.root, K362);
  });

  it('is idempotent: a second run downloads nothing, changes nothing, reports changed: false', async () => {
    const s = await scratch([K362]);
    expect((await install(s, ['--json'])).code).toBe(0);
    mirror.server.resetLog();
    const again = await install(s, ['--json']);
    expect(again.code).toBe(0);
    const out = again.json();
    expect(out).toMatchObject({ changed: false, failed: false, rc: 0, msg: `all 3 packages for ${K362} are already installed` });
    expect(actions(out)).toEqual(FILES_362.map((f) => [f, 'present']));
    expect(rpmGets()).toEqual([]);
    expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
  });

  it('--dry-run resolves and reports; downloads and installs nothing', async () => {
    const s = await scratch([K362]);
    const r = await install(s, ['--dry-run', '--json']);
    expect(r.code).toBe(0);
    const out = r.json();
    expect(out).toMatchObject({ changed: true, failed: false, rc: 0, verify: null });
    // The three fixture files' sizes, added up and shown as the user sees them.
    const total = FILES_362.map(fixtureSize).reduce((a, b) => a + b, 0);
    expect(out.msg).toBe(`would download ${formatBytes(total)} and install 3 package(s) for ${K362}`);
    expect(out.msg).toMatch(/^would download 2\d\.\d KiB and install 3 package\(s\)/);
    // A dry run's next step is the real run, not a probe of a kernel that has no debuginfo yet.
    expect(out.next).toEqual(['run the same command without --dry-run to install']);
    expect(actions(out)).toEqual(FILES_362.map((f) => [f, 'would-install']));
    expect(out.packages.map((p: { size: number }) => p.size)).toEqual(FILES_362.map(fixtureSize));
    expect(installedPackages(s.root)).toEqual([]);
    // Resolved through repodata only; not one package requested, no cache made.
    expect(mirror.server.requests.length).toBeGreaterThan(0);
    expect(mirror.server.requests.filter((q) => q.path.endsWith('.rpm'))).toEqual([]);
    expect(existsSync(s.cache)).toBe(false);
  });

  it('--kernel newest-installed picks the newest of several kernels in the root', async () => {
    const s = await scratch(['5.14.0-360.el9.x86_64', K362]);
    const r = await install(s, ['--kernel', 'newest-installed', '--json']);
    expect(r.code).toBe(0);
    expect(r.json().kernel.uname).toBe(K362);
    expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
  });
});

describe('a root that already has some of the packages', () => {
  it('installs only what is missing and reports the rest as present', async () => {
    const s = await scratch([K362]);
    const devel = join(FIXTURE_MIRROR_ROOT, STREAM9, 'AppStream/x86_64/os/Packages', FILES_362[2]!);
    const pre = spawnSync('rpm', ['--root', s.root, '-i', '--nosignature', devel], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    expect(pre.status, pre.stderr).toBe(0);
    const r = await install(s, ['--json']);
    expect(r.code).toBe(0);
    const out = r.json();
    expect(out).toMatchObject({ changed: true, failed: false, rc: 0, msg: `installed 2 package(s) for ${K362}` });
    expect(actions(out)).toEqual([
      [FILES_362[0], 'installed'],
      [FILES_362[1], 'installed'],
      [FILES_362[2], 'present'],
    ]);
    expect(rpmGets().map((q) => q.path.split('/').pop()).sort()).toEqual(FILES_362.slice(0, 2));
    expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
  });
});

describe('signatures', () => {
  const files = (k: string) => [`kernel-debuginfo-${k}.rpm`, `kernel-debuginfo-common-x86_64-${k}.rpm`, `kernel-devel-${k}.rpm`];

  it('refuses unsigned packages, naming each file; --no-gpgcheck installs them with a warning', async () => {
    const s = await scratch([K999]);
    const r = await install(s, []);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toContain(`kdebuginfo: refusing to install: ${files(K999).map((f) => `${f} is not signed`).join('; ')}`);
    // No key can help an unsigned package: the hint does not suggest one.
    expect(lines(r.stderr)).toContain(`hint: install anyway with --no-gpgcheck; the files stay in ${s.cache}`);
    expect(r.stdout).toBe('');
    expect(installedPackages(s.root)).toEqual([]);
    for (const f of files(K999)) expect(existsSync(join(s.cache, f))).toBe(true);
    expect(existsSync(join(s.cache, 'install.lock'))).toBe(false);

    const forced = await install(s, ['--no-gpgcheck', '--json']);
    expect(forced.code).toBe(0);
    expect(lines(forced.stderr)).toContain('warning: signatures not checked (--no-gpgcheck)');
    const out = forced.json();
    expect(out).toMatchObject({ changed: true, failed: false, rc: 0, warnings: ['signatures not checked (--no-gpgcheck)'] });
    expect(actions(out)).toEqual(files(K999).map((f) => [f, 'installed']));
    expect(installedPackages(s.root)).toEqual(nvrasFor(K999));
  });

  it('refuses packages signed with a key the root does not trust; --gpg-key FILE trusts it', async () => {
    const s = await scratch([K998]);
    const r = await install(s, []);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toContain(
      `kdebuginfo: refusing to install: ${files(K998).map((f) => `${f} is signed with a key that is not trusted (key ID dd78d1b8)`).join('; ')}`,
    );
    expect(installedPackages(s.root)).toEqual([]);

    const trusted = await install(s, ['--gpg-key', OTHER_KEY, '--json']);
    expect(trusted.code).toBe(0);
    expect(trusted.json()).toMatchObject({ changed: true, failed: false, rc: 0, warnings: [] });
    expect(installedPackages(s.root)).toEqual(nvrasFor(K998));
  });

  it('refuses when the root trusts no key and none is given; --gpg-key FILE supplies one', async () => {
    const s = await scratch([K362], []);
    mirror.server.resetLog();
    const r = await install(s, []);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toContain(`kdebuginfo: no trusted GPG keys: none in ${s.root}/etc/pki/rpm-gpg and no --gpg-key given`);
    // Refused before the download, not after it.
    expect(rpmGets()).toEqual([]);
    expect(existsSync(s.cache)).toBe(false);
    expect(lines(r.stderr)).toContain(
      'hint: pass the distro key with --gpg-key FILE (e.g. RPM-GPG-KEY-centosofficial), or --no-gpgcheck to skip the check',
    );
    expect(installedPackages(s.root)).toEqual([]);

    const keyed = await install(s, ['--gpg-key', TEST_KEY, '--json']);
    expect(keyed.code).toBe(0);
    expect(keyed.json()).toMatchObject({ changed: true, failed: false, rc: 0, warnings: [] });
    expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
  });

  describe('a tampered package', () => {
    let tamperedTree: string;
    let tampered: MirrorServer;
    let tamperedEnv: string;

    /** Flip one byte inside the RPM's main header, which the header-only signature covers. */
    async function tamperHeader(file: string): Promise<void> {
      const bytes = await readFile(file);
      const at = bytes.indexOf('Debug information for');
      expect(at).toBeGreaterThan(0);
      bytes[at] = 'd'.charCodeAt(0);
      await writeFile(file, bytes);
    }

    beforeAll(async () => {
      const s = await scratch([]);
      tamperedTree = join(s.dir, 'mirror');
      await cp(FIXTURE_MIRROR_ROOT, tamperedTree, { recursive: true });
      await tamperHeader(join(tamperedTree, DEBUGINFO_362_PATH));
      tampered = await startMirrorServer({ root: tamperedTree });
      extraServers.push(tampered);
      tamperedEnv = mirror.mirrorEnv.replaceAll(mirror.server.url, tampered.url);
    });

    it('whose repodata no longer matches is a checksum failure at download, not a signature verdict', async () => {
      const s = await scratch([K362]);
      const r = await install(s, [], { mirrorEnv: tamperedEnv });
      const original = PACKAGES.find((p) => `/${p.path}` === DEBUGINFO_362_PATH)!;
      const url = `${tampered.url}${DEBUGINFO_362_PATH}`;
      const actual = createHash('sha256').update(await readFile(join(tamperedTree, DEBUGINFO_362_PATH))).digest('hex');
      expect(r.code).toBe(1);
      const err = lines(r.stderr);
      expect(err).toContain('kdebuginfo: download failed:');
      expect(err).toContain(`kernel-debuginfo-${K362}.rpm: no mirror gave a good copy`);
      expect(err).toContain(`  ${url}: kernel-debuginfo-${K362}.rpm from ${url}: sha256 mismatch: expected ${original.sha256}, got ${actual}`);
      expect(err).toContain('hint: a mirror serves a damaged or different file: name another with --mirror FROM=TO');
      expect(r.stderr).not.toContain('signature');
      expect(installedPackages(s.root)).toEqual([]);
      // Not one byte of the bad copy is kept: neither in place nor in a .part to resume from.
      expect(existsSync(join(s.cache, `kernel-debuginfo-${K362}.rpm`))).toBe(false);
      expect(await sizeOf(join(s.cache, `kernel-debuginfo-${K362}.rpm.part`))).toBe(0);
    });

    it('with repodata regenerated over it (createrepo_c) is a BAD signature, refused', async () => {
      // A tiny repo of the tampered debuginfo and the genuine common package, its repodata made
      // by createrepo_c, so the download checksum passes and only the signature can tell.
      const s = await scratch([K362]);
      const tiny = join(s.dir, 'tiny');
      await mkdir(join(tiny, 'Packages'), { recursive: true });
      await cp(join(tamperedTree, DEBUGINFO_362_PATH), join(tiny, 'Packages', FILES_362[0]!));
      await cp(join(FIXTURE_MIRROR_ROOT, DEBUG_TREE, 'Packages', FILES_362[1]!), join(tiny, 'Packages', FILES_362[1]!));
      const made = spawnSync('createrepo_c', ['-q', tiny], { encoding: 'utf8' });
      expect(made.status, made.stderr).toBe(0);
      const tinyServer = await startMirrorServer({ root: tiny });
      extraServers.push(tinyServer);

      const r = await install(s, ['--mirror', `https://mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree=${tinyServer.url}`]);
      expect(r.code).toBe(1);
      expect(rpmGets(tinyServer).map((q) => q.path)).toContain(`/Packages/${FILES_362[0]}`);
      const refusal = lines(r.stderr).find((l) => l.startsWith('kdebuginfo: refusing to install: '));
      expect(refusal).toMatch(/^kdebuginfo: refusing to install: kernel-debuginfo-5\.14\.0-362\.el9\.x86_64\.rpm has a BAD signature: it was changed after signing \(Header V4 RSA\/SHA256 Signature, key ID bbdfec8a: BAD; Header SHA256 digest: BAD \(Expected [0-9a-f]{64} != [0-9a-f]{64}\)/);
      // Only the tampered one is named: the genuine common and devel packages pass.
      expect(refusal).not.toContain(FILES_362[1]);
      expect(refusal).not.toContain(FILES_362[2]);
      expect(installedPackages(s.root)).toEqual([]);
    });
  });
});

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('the install lock', () => {
  it('fails at once with --no-wait, and otherwise waits, saying so, until the holder is gone', async () => {
    const s = await scratch([K362]);
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = holder.pid!;
      const lock = join(s.cache, 'install.lock');
      await mkdir(s.cache, { recursive: true });
      await writeFile(lock, `${pid}\n`);

      const r = await install(s, ['--no-wait']);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toContain(`kdebuginfo: another kdebuginfo (pid ${pid}) is using this cache; lock ${lock}`);
      expect(lines(r.stderr)).toContain('hint: wait for it to finish, or run again without --no-wait to wait');
      expect(rpmGets()).toEqual([]);
      expect(await readFile(lock, 'utf8')).toBe(`${pid}\n`);

      const waiting = startCli(['install', '--root', s.root, '--cache-dir', s.cache, '--json'], { isRoot: true, env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv } });
      const notice = `waiting for another kdebuginfo (pid ${pid}) to finish...`;
      await until(() => lines(waiting.stderr()).includes(notice), 'the waiting notice');
      await sleep(700); // longer than one poll of the lock
      expect(rpmGets()).toEqual([]);
      expect(installedPackages(s.root)).toEqual([]);
      holder.kill();
      await exited(holder, 5_000);

      const r2 = await waiting.done;
      expect(r2.code).toBe(0);
      expect(lines(r2.stderr).filter((l) => l === notice)).toHaveLength(1);
      expect(r2.json()).toMatchObject({ changed: true, failed: false, rc: 0 });
      expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
      expect(existsSync(lock)).toBe(false);
    } finally {
      holder.kill();
    }
  });

  it('a run that waited re-checks the root: what the other run installed meanwhile is "present"', async () => {
    const s = await scratch([K362]);
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await mkdir(s.cache, { recursive: true });
      await writeFile(join(s.cache, 'install.lock'), `${other.pid}\n`);
      const waiting = startCli(['install', '--root', s.root, '--cache-dir', s.cache, '--json'], { isRoot: true, env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv } });
      await until(() => waiting.stderr().includes(`waiting for another kdebuginfo (pid ${other.pid}) to finish...`), 'the waiting notice');
      // Meanwhile the lock holder finishes the job: the three packages land in the root.
      const files = [`${DEBUG_TREE}/Packages/${FILES_362[0]}`, `${DEBUG_TREE}/Packages/${FILES_362[1]}`, `${STREAM9}/AppStream/x86_64/os/Packages/${FILES_362[2]}`];
      const done = spawnSync('rpm', ['--root', s.root, '-i', '--nosignature', ...files.map((f) => join(FIXTURE_MIRROR_ROOT, f))], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      });
      expect(done.status, done.stderr).toBe(0);
      other.kill();

      const r = await waiting.done;
      expect(r.code).toBe(0);
      const out = r.json();
      expect(out).toMatchObject({ changed: false, failed: false, rc: 0, msg: `all 3 packages for ${K362} are already installed` });
      expect(actions(out)).toEqual(FILES_362.map((f) => [f, 'present']));
      expect(rpmGets()).toEqual([]);
      expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
    } finally {
      other.kill();
    }
  });
});

describe('Ctrl-C', () => {
  let cli: string;
  beforeAll(async () => {
    cli = await ensureBuiltCli();
  });

  /** The real CLI as a child process (a signal needs a process), as root, on the fixture mirror. */
  function spawnCli(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string } {
    const child = spawn(process.execPath, [cli, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, KDEBUGINFO_MIRROR: mirror.mirrorEnv },
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    return { child, stdout: () => out, stderr: () => err };
  }

  it('mid-download stops with exit 130 keeping the .part; a re-run resumes with Range and completes', async () => {
    const s = await scratch([K362]);
    const file = `kernel-debuginfo-${K362}.rpm`;
    const part = join(s.cache, `${file}.part`);
    const stall = mirror.server.fault(DEBUGINFO_362_PATH, { stallAfterBytes: 4096 });
    const first = spawnCli(['install', '--root', s.root, '--cache-dir', s.cache, '--yes', '--json']);
    // The server has sent 4 KiB and holds the rest back, and the client says it has them.
    await until(() => mirror.server.requests.some((q) => q.path === DEBUGINFO_362_PATH && q.bytesSent === 4096), 'the stall at 4096 bytes');
    await until(() => first.stderr().includes(`${file}: 50% (4.0 KiB of 7.7 KiB`), 'the progress line at 4 KiB');
    first.child.kill('SIGINT');
    expect(await exited(first.child, 10_000)).toBe(130);
    const err = lines(first.stderr());
    expect(err).toContain('kdebuginfo: SIGINT: stopping (again to quit at once)');
    expect(err).toContain(`kdebuginfo: interrupted: partial downloads kept in ${s.cache}; run again to resume`);
    expect(JSON.parse(first.stdout())).toMatchObject({ failed: true, rc: 130, changed: false });
    expect(await sizeOf(part)).toBe(4096);
    expect(existsSync(join(s.cache, file))).toBe(false);
    expect(existsSync(join(s.cache, 'install.lock'))).toBe(false);
    expect(installedPackages(s.root)).toEqual([]);

    stall.remove();
    // What is left to fetch: the rest of the .part, and only those other files not already in the cache.
    const left = fixtureSize(file) - 4096 + FILES_362.filter((f) => f !== file && !existsSync(join(s.cache, f))).map(fixtureSize).reduce((a, b) => a + b, 0);
    expect(left).toBeLessThan(FILES_362.map(fixtureSize).reduce((a, b) => a + b, 0) - 4096 + 1);
    const dry = await install(s, ['--dry-run', '--json']);
    expect(dry.json().msg).toBe(`would download ${formatBytes(left)} and install 3 package(s) for ${K362}`);
    mirror.server.resetLog();
    const second = spawnCli(['install', '--root', s.root, '--cache-dir', s.cache, '--yes']);
    expect(await exited(second.child, 20_000)).toBe(0);
    const resumed = rpmGets().filter((q) => q.path === DEBUGINFO_362_PATH);
    expect(resumed.map((q) => [q.range, q.status])).toEqual([['bytes=4096-', 206]]);
    expect(resumed[0]!.bytesSent).toBe(fixtureSize(file) - 4096);
    expect(existsSync(part)).toBe(false);
    expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
    expectKernelFiles(s.root, K362);
  });

  it("while waiting for the install lock stops with exit 130 and leaves the holder's lock alone", async () => {
    const s = await scratch([K362]);
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const lock = join(s.cache, 'install.lock');
      await mkdir(s.cache, { recursive: true });
      await writeFile(lock, `${holder.pid}\n`);
      const run = spawnCli(['install', '--root', s.root, '--cache-dir', s.cache, '--yes']);
      await until(() => run.stderr().includes(`waiting for another kdebuginfo (pid ${holder.pid}) to finish...`), 'the waiting notice');
      run.child.kill('SIGINT');
      expect(await exited(run.child, 5_000)).toBe(130);
      expect(await readFile(lock, 'utf8')).toBe(`${holder.pid}\n`);
      expect(rpmGets()).toEqual([]);
      expect(installedPackages(s.root)).toEqual([]);
    } finally {
      holder.kill();
    }
  });
});

describe('without root or a terminal', () => {
  it.skipIf(!isDebianFamilyHost)('an RPM kernel into / of a Debian/Ubuntu host: refused up front (exit 2); a dry run says so in a warning', async () => {
    const args = ['install', '--kernel', K362, '--os', 'centos-stream:9', '--no-systemtap', '--json'];
    const why = new RegExp(`^${K362.replace(/[.]/g, '\\.')} is a CentOS Stream 9 kernel, and this host is (debian|ubuntu): its RPMs cannot be installed into / here`);
    const r = await runCli(args, { isRoot: true, env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv } });
    expect(r.code).toBe(2);
    expect(r.json().msg).toMatch(why);
    expect(lines(r.stderr)).toContain(`hint: install into an image root with --root DIR, fetch them with kdebuginfo download or bundle, or run kdebuginfo on the CentOS Stream 9 host`);
    expect(mirror.server.requests).toEqual([]);
    // --gpg-key: this host's / trusts no RPM key, which is checked before anything is fetched.
    const dry = await runCli([...args, '--dry-run', '--gpg-key', TEST_KEY], { isRoot: true, env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv } });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json().warnings[0]).toMatch(why);
    expect(dry.json().warnings[0]).toMatch(/; this dry run shows what a CentOS Stream 9 host would do$/);
  });

  it('installing onto this host as non-root is exit 4', async () => {
    const r = await runCli(['install', '--kernel', K362, '--os', 'centos-stream:9', '--yes'], {
      isRoot: false,
      env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv },
    });
    expect(r.code).toBe(4);
    expect(lines(r.stderr)).toContain('kdebuginfo: installing packages on this host needs root');
    expect(lines(r.stderr)).toContain('hint: run it with sudo, or use --dry-run to see what would change');
    expect(mirror.server.requests).toEqual([]);
  });

  it('a root with two kernels and no --kernel is exit 2 naming --kernel (no terminal to ask on)', async () => {
    const s = await scratch(['5.14.0-360.el9.x86_64', K362]);
    const r = await install(s, []);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toContain(
      `kdebuginfo: several kernels in ${s.root}/lib/modules (5.14.0-360.el9.x86_64, ${K362}): say which with --kernel R or --kernel newest-installed`,
    );
    expect(mirror.server.requests).toEqual([]);
    expect(installedPackages(s.root)).toEqual([]);
  });
});

describe('--json: exactly one document on stdout', () => {
  // Success is asserted field by field in the first test of this file (with dnf).

  it('on a kernel no mirror has: exit 3, failed: true, rc 3', async () => {
    const s = await scratch([K362]);
    const r = await install(s, ['--kernel', '5.14.0-1.el9.x86_64', '--json']);
    expect(r.code).toBe(3);
    const out = r.json();
    expect(out.failed).toBe(true);
    expect(out.rc).toBe(3);
    expect(out.changed).toBe(false);
    expect(lines(out.msg)[0]).toBe(
      'not found on any mirror: kernel-debuginfo-5.14.0-1.el9.x86_64.rpm, kernel-debuginfo-common-x86_64-5.14.0-1.el9.x86_64.rpm, kernel-devel-5.14.0-1.el9.x86_64.rpm',
    );
    expect(out.kernel.uname).toBe('5.14.0-1.el9.x86_64');
    expect(lines(r.stderr)[0]).toBe(`kdebuginfo: ${lines(out.msg)[0]}`);
  });

  it('on a refused signature: exit 1, failed: true, rc 1, nothing changed', async () => {
    const s = await scratch([K999]);
    const r = await install(s, ['--json']);
    expect(r.code).toBe(1);
    const out = r.json();
    expect(out).toMatchObject({ failed: true, rc: 1, changed: false });
    expect(out.msg).toMatch(/^refusing to install: kernel-debuginfo-5\.14\.0-999\.el9\.x86_64\.rpm is not signed; /);
    expect(actions(out)).toEqual(
      [`kernel-debuginfo-${K999}.rpm`, `kernel-debuginfo-common-x86_64-${K999}.rpm`, `kernel-devel-${K999}.rpm`].map((f) => [f, 'would-install']),
    );
  });

  it('on a usage error that commander reports (a bad --verify level, an unknown flag): exit 2, failed: true, rc 2', async () => {
    const s = await scratch([K362]);
    for (const bad of [['--verify', 'bogus'], ['--bogus']]) {
      const r = await install(s, ['--json', ...bad]);
      expect(r.code).toBe(2);
      const out = r.json();
      expect(out).toMatchObject({ failed: true, rc: 2, changed: false });
      expect(typeof out.msg).toBe('string');
    }
    expect(existsSync(s.cache)).toBe(false);
    expect(mirror.server.requests).toEqual([]);
  });

  it('never says changed: false when packages went in, whatever happens after (here: --verify resolve on a fixture root)', async () => {
    const s = await scratch([K362]);
    const r = await install(s, ['--verify', 'resolve', '--json']);
    const out = r.json();
    expect(out.rc).toBe(r.code);
    expect(out.failed).toBe(r.code !== 0);
    expect(out.changed).toBe(installedPackages(s.root).length > 0);
  });
});
