import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';
import { makeScratchRoot, type ScratchRoot } from '../support/scratch-root.js';

// How install runs other programs: regression tests for what was found writing install.test.ts.

let mirror: FixtureMirror;
let s: ScratchRoot;
beforeAll(async () => {
  mirror = await startFixtureMirror();
  s = await makeScratchRoot({ kernels: ['5.14.0-362.el9.x86_64'] });
});
afterAll(async () => {
  await mirror?.close();
  await s?.remove();
});

describe('install runs programs cleanly', () => {
  // Was a bug: src/io/exec.ts gave every child a pipe on stdin even when it sent no input. node's
  // 'pipe' is a socketpair, and bash, started with a socket on stdin and no SHLVL (Ansible, cron,
  // systemd, these tests' minimal env), takes itself for an ssh session and sources ~/.bashrc.
  // Whatever runs bash under kdebuginfo pays for that and may print into output we parse: stap-prep
  // is a bash script, and Debian's rpm runs `bash -c 'echo ~/.rpmdb'` for %_dbpath on every call.
  // Seen here: `bash -c` 546 ms instead of 16 ms (root's ~/.bashrc runs pyenv init); an install
  // 2.3 s instead of 0.85 s; install.test.ts 80 s instead of 39 s at the same load.
  // Fixed: createExec gives a child stdin only when it sends input.
  it("never makes a program it runs source the user's ~/.bashrc", async () => {
    const home = join(s.dir, 'home');
    const marker = join(home, 'bashrc-was-sourced');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, '.bashrc'), `touch '${marker}'\n`);
    // --dry-run is enough: it runs `rpm --root R -q ...`, and Debian's rpm runs bash for %_dbpath.
    const r = await runCli(['install', '--root', s.root, '--cache-dir', s.cache, '--dry-run', '--json'], {
      isRoot: true,
      env: { HOME: home, KDEBUGINFO_MIRROR: mirror.mirrorEnv },
    });
    expect(r.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
