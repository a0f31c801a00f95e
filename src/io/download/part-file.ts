import { constants, type Stats } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KdebuginfoError } from '../../errors.js';
import type { Job, Paths } from './types.js';

/**
 * A download in progress is two files beside the final one: `<file>.part`, the bytes so far,
 * and `<file>.part.json`, the sidecar saying where they came from, so a later run can ask for
 * the rest (Range) only when the server still has the same file (If-Range).
 *
 * The cache may be shared (`--cache-dir` on a directory others can write, with the sticky bit),
 * so nothing here opens a name through a link it did not make: a symbolic link found at one of
 * these names is removed, never followed (one at `<file>.part` would otherwise have the resume
 * truncate and overwrite whatever it points to); files are created with O_EXCL|O_NOFOLLOW under
 * names no one can guess, and opened with O_NOFOLLOW, then checked to be a regular file of ours.
 */
export function pathsFor(cacheDir: string, file: string): Paths {
  const final = join(cacheDir, file);
  return { final, part: `${final}.part`, sidecar: `${final}.part.json` };
}

/** What `<file>.part.json` remembers about the bytes in `<file>.part`. */
export interface PartMeta {
  url: string;
  etag: string | null;
  lastModified: string | null;
  /** Total size the server announced. */
  size: number | null;
  /** The expected checksum at the time: a part of another build of the same name is useless. */
  checksum: string | null;
}

/** The sidecar is a line of JSON; anything larger was not written by us. */
const SIDECAR_MAX_BYTES = 64 << 10;

/** What is at a cache path, without following a link. */
export type Entry =
  | { kind: 'absent' }
  /** A regular file of ours (with no other name, when it is to be written): the only kind the cache reads or continues. */
  | { kind: 'ours'; size: number }
  /** A link, or a file someone else owns or has another name for: removed, never used. */
  | { kind: 'foreign'; what: string }
  | { kind: 'directory' };

/**
 * A regular file we own. One we are about to write into must also have no other name: a hard
 * link planted at `<file>.part` (to a victim file, which may be ours when we are root) would have
 * the resume truncate and overwrite the victim. A file we only read may have other names: --dest
 * hard-links the verified copies out of the cache.
 */
export function isOurs(st: Stats, forWriting = false): boolean {
  return st.isFile() && st.uid === (process.geteuid?.() ?? st.uid) && (!forWriting || st.nlink === 1);
}

export async function entryAt(path: string, forWriting = false): Promise<Entry> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw cacheError(path, err);
  }
  if (st.isDirectory()) return { kind: 'directory' };
  if (isOurs(st, forWriting)) return { kind: 'ours', size: st.size };
  const what = st.isSymbolicLink() ? 'a symbolic link' : st.isFile() ? (st.nlink !== 1 ? 'a file with another name (hard link)' : `a file of uid ${st.uid}`) : 'not a regular file';
  return { kind: 'foreign', what };
}

/** A directory where a file of ours belongs: nothing we made, and not ours to remove. */
export function directoryError(path: string): KdebuginfoError {
  return new KdebuginfoError(`${path} is a directory, not a file kdebuginfo wrote: remove it, or choose another --cache-dir`);
}

function cacheError(path: string, err: unknown): KdebuginfoError {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EISDIR') return directoryError(path);
  if (e.code === 'EPERM' || e.code === 'EACCES') {
    return new KdebuginfoError(`cannot remove ${path}, which another user put in the cache: remove it as its owner, or choose another --cache-dir`, { cause: err });
  }
  return new KdebuginfoError(`cannot use ${path}: ${e.message}`, { cause: err });
}

/** Remove whatever non-directory is at `path` (a link itself, not its target). */
export async function removeEntry(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw cacheError(path, err);
  }
}

/**
 * The size of the `.part` we may continue, or null: a link or someone else's file there is
 * removed; a directory there is an error.
 */
export async function partSize(path: string): Promise<number | null> {
  const e = await entryAt(path, true);
  if (e.kind === 'directory') throw directoryError(path);
  if (e.kind === 'foreign') await removeEntry(path);
  return e.kind === 'ours' ? e.size : null;
}

/** The same, for counting only: nothing removed, nothing thrown. */
export async function partSizeNoChange(path: string): Promise<number> {
  const e = await entryAt(path, true).catch(() => undefined);
  return e?.kind === 'ours' ? e.size : 0;
}

export async function readSidecar(path: string): Promise<PartMeta | null> {
  let fh;
  try {
    // O_NONBLOCK: a FIFO planted here must not hang the open; fstat below refuses it.
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') await removeEntry(path);
    else if (code === 'EISDIR') throw directoryError(path);
    return null;
  }
  try {
    const st = await fh.stat();
    if (!isOurs(st) || st.size > SIDECAR_MAX_BYTES) return null;
    const m = JSON.parse(await fh.readFile('utf8')) as Partial<PartMeta>;
    if (typeof m.url !== 'string') return null;
    return { url: m.url, etag: m.etag ?? null, lastModified: m.lastModified ?? null, size: m.size ?? null, checksum: m.checksum ?? null };
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

/** Written whole under a new random name, then renamed over the sidecar (and over any link there). */
export async function writeSidecar(path: string, meta: PartMeta): Promise<void> {
  const tmp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await fh.writeFile(`${JSON.stringify(meta)}\n`);
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

export async function discardPart(paths: Paths): Promise<void> {
  await removeEntry(paths.part);
  await removeEntry(paths.sidecar);
}

/** Can the bytes in `.part` be continued from `url`? */
export function canResume(meta: PartMeta | null, url: string, job: Job): boolean {
  if (!meta) return false;
  const expected = job.item.checksum?.value.toLowerCase() ?? null;
  if (meta.checksum !== expected) return false;
  if (job.item.size !== null && meta.size !== null && meta.size !== job.item.size) return false;
  // Same URL: If-Range lets the server say whether its file is still the one we began.
  if (meta.url === url) return Boolean(meta.etag || meta.lastModified) || expected !== null;
  // Another mirror of the same file: its validators mean nothing here, but with a checksum from
  // repodata a wrong mix of bytes is caught at the end, and the rest of a 600 MB file is worth it.
  return expected !== null;
}

/**
 * Where a try on `url` starts: the `.part`'s length when it can be continued from there, else 0,
 * after throwing away a `.part` and sidecar that cannot be.
 */
export async function resumePoint(job: Job, url: string): Promise<{ resumeFrom: number; meta: PartMeta | null }> {
  const { item, paths } = job;
  const meta = await readSidecar(paths.sidecar);
  const size = await partSize(paths.part);
  if (size !== null && size > 0 && canResume(meta, url, job) && (item.size === null || size <= item.size)) {
    return { resumeFrom: size, meta };
  }
  await discardPart(paths);
  return { resumeFrom: 0, meta: null };
}

/** A strong ETag if there is one (RFC 9110 §13.1.5: If-Range needs a strong validator), else Last-Modified. */
export function ifRangeValue(meta: PartMeta): string | undefined {
  if (meta.etag && !meta.etag.startsWith('W/')) return meta.etag;
  return meta.lastModified ?? undefined;
}
