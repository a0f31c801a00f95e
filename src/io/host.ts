import { readFile } from 'node:fs/promises';
import { release as osRelease } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

/** Facts read from the host (or an image root): the raw strings, parsed elsewhere. */
export interface HostFacts {
  /** `uname -r` of the running kernel (os.release() is the same syscall). */
  unameRelease: string;
  /** Contents of <root>/etc/os-release, with the path it came from. */
  osRelease: { path: string; text: string } | undefined;
}

export async function readHostFacts(root = '/'): Promise<HostFacts> {
  return { unameRelease: osRelease(), osRelease: await readOsRelease(root) };
}

async function readOsRelease(root: string): Promise<HostFacts['osRelease']> {
  // os-release(5): /etc/os-release, falling back to /usr/lib/os-release.
  for (const rel of ['etc/os-release', 'usr/lib/os-release']) {
    const path = join(root, rel);
    try {
      return { path, text: await readFile(path, 'utf8') };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
      }
    }
  }
  return undefined;
}
