import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseCacheDir, ensureCacheDir, ensureDir } from '../../src/io/cache.js';
import { downloadVerified } from '../../src/io/download.js';
import { createExec } from '../../src/io/exec.js';
import { KdebuginfoError, ExitCode, UsageError } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';

/** The cache directory itself (issue 13, cache-dir): who may write in it, and bad names for it. */

const KERNEL = ['--kernel', '4.18.0-348.7.1.el8_5.x86_64', '--os', 'centos:8'];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kdebuginfo-cachedir-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<KdebuginfoError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KdebuginfoError);
  return err as KdebuginfoError;
}

const me = process.geteuid!();
// Tests that give a directory to another user need to be root (chown).
const isRoot = me === 0;

describe('ensureCacheDir: a cache another user can change is refused, in one line naming it and what to do', () => {
  it.skipIf(!isRoot)('refuses a directory owned by another user', async () => {
    const cache = join(dir, 'theirs');
    await mkdir(cache, { mode: 0o755 });
    await chown(cache, 65534, 65534);
    const err = await rejection(ensureCacheDir(cache));
    expect(err.exitCode).toBe(ExitCode.failed);
    expect(err.message).toBe(
      `refusing cache directory ${cache}: it belongs to uid 65534, not to you (uid ${me}), so its owner could swap the files in it; use a directory you own (--cache-dir DIR)`,
    );
    expect(err.message).not.toContain('\n');
  });

  it('refuses a world-writable directory without the sticky bit, and takes one with it (as /tmp is)', async () => {
    const cache = join(dir, 'open');
    await mkdir(cache);
    await chmod(cache, 0o777);
    const err = await rejection(ensureCacheDir(cache));
    expect(err.message).toBe(
      `refusing cache directory ${cache}: anyone may write in it and it lacks the sticky bit, so another user could swap the files in it; run chmod o-w (or +t) on it, or use another --cache-dir`,
    );
    await chmod(cache, 0o1777);
    await ensureCacheDir(cache);
    await chmod(cache, 0o755);
    await ensureCacheDir(cache);
  });

  it('creates a missing one (mkdir -p), owned by us', async () => {
    const cache = join(dir, 'a', 'b', 'c');
    await ensureCacheDir(cache);
    const st = await stat(cache);
    expect(st.isDirectory() && st.uid === me).toBe(true);
  });

  it.skipIf(!isRoot)('downloadVerified refuses such a cache before any request', async () => {
    const cache = join(dir, 'theirs');
    await mkdir(cache);
    await chown(cache, 65534, 65534);
    const exec = createExec({ env: process.env, dryRun: false });
    const err = await rejection(
      downloadVerified([{ file: 'kernel-devel-1-1.x86_64.rpm', urls: ['http://127.0.0.1:9/never'], size: 1, checksum: null }], {
        cacheDir: cache,
        exec,
        userAgent: 'kdebuginfo-test/1',
        env: {},
      }),
    );
    expect(err.message).toContain(`refusing cache directory ${cache}: it belongs to uid 65534`);
    expect(await readdir(cache)).toEqual([]);
  });
});

describe('ensureDir: a directory that cannot be made fails at once', () => {
  it('under /proc (where Node 20 recursive mkdir spins forever): one clear error', async () => {
    const err = await rejection(ensureDir('/proc/kdebuginfo-no-such/x'));
    expect(err.message).toBe("cannot create directory /proc/kdebuginfo-no-such/x: ENOENT: no such file or directory, mkdir '/proc/kdebuginfo-no-such'");
    expect(err.hint).toBe('choose another place with --cache-dir DIR');
  });

  it('below a regular file', async () => {
    const err = await rejection(ensureDir('/etc/hostname/cache'));
    expect(err.message).toBe("cannot create directory /etc/hostname/cache: ENOTDIR: not a directory, stat '/etc/hostname/cache'");
  });

  it('makes every missing level, and is content when it exists', async () => {
    await ensureDir(join(dir, 'x', 'y'));
    await ensureDir(join(dir, 'x', 'y'));
    expect((await stat(join(dir, 'x', 'y'))).isDirectory()).toBe(true);
  });
});

describe('an empty --cache-dir or KDEBUGINFO_CACHE_DIR is a usage error, not the default', () => {
  it('chooseCacheDir refuses an empty flag (exit 2)', () => {
    let err: unknown;
    try {
      chooseCacheDir({ flag: '', env: {}, isRoot: false, cwd: '/w' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(ExitCode.usage);
    expect((err as UsageError).message).toBe('--cache-dir (or KDEBUGINFO_CACHE_DIR) is empty: name a directory, or leave it unset for the default');
  });

  for (const command of ['download', 'bundle', 'install']) {
    it(`${command} --cache-dir '': exit 2 naming the flag, nothing run`, async () => {
      const extra = command === 'bundle' ? ['-o', join(dir, 'k.tar.gz')] : [];
      const r = await runCli([command, ...KERNEL, ...extra, '--cache-dir', ''], { cwd: dir });
      expect(r.code).toBe(ExitCode.usage);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')[0]).toBe(
        "error: option '--cache-dir <dir>' argument '' is invalid. An empty value names no directory: name one, or leave it unset for the default.",
      );
      expect(await readdir(dir)).toEqual([]);
    });
  }

  it('KDEBUGINFO_CACHE_DIR= (set, empty): exit 2 naming the variable', async () => {
    // commander reads option variables from process.env itself; this test file runs in its own
    // process (vitest pool: forks), and puts the variable back.
    const before = process.env.KDEBUGINFO_CACHE_DIR;
    process.env.KDEBUGINFO_CACHE_DIR = '';
    try {
      const r = await runCli(['download', ...KERNEL], { cwd: dir });
      expect(r.code).toBe(ExitCode.usage);
      expect(r.stderr.split('\n')[0]).toBe(
        "error: option '--cache-dir <dir>' value '' from env 'KDEBUGINFO_CACHE_DIR' is invalid. An empty value names no directory: name one, or leave it unset for the default.",
      );
    } finally {
      if (before === undefined) delete process.env.KDEBUGINFO_CACHE_DIR;
      else process.env.KDEBUGINFO_CACHE_DIR = before;
    }
  });
});

describe('download --cache-dir /proc/x (before: 100% CPU, deaf to SIGTERM)', () => {
  let mirror: FixtureMirror;
  beforeAll(async () => {
    mirror = await startFixtureMirror();
  });
  afterAll(async () => {
    await mirror?.close();
  });

  it('fails at once with exit 1 and one line naming the directory', async () => {
    const r = await runCli(['download', ...KERNEL, '--cache-dir', '/proc/kdebuginfo-x'], { env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv }, cwd: dir });
    expect(r.code).toBe(ExitCode.failed);
    expect(r.stderr).toBe(
      "kdebuginfo: cannot create directory /proc/kdebuginfo-x: ENOENT: no such file or directory, mkdir '/proc/kdebuginfo-x'\nhint: choose another place with --cache-dir DIR\n",
    );
  });
});
