import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Job, Paths } from './types.js';

/**
 * A download in progress is two files beside the final one: `<file>.part`, the bytes so far,
 * and `<file>.part.json`, the sidecar saying where they came from, so a later run can ask for
 * the rest (Range) only when the server still has the same file (If-Range).
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

export async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

export async function readSidecar(path: string): Promise<PartMeta | null> {
  try {
    const m = JSON.parse(await readFile(path, 'utf8')) as Partial<PartMeta>;
    if (typeof m.url !== 'string') return null;
    return { url: m.url, etag: m.etag ?? null, lastModified: m.lastModified ?? null, size: m.size ?? null, checksum: m.checksum ?? null };
  } catch {
    return null;
  }
}

export async function writeSidecar(path: string, meta: PartMeta): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(meta)}\n`);
  await rename(tmp, path);
}

export async function discardPart(paths: Paths): Promise<void> {
  await rm(paths.part, { force: true });
  await rm(paths.sidecar, { force: true });
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
  const partSize = await sizeOf(paths.part);
  if (partSize !== null && partSize > 0 && canResume(meta, url, job) && (item.size === null || partSize <= item.size)) {
    return { resumeFrom: partSize, meta };
  }
  if (partSize !== null || meta) await discardPart(paths);
  return { resumeFrom: 0, meta: null };
}

/** A strong ETag if there is one (RFC 9110 §13.1.5: If-Range needs a strong validator), else Last-Modified. */
export function ifRangeValue(meta: PartMeta): string | undefined {
  if (meta.etag && !meta.etag.startsWith('W/')) return meta.etag;
  return meta.lastModified ?? undefined;
}
