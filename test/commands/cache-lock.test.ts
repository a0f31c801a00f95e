/**
 * One lock per cache (issue: two `download` runs on one cache gave a false success): download,
 * bundle and install take `<cache>/install.lock` before they write there, through the real CLI
 * against the fixture mirror.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { startFixtureMirror, FIXTURE_MIRROR_ROOT, type FixtureMirror } from '../support/fixture-mirror.js';

const KERNEL = ['--kernel', '4.18.0-348.7.1.el8_5.x86_64', '--os', 'centos:8'];
const FILES = [
  'debuginfo.centos.org/8/x86_64/Packages/kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm',
  'debuginfo.centos.org/8/x86_64/Packages/kernel-debuginfo-common-x86_64-4.18.0-348.7.1.el8_5.x86_64.rpm',
  'vault.centos.org/8.5.2111/BaseOS/x86_64/os/Packages/kernel-devel-4.18.0-348.7.1.el8_5.x86_64.rpm',
];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const lines = (s: string) => s.split('\n');

let mirror: FixtureMirror;
let work: string;
beforeAll(async () => {
  mirror = await startFixtureMirror();
  work = await mkdtemp(join(tmpdir(), 'kdebuginfo-cache-lock-'));
});
afterAll(async () => {
  await mirror.close();
  await rm(work, { recursive: true, force: true });
});

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the cache lock', () => {
  it('download with --no-wait fails at once while another run holds the cache; without it, waits (saying so once) and then fetches', async () => {
    const cache = join(work, 'held');
    await mkdir(cache, { recursive: true });
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const lock = join(cache, 'install.lock');
      await writeFile(lock, `${holder.pid}\n`);
      const env = { KDEBUGINFO_MIRROR: mirror.mirrorEnv };
      const refused = await runCli(['download', ...KERNEL, '--cache-dir', cache, '--no-wait'], { env });
      expect(refused.code).toBe(1);
      expect(lines(refused.stderr)).toContain(`kdebuginfo: another kdebuginfo (pid ${holder.pid}) is using this cache; lock ${lock}`);
      expect((await readdir(cache)).sort()).toEqual(['install.lock']);

      const waiting = startCli(['download', ...KERNEL, '--cache-dir', cache, '--json'], { env });
      const notice = `waiting for another kdebuginfo (pid ${holder.pid}) to finish...`;
      await until(() => lines(waiting.stderr()).includes(notice), 'the waiting notice');
      expect((await readdir(cache)).sort()).toEqual(['install.lock']);
      holder.kill();
      const done = await waiting.done;
      expect(done.code, done.stderr).toBe(0);
      expect(lines(done.stderr).filter((l) => l === notice)).toHaveLength(1);
      expect(existsSync(lock)).toBe(false);
    } finally {
      holder.kill();
    }
  });

  it('two downloads and a bundle at once on one cache: every run succeeds and every file is whole', async () => {
    const cache = join(work, 'shared');
    const env = { KDEBUGINFO_MIRROR: mirror.mirrorEnv };
    const runs = [
      startCli(['download', ...KERNEL, '--cache-dir', cache, '--json'], { env }),
      startCli(['download', ...KERNEL, '--cache-dir', cache, '--json'], { env }),
      startCli(['bundle', ...KERNEL, '--cache-dir', cache, '-o', join(work, 'k.tar.gz'), '--json'], { env }),
    ];
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    for (const f of FILES) {
      const want = sha256(await readFile(join(FIXTURE_MIRROR_ROOT, f)));
      const name = f.split('/').pop() as string;
      expect(sha256(await readFile(join(cache, name))), name).toBe(want);
      for (const r of results.slice(0, 2)) expect(r.json().packages.find((p: { file: string }) => p.file === name).sha256).toBe(want);
    }
    expect((await readdir(cache)).filter((f) => f.endsWith('.part') || f.endsWith('.lock'))).toEqual([]);
  });
});
