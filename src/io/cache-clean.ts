import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** What the download engine leaves in a cache: package files and their unfinished `.part`s. */
const CACHE_FILE = /\.(rpm|deb)(\.part)?$/;

export interface CacheClean {
  dir: string;
  removed: Array<{ file: string; size: number }>;
  kept: string[];
}

/**
 * Remove the package files in the download cache (top level only, where the engine puts them),
 * except those `keep` says to keep. Never follows a link: a link at a package's name is removed
 * as a link (the engine does the same, src/io/download/), a directory or other file is left.
 * A cache that does not exist is clean. Under a dry run nothing is removed, only reported.
 */
export async function cleanCache(dir: string, keep: (file: string) => boolean, dryRun: boolean): Promise<CacheClean> {
  const out: CacheClean = { dir, removed: [], kept: [] };
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const file of names) {
    if (!CACHE_FILE.test(file)) continue;
    const st = await lstat(join(dir, file)).catch(() => undefined);
    if (!st || !(st.isFile() || st.isSymbolicLink())) continue;
    if (keep(file)) {
      out.kept.push(file);
      continue;
    }
    if (!dryRun) await unlink(join(dir, file));
    out.removed.push({ file, size: st.isFile() ? st.size : 0 });
  }
  return out;
}
