import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { KdebuginfoError } from '../errors.js';

export interface Lock {
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock file holding the owner's pid, so two installs cannot run at once. A lock
 * whose owner is gone (killed, machine rebooted) is taken over. The second run waits, saying so
 * once, or fails at once with `wait: false`.
 */
export async function acquireLock(
  path: string,
  opts: { wait: boolean; onWait: (ownerPid: number) => void; pollMs?: number; signal?: AbortSignal },
): Promise<Lock> {
  let told = false;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return { release: () => rm(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readOwner(path)).trim());
    if (!Number.isInteger(owner) || owner <= 0 || !isAlive(owner)) {
      await rm(path, { force: true });
      continue;
    }
    if (!opts.wait) {
      throw new KdebuginfoError(`another kdebuginfo (pid ${owner}) is using this cache; lock ${path}`, {
        hint: 'wait for it to finish, or run again without --no-wait to wait',
      });
    }
    if (!told) {
      opts.onWait(owner);
      told = true;
    }
    if (opts.signal?.aborted) throw opts.signal.reason;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/**
 * The pid in a lock file, read without following a link: in a shared cache another user could
 * plant `install.lock` as a symlink to a file of theirs (or a FIFO, hence O_NONBLOCK). Anything
 * that is not a regular file reads as no owner, and is removed like a stale lock.
 */
async function readOwner(path: string): Promise<string> {
  try {
    const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      if (!(await fh.stat()).isFile()) return '';
      const { bytesRead, buffer } = await fh.read(Buffer.alloc(32), 0, 32, 0);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}
