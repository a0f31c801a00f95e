import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { FIXTURE_MIRROR_ROOT, startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';
import { ensureBuiltCli, installedPackages, makeScratchRoot, nvrasFor, type ScratchRoot } from '../support/scratch-root.js';
import { kernelNotes } from '../support/kernel-notes.js';
import { createExec } from '../../src/io/exec.js';
import { readInstallRecord, recordInstall } from '../../src/io/install-record.js';

// The lifecycle commands against real rpm --root image roots: kdebuginfo's own install (the real
// CLI, from the fixture mirror), followed by the record the install flow writes (recordInstall,
// called here exactly as install does after a successful install); and packages "the user"
// installed with plain rpm, which kdebuginfo must not remove on its own.

const K362 = '5.14.0-362.el9.x86_64';
const K300 = '5.14.0-300.el9.x86_64';
const BUILD_IDS: Record<string, string> = JSON.parse(readFileSync(join(FIXTURE_MIRROR_ROOT, 'BUILD-IDS.json'), 'utf8'));
const KOJI_300 = join(FIXTURE_MIRROR_ROOT, 'kojihub.stream.centos.org/kojifiles/packages/kernel/5.14.0/300.el9/x86_64');
const STREAM9 = join(FIXTURE_MIRROR_ROOT, 'mirror.stream.centos.org/9-stream');
const FILES_362 = [
  join(STREAM9, `BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-${K362}.rpm`),
  join(STREAM9, `BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-common-x86_64-${K362}.rpm`),
  join(STREAM9, `AppStream/x86_64/os/Packages/kernel-devel-${K362}.rpm`),
];
const FILES_300 = ['kernel-debuginfo', 'kernel-debuginfo-common-x86_64', 'kernel-devel'].map((n) => join(KOJI_300, `${n}-${K300}.rpm`));

const env = { PATH: process.env.PATH, HOME: process.env.HOME };
const exec = createExec({ env, dryRun: false });

let mirror: FixtureMirror;
const scratches: ScratchRoot[] = [];
beforeAll(async () => {
  mirror = await startFixtureMirror();
});
afterAll(async () => {
  await mirror?.close();
  for (const s of scratches) await s.remove();
});

async function scratch(kernels: string[]): Promise<ScratchRoot> {
  const s = await makeScratchRoot({ kernels });
  scratches.push(s);
  return s;
}

/** What `rpm --root R -q --qf` says, one line per NVRA. */
function rpmQuery(root: string, format: string, nvras: string[]): string[] {
  const r = spawnSync('rpm', ['--root', root, '-q', '--qf', format, ...nvras], { encoding: 'utf8', env: { ...env, LC_ALL: 'C' } });
  return r.stdout.split('\n').filter(Boolean);
}

/** "The user" installs packages with plain rpm: nothing records them. */
function userInstalls(root: string, files: string[], extra: string[] = []): void {
  const r = spawnSync('rpm', ['--root', root, '-i', '--nosignature', '--oldpackage', ...extra, ...files], { encoding: 'utf8', env: { ...env, LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`rpm -i exited ${r.status}: ${r.stderr}`);
}

/** kdebuginfo's install into the root, then the record the install flow writes. */
async function kdebuginfoInstalls(s: ScratchRoot, kernel: string): Promise<void> {
  const r = await runCli(['install', '--root', s.root, '--cache-dir', s.cache, '--kernel', kernel, '--json'], { env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv } });
  expect(r.code, r.stderr).toBe(0);
  const installed = (r.json().packages as Array<{ name: string; file: string; action: string }>).filter((p) => p.action === 'installed');
  await recordInstall(exec, { root: s.root, family: 'rpm', kernel, packages: installed.map((p) => ({ name: p.name, key: p.file.replace(/\.rpm$/, '') })) });
}

const sizesOf = (root: string, uname: string) => rpmQuery(root, '%{SIZE}\n', nvrasFor(uname)).reduce((n, l) => n + Number(l), 0);

describe('list, remove on a real rpm root', () => {
  let s: ScratchRoot;
  beforeAll(async () => {
    s = await scratch([K300, K362]);
    await kdebuginfoInstalls(s, K362);
    userInstalls(s.root, FILES_300);
  });

  it('list: every kernel, ready, what is installed, by whom, and the disk its packages use (rpm %{SIZE})', async () => {
    const r = await runCli(['list', '--root', s.root, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out).toMatchObject({ root: s.root, family: 'rpm', running: null });
    expect(out.kernels.map((k: { kernel: string }) => k.kernel)).toEqual([K300, K362]);
    const [k300, k362] = out.kernels;
    expect(k362).toMatchObject({ kernelInstalled: true, running: false, ready: true, status: 'ready', buildId: null, diskBytes: sizesOf(s.root, K362) });
    expect(k362.packages.map((p: { key: string; byKdebuginfo: boolean; role: string }) => [p.role, p.key, p.byKdebuginfo])).toEqual([
      ['debuginfo', `kernel-debuginfo-${K362}`, true],
      ['debuginfo-common', `kernel-debuginfo-common-x86_64-${K362}`, true],
      ['devel', `kernel-devel-${K362}`, true],
    ]);
    expect(k300).toMatchObject({ ready: true, diskBytes: sizesOf(s.root, K300) });
    expect(k300.packages.every((p: { byKdebuginfo: boolean }) => !p.byKdebuginfo)).toBe(true);
    expect(out.totalBytes).toBe(sizesOf(s.root, K300) + sizesOf(s.root, K362));
    expect(sizesOf(s.root, K362)).toBeGreaterThan(0);

    const text = await runCli(['list', '--root', s.root]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^KERNEL\s+STATUS\s+DISK\s+PACKAGES$/);
    expect(lines.find((l) => l.startsWith(K300))).toContain('kernel-devel (not by kdebuginfo)');
    expect(lines.find((l) => l.startsWith(K362))).toMatch(/ready .*kernel-debuginfo, kernel-debuginfo-common-x86_64, kernel-devel$/);
  });

  it('remove refuses to touch packages kdebuginfo did not install, without a terminal or --yes', async () => {
    const r = await runCli(['remove', '--root', s.root, '--kernel', K300, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n')).toContain(`warning: not removing ${nvrasFor(K300).join(', ')}: not installed by kdebuginfo (--yes removes it too)`);
    const out = r.json();
    expect(out).toMatchObject({ changed: false, removed: [], freedBytes: 0 });
    expect(out.kept.map((k: { reason: string }) => k.reason)).toEqual(Array(3).fill('not installed by kdebuginfo'));
    expect(installedPackages(s.root)).toEqual([...nvrasFor(K300), ...nvrasFor(K362)].sort());
  });

  it('remove --dry-run says what would go and changes nothing', async () => {
    const r = await runCli(['remove', '--root', s.root, '--kernel', K362, '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ changed: true, msg: expect.stringMatching(new RegExp(`^would remove 3 package\\(s\\) for ${K362}`)), freedBytes: sizesOf(s.root, K362) });
    expect(installedPackages(s.root)).toEqual([...nvrasFor(K300), ...nvrasFor(K362)].sort());
  });

  it('a package the user installed again after kdebuginfo (another INSTALLTID) is no longer kdebuginfo\'s: remove keeps it', async () => {
    // INSTALLTID is in seconds: wait for the next one.
    await sleep(1100);
    userInstalls(s.root, [FILES_362[2] as string], ['--replacepkgs']);
    const r = await runCli(['remove', '--root', s.root, '--kernel', K362, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out.removed.map((p: { key: string }) => p.key)).toEqual([`kernel-debuginfo-${K362}`, `kernel-debuginfo-common-x86_64-${K362}`]);
    expect(out.kept).toEqual([{ name: 'kernel-devel', key: `kernel-devel-${K362}`, reason: 'not installed by kdebuginfo' }]);
    expect(installedPackages(s.root)).toEqual([...nvrasFor(K300), `kernel-devel-${K362}`].sort());
    // Nothing of kdebuginfo's is left for that kernel: its record is gone.
    expect(await readInstallRecord(s.root, K362)).toBeUndefined();
    const list = (await runCli(['list', '--root', s.root, '--json'])).json();
    expect(list.kernels[1]).toMatchObject({ kernel: K362, status: 'incomplete', detail: 'missing: debuginfo, debuginfo-common', ready: false });
  });

  it('remove --yes removes the kernel\'s packages the user installed too', async () => {
    const r = await runCli(['remove', '--root', s.root, '--kernel', K300, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed 3 package(s) for ${K300}`);
    expect(r.stdout).toContain(`removed       kernel-devel-${K300} (not installed by kdebuginfo)`);
    expect(installedPackages(s.root)).toEqual([`kernel-devel-${K362}`]);
  });

  it('remove for a kernel with nothing installed changes nothing; --kernel is required', async () => {
    const none = await runCli(['remove', '--root', s.root, '--kernel', K300, '--json']);
    expect(none.json()).toMatchObject({ changed: false, msg: `nothing installed for ${K300}` });
    const missing = await runCli(['remove', '--root', s.root]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--kernel <release>' not specified");
  });
});

describe('remove keeps what another kernel shares', () => {
  it('the -common package of a build stays while another flavour of that build is installed', async () => {
    const KDEBUG = `${K362}+debug`;
    const s = await scratch([K362, KDEBUG]);
    userInstalls(s.root, [...FILES_362, join(STREAM9, `BaseOS/x86_64/debug/tree/Packages/kernel-debug-debuginfo-${K362}.rpm`)]);
    const keys = [`kernel-debuginfo-${K362}`, `kernel-debuginfo-common-x86_64-${K362}`, `kernel-devel-${K362}`];
    await recordInstall(exec, { root: s.root, family: 'rpm', kernel: K362, packages: keys.map((key) => ({ name: key.slice(0, key.indexOf('-5.14')), key })) });
    const r = await runCli(['remove', '--root', s.root, '--kernel', K362, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out.removed.map((p: { key: string }) => p.key)).toEqual([keys[0], keys[2]]);
    expect(out.kept).toEqual([{ name: 'kernel-debuginfo-common-x86_64', key: keys[1], reason: `also serves ${KDEBUG}` }]);
    expect(installedPackages(s.root)).toEqual([`kernel-debug-debuginfo-${K362}`, keys[1]]);
  });
});

describe('list: the running kernel is proven by its build-id', () => {
  async function runningRoot(buildId: string): Promise<ScratchRoot> {
    const s = await scratch([K362]);
    userInstalls(s.root, FILES_362);
    await mkdir(join(s.root, 'proc/sys/kernel'), { recursive: true });
    await writeFile(join(s.root, 'proc/sys/kernel/osrelease'), `${K362}\n`);
    await mkdir(join(s.root, 'sys/kernel'), { recursive: true });
    await writeFile(join(s.root, 'sys/kernel/notes'), kernelNotes(buildId, K362));
    return s;
  }

  it('ready when the debuginfo vmlinux has the running kernel\'s build-id', async () => {
    const s = await runningRoot(BUILD_IDS[K362] as string);
    const out = (await runCli(['list', '--root', s.root, '--json'])).json();
    expect(out.running).toBe(K362);
    expect(out.kernels[0]).toMatchObject({ kernel: K362, running: true, ready: true, buildId: { debuginfo: BUILD_IDS[K362], running: BUILD_IDS[K362] } });
  });

  it('not ready when the build-ids differ, and the text says why', async () => {
    const other = BUILD_IDS[K300] as string;
    const s = await runningRoot(other);
    const out = (await runCli(['list', '--root', s.root, '--json'])).json();
    expect(out.kernels[0]).toMatchObject({ running: true, ready: false, status: 'mismatch', detail: `debuginfo build-id ${BUILD_IDS[K362]} is not the running kernel's ${other}` });
    const text = (await runCli(['list', '--root', s.root])).stdout;
    expect(text).toContain(`${K362} (running)  mismatch`);
    expect(text).toContain(`${K362}: debuginfo build-id ${BUILD_IDS[K362]} is not the running kernel's ${other}`);
  });
});

describe('the install record', () => {
  it('records each package with its INSTALLTID; a record that is a link is refused, naming it', async () => {
    const s = await scratch([K362]);
    userInstalls(s.root, FILES_362);
    await recordInstall(exec, { root: s.root, family: 'rpm', kernel: K362, packages: [{ name: 'kernel-devel', key: `kernel-devel-${K362}` }] });
    const path = join(s.root, 'var/lib/kdebuginfo/installed', `${K362}.json`);
    const record = JSON.parse(await readFile(path, 'utf8'));
    expect(record).toEqual({ format: 1, kernel: K362, family: 'rpm', packages: [{ name: 'kernel-devel', key: `kernel-devel-${K362}`, stamp: rpmQuery(s.root, '%{INSTALLTID}\n', [`kernel-devel-${K362}`])[0] }] });
    expect((await lstat(path)).mode & 0o777).toBe(0o644);

    const s2 = await scratch([K362]);
    await mkdir(join(s2.root, 'var/lib/kdebuginfo/installed'), { recursive: true });
    await symlink(path, join(s2.root, 'var/lib/kdebuginfo/installed', `${K362}.json`));
    const r = await runCli(['list', '--root', s2.root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`kdebuginfo: install record ${join(s2.root, 'var/lib/kdebuginfo/installed', `${K362}.json`)}: not a regular file`);
  });
});

describe('prune on a real rpm root', () => {
  it('removes the packages of kernels no longer installed, keeps the running kernel\'s (and its cached files), empties the cache', async () => {
    const s = await scratch([K300, K362]);
    await kdebuginfoInstalls(s, K300);
    await kdebuginfoInstalls(s, K362);
    const cached = [...FILES_300, ...FILES_362].map((f) => f.split('/').pop() as string).sort();
    expect((await readdir(s.cache)).filter((f) => f.endsWith('.rpm')).sort()).toEqual(cached);
    await writeFile(join(s.cache, `kernel-devel-${K300}.rpm.part`), 'half a download');
    await writeFile(join(s.cache, 'notes.txt'), 'not a cache file: left alone');
    // Both kernels' packages are gone (their modules directories with them); 362 still runs.
    await rm(join(s.root, 'lib/modules', K300), { recursive: true });
    await rm(join(s.root, 'lib/modules', K362), { recursive: true });
    await mkdir(join(s.root, 'proc/sys/kernel'), { recursive: true });
    await writeFile(join(s.root, 'proc/sys/kernel/osrelease'), `${K362}\n`);

    const dry = await runCli(['prune', '--root', s.root, '--cache-dir', s.cache, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json()).toMatchObject({ changed: true, msg: expect.stringMatching(/^would remove 3 package\(s\) of 1 kernel\(s\) no longer installed and 4 cached file\(s\)/) });
    expect(installedPackages(s.root)).toEqual([...nvrasFor(K300), ...nvrasFor(K362)].sort());
    expect((await readdir(s.cache)).filter((f) => f !== 'install.lock').sort()).toEqual([...cached, `kernel-devel-${K300}.rpm.part`, 'notes.txt'].sort());

    const r = await runCli(['prune', '--root', s.root, '--cache-dir', s.cache, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out.kernels.map((k: { kernel: string; removed: Array<{ key: string }> }) => [k.kernel, k.removed.map((p) => p.key)])).toEqual([[K300, nvrasFor(K300)]]);
    expect(out.cache.removed.map((f: { file: string }) => f.file)).toEqual([...FILES_300.map((f) => f.split('/').pop()), `kernel-devel-${K300}.rpm.part`].sort());
    expect(out.cache.kept).toEqual(FILES_362.map((f) => f.split('/').pop()).sort());
    expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
    expect((await readdir(s.cache)).filter((f) => f !== 'install.lock').sort()).toEqual([...FILES_362.map((f) => f.split('/').pop() as string), 'notes.txt'].sort());

    const again = await runCli(['prune', '--root', s.root, '--cache-dir', s.cache, '--json']);
    expect(again.json()).toMatchObject({ changed: false, msg: 'nothing to prune', kernels: [] });
  });

  it('--keep-cache leaves the cache alone', async () => {
    const s = await scratch([K362]);
    await mkdir(s.cache, { recursive: true });
    await writeFile(join(s.cache, `kernel-devel-${K300}.rpm`), 'x');
    const r = await runCli(['prune', '--root', s.root, '--cache-dir', s.cache, '--keep-cache', '--json']);
    expect(r.json()).toMatchObject({ changed: false, cache: null });
    expect(await readdir(s.cache)).toEqual([`kernel-devel-${K300}.rpm`]);
  });
});

describe('remove on a terminal', () => {
  it('asks before removing packages kdebuginfo did not install (default no); yes removes them', async () => {
    const cli = await ensureBuiltCli();
    const s = await scratch([K300]);
    userInstalls(s.root, FILES_300);
    const quoted = [process.execPath, cli, 'remove', '--root', s.root, '--kernel', K300].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', quoted, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...env, TERM: 'xterm' } });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');
    const flat = () => screen.replace(ansi, '').replace(/\s+/g, ' ');
    const deadline = Date.now() + 30_000;
    while (!flat().includes('were not installed by kdebuginfo. Remove them too? (y/N)')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no question; the terminal showed:\n${flat()}`);
      await sleep(25);
    }
    expect(flat()).toContain(`${nvrasFor(K300).join(', ')} were not installed by kdebuginfo.`);
    child.stdin.write('y\r');
    expect(await exit).toBe(0);
    expect(flat()).toContain(`removed 3 package(s) for ${K300}`);
    expect(installedPackages(s.root)).toEqual([]);
  });
});
