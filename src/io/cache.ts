import { mkdir, stat, statfs } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { KdebuginfoError, ExitCode, UsageError } from '../errors.js';
import { formatBytes } from '../core/format.js';

/**
 * Where downloaded packages live between runs.
 *
 * Root shares one system cache (`/var/cache/kdebuginfo`, FHS 5.5: data an application may
 * regenerate); everyone else gets the XDG cache (`$XDG_CACHE_HOME/kdebuginfo`, or
 * `~/.cache/kdebuginfo` when XDG_CACHE_HOME is unset or not absolute, as the XDG Base Directory
 * spec says to ignore relative values). `--cache-dir` beats both.
 */
export function chooseCacheDir(opts: {
  flag: string | undefined;
  env: Record<string, string | undefined>;
  isRoot: boolean;
  cwd: string;
}): string {
  // An empty value is a mistake (an unset variable in a script), not a wish for the default.
  if (opts.flag === '') throw new UsageError('--cache-dir (or KDEBUGINFO_CACHE_DIR) is empty: name a directory, or leave it unset for the default');
  if (opts.flag !== undefined) return resolve(opts.cwd, opts.flag);
  if (opts.isRoot) return '/var/cache/kdebuginfo';
  const xdg = opts.env.XDG_CACHE_HOME;
  if (xdg && xdg.startsWith('/')) return join(xdg, 'kdebuginfo');
  return join(opts.env.HOME || homedir(), '.cache', 'kdebuginfo');
}

/**
 * mkdir -p; a directory that cannot be made is a clear error, not an ENOENT later.
 *
 * One level at a time rather than mkdir({ recursive: true }): on Node 20 that never returns for
 * a path under /proc (`/proc/x`: mkdir says ENOENT, and Node's recursive mkdir answers ENOENT by
 * making the parent, which exists, and trying again, forever, at 100% CPU, in libuv's pool where
 * no signal handler can stop it). Here a level that cannot be made fails at once.
 */
export async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  try {
    for (let p = resolve(dir); ; p = dirname(p)) {
      const st = await stat(p).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (st?.isDirectory()) break;
      if (st) throw Object.assign(new Error(`${p} is not a directory`), { code: 'ENOTDIR' });
      missing.push(p);
      if (dirname(p) === p) break;
    }
    for (const p of missing.reverse()) {
      await mkdir(p).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  } catch (err) {
    throw new KdebuginfoError(`cannot create directory ${dir}: ${(err as Error).message}`, {
      hint: 'choose another place with --cache-dir DIR',
      cause: err,
    });
  }
}

/**
 * ensureDir, then refuse a cache another user can plant files in. The downloads never follow a
 * link they did not make (src/io/download/part-file.ts), but a directory someone else owns can be
 * changed under us in every other way, and in a world-writable one without the sticky bit
 * anyone can rename or replace a verified file between the check and its use (sticky, as /tmp
 * is: others may add names but never remove or rename ours).
 */
export async function ensureCacheDir(dir: string): Promise<void> {
  await ensureDir(dir);
  const st = await stat(dir);
  const me = process.geteuid?.();
  if (me !== undefined && st.uid !== me) {
    throw new KdebuginfoError(
      `refusing cache directory ${dir}: it belongs to uid ${st.uid}, not to you (uid ${me}), so its owner could swap the files in it; use a directory you own (--cache-dir DIR)`,
    );
  }
  if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) {
    throw new KdebuginfoError(
      `refusing cache directory ${dir}: anyone may write in it and it lacks the sticky bit, so another user could swap the files in it; run chmod o-w (or +t) on it, or use another --cache-dir`,
    );
  }
}

/** One claim on disk space: `bytes` will be written under `path` (which need not exist yet). */
export interface SpaceNeed {
  path: string;
  bytes: number;
  /** What the bytes are for, e.g. `downloads` or `unpacked install (estimate)`. */
  what: string;
}

export interface FilesystemSpace {
  /** The first claimed path on this filesystem, as the user named it. */
  path: string;
  needs: SpaceNeed[];
  neededBytes: number;
  /** Bytes available to an unprivileged writer (statfs f_bavail * f_bsize). */
  freeBytes: number;
}

/** The nearest existing ancestor: space is a property of the filesystem it will be created on. */
export async function nearestExisting(path: string): Promise<string> {
  let p = resolve(path);
  for (;;) {
    try {
      await stat(p);
      return p;
    } catch {
      const up = dirname(p);
      if (up === p) return p;
      p = up;
    }
  }
}

/** Free space per filesystem for a set of claims; claims on one filesystem add up. */
export async function measureSpace(needs: readonly SpaceNeed[]): Promise<FilesystemSpace[]> {
  const byDevice = new Map<number, FilesystemSpace>();
  for (const need of needs) {
    if (need.bytes <= 0) continue;
    const existing = await nearestExisting(need.path);
    const dev = (await stat(existing)).dev;
    let fs = byDevice.get(dev);
    if (!fs) {
      const s = await statfs(existing);
      fs = { path: need.path, needs: [], neededBytes: 0, freeBytes: s.bavail * s.bsize };
      byDevice.set(dev, fs);
    }
    fs.needs.push(need);
    fs.neededBytes += need.bytes;
  }
  return [...byDevice.values()];
}

/**
 * Refuse before writing anything when a filesystem is short, with the numbers: running out of
 * space 700 MB into a debuginfo download (or halfway through rpm's unpack) is worse than not
 * starting. Exit 1.
 */
export async function assertFreeSpace(needs: readonly SpaceNeed[]): Promise<FilesystemSpace[]> {
  const space = await measureSpace(needs);
  const short = space.filter((s) => s.neededBytes > s.freeBytes);
  if (short.length > 0) {
    const lines = short.map(
      (s) =>
        `${s.path}: need ${formatBytes(s.neededBytes)} (${s.needs.map((n) => `${formatBytes(n.bytes)} ${n.what}`).join(' + ')}), ` +
        `${formatBytes(s.freeBytes)} free, short by ${formatBytes(s.neededBytes - s.freeBytes)}`,
    );
    throw new KdebuginfoError(`not enough free space:\n  ${lines.join('\n  ')}`, {
      exitCode: ExitCode.failed,
      hint: 'free some space, or put the cache on a larger filesystem with --cache-dir DIR',
      detail: { space: short },
    });
  }
  return space;
}
