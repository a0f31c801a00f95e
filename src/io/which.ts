import { stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** The first PATH entry holding an executable regular file `name`, as a shell's lookup finds it. */
export async function findOnPath(name: string, env: Record<string, string | undefined>): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      const s = await stat(p);
      if (s.isFile() && (s.mode & 0o111) !== 0) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function onPath(name: string, env: Record<string, string | undefined>): Promise<boolean> {
  return (await findOnPath(name, env)) !== undefined;
}
