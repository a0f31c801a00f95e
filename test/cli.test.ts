import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { startFixtureMirror, type FixtureMirror } from './support/fixture-mirror.js';
import { TEST_KEY, ensureBuiltCli, makeScratchRoot, type ScratchRoot } from './support/scratch-root.js';

// Flags that can be checked without the network are checked before a command starts: exit 2,
// one line naming the flag, nothing fetched, nothing written. Each case here used to get further:
// a missing --gpg-key failed after the download with exit 1, --root /no/such/root said "no kernel
// in /no/such/root/lib/modules" (and a dry run created it), a relative root was read against
// another directory, --idle-timeout 1e12 made Node print a TimeoutOverflowWarning, and
// `verify --kernel ../../x` reached stap as `-r ../../x`.

const K362 = '5.14.0-362.el9.x86_64';
let mirror: FixtureMirror;
let work: string;
const scratches: ScratchRoot[] = [];

beforeAll(async () => {
  mirror = await startFixtureMirror();
  work = await mkdtemp(join(tmpdir(), 'kdebuginfo-cli-'));
});
afterAll(async () => {
  await mirror?.close();
  for (const s of scratches) await s.remove();
  await rm(work, { recursive: true, force: true });
});
beforeEach(() => mirror.server.resetLog());

async function scratch(): Promise<ScratchRoot> {
  const s = await makeScratchRoot({ kernels: [K362] });
  scratches.push(s);
  return s;
}

const lines = (text: string) => text.split('\n').filter(Boolean);

/** Every file and directory under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

/** A usage error: exit 2, exactly this one line on stderr, nothing asked of the mirror. */
function expectUsage(r: { code: number; stderr: string }, line: string): void {
  expect(r.code).toBe(2);
  expect(lines(r.stderr)).toEqual([`kdebuginfo: ${line}`]);
  expect(mirror.server.requests).toEqual([]);
}

describe('--gpg-key', () => {
  it('a missing key file is exit 2 before anything is downloaded (it was exit 1 after the download)', async () => {
    const s = await scratch();
    const missing = join(work, 'no-such-key');
    const r = await runCli(['install', '--root', s.root, '--cache-dir', s.cache, '--gpg-key', missing, '--json'], {
      isRoot: true,
      env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv },
    });
    expectUsage(r, `--gpg-key ${missing}: no such file`);
    expect(r.json()).toMatchObject({ failed: true, rc: 2, msg: `--gpg-key ${missing}: no such file` });
    expect(existsSync(s.cache)).toBe(false);
  });

  it('a directory, or an empty name, is not a key file', async () => {
    const s = await scratch();
    const args = ['install', '--root', s.root, '--cache-dir', s.cache, '--gpg-key'];
    expectUsage(await runCli([...args, work], { isRoot: true }), `--gpg-key ${work}: not a regular file (expected an armored GPG public key)`);
    expectUsage(await runCli([...args, ''], { isRoot: true }), '--gpg-key is empty: name a key file (e.g. /etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial)');
  });

  it('a relative key file is read against the directory kdebuginfo was started in', async () => {
    const s = await scratch();
    await rm(join(s.root, 'etc/pki/rpm-gpg'), { recursive: true });
    const keyDir = join(work, 'keys');
    await mkdir(keyDir, { recursive: true });
    await writeFile(join(keyDir, 'test.key'), spawnSync('cat', [TEST_KEY], { encoding: 'utf8' }).stdout);
    const r = await runCli(['install', '--root', s.root, '--cache-dir', s.cache, '--gpg-key', 'test.key', '--package-manager', 'rpm', '--json'], {
      isRoot: false,
      cwd: keyDir,
      env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ changed: true, failed: false });
  });
});

describe('--root', () => {
  it('a root that does not exist is "no such root directory", and a dry run does not create it', async () => {
    const gone = join(work, 'no', 'such', 'root');
    for (const cmd of [['install', '--dry-run'], ['plan'], ['doctor', '--offline'], ['verify', '--level', 'resolve']]) {
      const r = await runCli([...cmd, '--root', gone], { isRoot: true, env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv } });
      expectUsage(r, `--root ${gone}: no such root directory`);
    }
    expect(existsSync(join(work, 'no'))).toBe(false);
  });

  it('an empty root is an error, not this host', async () => {
    expectUsage(await runCli(['install', '--dry-run', '--root', ''], { isRoot: true }), '--root is empty: name an image root directory, or leave --root out for this host');
  });

  it('a file is not a root', async () => {
    const file = join(work, 'a-file');
    await writeFile(file, 'x');
    expectUsage(await runCli(['plan', '--root', file]), `--root ${file}: not a directory (expected an image root)`);
    expectUsage(await runCli(['plan', '--root', join(file, 'x')]), `--root ${join(file, 'x')}: no such root directory (a part of the path is not a directory)`);
  });

  it('a relative root is taken against the directory kdebuginfo was started in', async () => {
    const s = await scratch();
    const r = await runCli(['install', '--dry-run', '--root', 'root', '--cache-dir', s.cache, '--json'], {
      isRoot: true,
      cwd: s.dir,
      env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ changed: true, kernel: { uname: K362 } });
  });

  it('install --dry-run writes nothing into the root (it made <root>/root/.rpmdb through rpm -q)', async () => {
    const s = await scratch();
    const before = await tree(s.root);
    const r = await runCli(['install', '--dry-run', '--root', s.root, '--cache-dir', s.cache, '--json'], {
      isRoot: true,
      env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().packages.map((p: { action: string }) => p.action)).toEqual(['would-install', 'would-install', 'would-install']);
    expect(await tree(s.root)).toEqual(before);
    expect(existsSync(s.cache)).toBe(false);
  });
});

describe('numbers', () => {
  it('--idle-timeout, --retries, --parallel and verify --timeout are bounded', async () => {
    const cases: Array<[string[], string]> = [
      [['download', '--dry-run', '--idle-timeout', '1e12'], '--idle-timeout "1e12" is not a number of seconds greater than 0 and at most 86400 (24 hours)'],
      [['download', '--dry-run', '--idle-timeout', '0'], '--idle-timeout "0" is not a number of seconds greater than 0 and at most 86400 (24 hours)'],
      [['bundle', '-o', 'x.tar.gz', '--dry-run', '--retries', '1000'], '--retries "1000" is not a whole number from 0 to 100'],
      [['download', '--dry-run', '--parallel', '0'], '--parallel "0" is not a whole number from 1 to 32'],
      [['download', '--dry-run', '--parallel', '99999999999999999999'], '--parallel "99999999999999999999" is not a whole number from 1 to 32'],
      [['verify', '--timeout', '1e12'], '--timeout "1e12" is not a number of seconds greater than 0 and at most 86400 (24 hours)'],
    ];
    for (const [args, line] of cases) expectUsage(await runCli([...args, '--kernel', K362, '--os', 'centos-stream:9']), line);
  });
});

describe('--kernel', () => {
  it('is a plain release token before anything uses it (verify passed ../../x to stap -r)', async () => {
    const expected = '--kernel "../../x" is not a kernel release (expected one word of letters, digits and . _ + ~ - starting with a letter or digit, as uname -r prints, e.g. 4.18.0-348.7.1.el8_5.x86_64)';
    for (const cmd of [['verify', '--level', 'compile'], ['plan'], ['install', '--dry-run'], ['doctor', '--offline'], ['bundle', '-o', 'x.tar.gz', '--dry-run']]) {
      expectUsage(await runCli([...cmd, '--kernel', '../../x'], { isRoot: true }), expected);
    }
  });

  it('a 10,000-character release is shown trimmed, an ESC byte escaped', async () => {
    const long = await runCli(['plan', '--kernel', 'x'.repeat(10_000)]);
    expect(long.code).toBe(2);
    expect(long.stderr.length).toBeLessThan(400);
    expect(lines(long.stderr)[0]).toMatch(/^kdebuginfo: --kernel "x{80}…" is 10000 characters long; a kernel release has at most 64 /);
    const esc = await runCli(['plan', '--kernel', '5.14.0-362.el9\x1b]0;owned\x07.x86_64']);
    expect(esc.code).toBe(2);
    expect(esc.stderr).not.toMatch(/[\x1b\x07]/);
    expect(lines(esc.stderr)[0]).toMatch(/^kdebuginfo: --kernel "5\.14\.0-362\.el9\\x1b\]0;owned\\x07\.x86_64" is not a kernel release/);
  });
});

describe('values from the environment', () => {
  it('are checked the same way and named by their variable (the built CLI: commander reads process.env)', async () => {
    const bin = await ensureBuiltCli();
    const run = (env: Record<string, string>, args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: work, ...env } });
    const root = run({ KDEBUGINFO_ROOT: join(work, 'gone') }, ['plan']);
    expect(root.status).toBe(2);
    expect(root.stderr).toBe(`kdebuginfo: --root (from KDEBUGINFO_ROOT) ${join(work, 'gone')}: no such root directory\n`);
    const kernel = run({ KDEBUGINFO_KERNEL: '-x' }, ['plan']);
    expect(kernel.status).toBe(2);
    expect(kernel.stderr).toMatch(/^kdebuginfo: --kernel \(from KDEBUGINFO_KERNEL\) "-x" is not a kernel release/);
    const key = run({ KDEBUGINFO_GPG_KEY: join(work, 'nokey') }, ['install', '--dry-run', '--kernel', K362, '--os', 'centos-stream:9']);
    expect(key.status).toBe(2);
    expect(key.stderr).toBe(`kdebuginfo: --gpg-key (from KDEBUGINFO_GPG_KEY) ${join(work, 'nokey')}: no such file\n`);
    const timeout = run({}, ['download', '--dry-run', '--kernel', K362, '--os', 'centos-stream:9', '--idle-timeout', '1e12']);
    expect(timeout.status).toBe(2);
    expect(timeout.stderr).not.toContain('TimeoutOverflowWarning');
  });
});
