import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/** The checkout: bin/, dist/, fixtures/. */
export const REPO_TOP = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_BIN = join(REPO_TOP, 'bin/kdebuginfo.js');
/** Signs every fixture RPM except the two signature-test sets (fixtures/README.md). */
export const TEST_KEY = join(REPO_TOP, 'fixtures/keys/RPM-GPG-KEY-kdebuginfo-test');
/** Signs only the 5.14.0-998.el9 set. */
export const OTHER_KEY = join(REPO_TOP, 'fixtures/keys/RPM-GPG-KEY-kdebuginfo-other');

export interface ScratchRoot {
  /** The temp directory holding everything below; removed by remove(). */
  dir: string;
  /** The image root, as `--root` takes it. */
  root: string;
  /** A cache directory of its own, as `--cache-dir` takes it (not created). */
  cache: string;
  remove(): Promise<void>;
}

/**
 * A scratch image root standing in for a fresh box, as scripts/demo.mjs makes one: the distro's
 * os-release (a file of fixtures/os-release/), the keys it trusts in etc/pki/rpm-gpg/ (the
 * fixture test key unless told), and `lib/modules/<R>/` for each installed kernel.
 */
export async function makeScratchRoot(opts: { kernels: readonly string[]; osRelease?: string; keys?: readonly string[] }): Promise<ScratchRoot> {
  const dir = await mkdtemp(join(tmpdir(), 'kdebuginfo-install-'));
  const root = join(dir, 'root');
  await mkdir(join(root, 'etc/pki/rpm-gpg'), { recursive: true });
  await copyFile(join(REPO_TOP, 'fixtures/os-release', opts.osRelease ?? 'centos-stream-9'), join(root, 'etc/os-release'));
  for (const key of opts.keys ?? [TEST_KEY]) await copyFile(key, join(root, 'etc/pki/rpm-gpg', key.split('/').pop()!));
  for (const k of opts.kernels) await mkdir(join(root, 'lib/modules', k), { recursive: true });
  return { dir, root, cache: join(dir, 'cache'), remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * NVRAs installed in the root, sorted: `rpm --root R -qa`. On Debian, rpm's %_dbpath is
 * `~/.rpmdb` (HOME expanded), so the query must run with the HOME the install ran with.
 */
export function installedPackages(root: string, home = process.env.HOME): string[] {
  const r = spawnSync('rpm', ['--root', root, '-qa'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`rpm --root ${root} -qa exited ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** The three NVRAs `install` puts in place for a kernel of the default flavour. */
export function nvrasFor(uname: string): string[] {
  const [vr, arch] = [uname.slice(0, uname.lastIndexOf('.')), uname.slice(uname.lastIndexOf('.') + 1)];
  return [`kernel-debuginfo-${vr}.${arch}`, `kernel-debuginfo-common-${arch}-${vr}.${arch}`, `kernel-devel-${vr}.${arch}`].sort();
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    newest = Math.max(newest, (await stat(join(e.parentPath, e.name))).mtimeMs);
  }
  return newest;
}

/**
 * Tests that run the real CLI as a child process (a signal, a pseudo-terminal) need dist/ to
 * match src/. Build when any source is newer than dist/cli.js; a mkdir lock keeps two test
 * files that start at once from running tsc over each other.
 */
export async function ensureBuiltCli(): Promise<string> {
  const built = join(REPO_TOP, 'dist/cli.js');
  const isStale = async () => {
    const distTime = await stat(built).then((s) => s.mtimeMs, () => 0);
    return distTime < (await newestMtime(join(REPO_TOP, 'src')));
  };
  if (!(await isStale())) return CLI_BIN;
  const lock = join(tmpdir(), `kdebuginfo-build-${Buffer.from(REPO_TOP).toString('hex').slice(-24)}.lock`);
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      // A lock left by a killed run: a build takes seconds, not minutes.
      const age = await stat(lock).then((st) => Date.now() - st.mtimeMs, () => 0);
      if (age > 120_000) await rmdir(lock).catch(() => {});
      await sleep(200);
    }
  }
  try {
    if (await isStale()) {
      const r = spawnSync('npm', ['run', 'build'], { cwd: REPO_TOP, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
    }
  } finally {
    await rmdir(lock);
  }
  return CLI_BIN;
}
