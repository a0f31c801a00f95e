import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { FIXTURE_MIRROR_ROOT, startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';

/**
 * The single-file build (scripts/build-single.mjs -> dist/kdebuginfo.mjs), run the way it is
 * meant to be used: the one file copied ALONE into an empty directory, started by a bare `node`
 * with a minimal environment, so nothing can come from node_modules, package.json or src/.
 */

const top = fileURLToPath(new URL('../../', import.meta.url));
const bundlePath = join(top, 'dist/kdebuginfo.mjs');
const { version } = JSON.parse(readFileSync(join(top, 'package.json'), 'utf8')) as { version: string };

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

/** Build dist/kdebuginfo.mjs when it is missing or older than anything it is built from. */
function ensureBundle(): void {
  const inputs = ['src', 'package.json', 'package-lock.json', 'scripts/build-single.mjs', 'fixtures/bundle/install.sh', 'fixtures/bundle/install-deb.sh']
    .map((p) => join(top, p))
    .filter((p) => existsSync(p));
  const isFresh = existsSync(bundlePath) && statSync(bundlePath).mtimeMs >= Math.max(...inputs.map(newestMtime));
  if (isFresh) return;
  const r = spawnSync(process.execPath, [join(top, 'scripts/build-single.mjs'), '--quiet'], { cwd: top, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/build-single.mjs exited ${r.status}:\n${r.stderr}`);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let boxDir: string;
/** HOME for the runs: apart from boxDir, since tools write there (`stap -V` creates ~/.systemtap/cache). */
let homeDir: string;
/** Run the copied single file in boxDir. Asynchronous: the fixture mirror lives in this process. */
function runSingle(args: string[], env: Record<string, string> = {}, opts: { direct?: boolean } = {}): Promise<Run> {
  const [file, argv] = opts.direct ? ['./kdebuginfo.mjs', args] : [process.execPath, ['kdebuginfo.mjs', ...args]];
  // Only PATH (for `#!/usr/bin/env node` and the tools a command runs): no NODE_OPTIONS,
  // NODE_PATH, HOME/.node_modules or KDEBUGINFO_* leaking in from the test runner.
  const childEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: homeDir, LC_ALL: 'C', ...env };
  return new Promise((resolve) => {
    execFile(file, argv, { cwd: boxDir, env: childEnv, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  ensureBundle();
  boxDir = mkdtempSync(join(tmpdir(), 'kdebuginfo-single-'));
  homeDir = mkdtempSync(join(tmpdir(), 'kdebuginfo-single-home-'));
  copyFileSync(bundlePath, join(boxDir, 'kdebuginfo.mjs'));
});
afterAll(() => {
  for (const dir of [boxDir, homeDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dist/kdebuginfo.mjs copied alone into an empty directory', () => {
  it('has no node_modules to lean on: none in the directory or any parent', () => {
    for (let dir = boxDir; ; dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules')), `${dir}/node_modules exists`).toBe(false);
      if (dirname(dir) === dir) break;
    }
  });

  it('prints the version from package.json, through node and through its #! line', async () => {
    const viaNode = await runSingle(['--version']);
    expect(viaNode).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    const direct = await runSingle(['--version'], {}, { direct: true });
    expect(direct).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('plan --json for an EL8 kernel: one JSON document with kernel, os and the three packages', async () => {
    const r = await runSingle(['plan', '--json', '--kernel', '4.18.0-348.7.1.el8_5.x86_64', '--os', 'centos:8']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.kernel).toEqual({ uname: '4.18.0-348.7.1.el8_5.x86_64', version: '4.18.0', release: '348.7.1.el8_5', arch: 'x86_64', flavor: 'default' });
    expect(out.os).toMatchObject({ id: 'centos', version: '8' });
    expect(out.packages.map((p: any) => [p.role, p.name, p.file])).toEqual([
      ['debuginfo', 'kernel-debuginfo', 'kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm'],
      ['debuginfo-common', 'kernel-debuginfo-common-x86_64', 'kernel-debuginfo-common-x86_64-4.18.0-348.7.1.el8_5.x86_64.rpm'],
      ['devel', 'kernel-devel', 'kernel-devel-4.18.0-348.7.1.el8_5.x86_64.rpm'],
    ]);
    for (const p of out.packages) {
      expect(p).toMatchObject({ version: '4.18.0', release: '348.7.1.el8_5', arch: 'x86_64' });
      expect(p.candidates.length).toBeGreaterThan(0);
      for (const url of p.candidates) expect(url).toMatch(new RegExp(`^https://[^/]+/.*/${p.file.replace(/[.+]/g, '\\$&')}$`));
    }
    expect(out.packages[0].candidates[0]).toBe('https://debuginfo.centos.org/8/x86_64/Packages/kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm');
  });

  it('plan --json for a Stream 9 debug kernel names the kernel-debug-* packages', async () => {
    const r = await runSingle(['plan', '--json', '--kernel', '5.14.0-362.el9.x86_64+debug', '--os', 'centos-stream:9']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.kernel).toMatchObject({ flavor: 'debug', version: '5.14.0', release: '362.el9' });
    expect(out.os).toMatchObject({ id: 'centos-stream', version: '9' });
    expect(out.packages.map((p: any) => p.name)).toEqual(['kernel-debug-debuginfo', 'kernel-debuginfo-common-x86_64', 'kernel-debug-devel']);
  });

  it('exits 2 on a usage error: an unknown option, nothing on stdout', async () => {
    const r = await runSingle(['plan', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown option '--no-such-flag'");
  });

  it('exits 2 with one JSON error document for a kernel release of no known form (typed errors survive bundling)', async () => {
    const r = await runSingle(['plan', '--json', '--kernel', 'not-a-kernel', '--os', 'centos:8']);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: false, rc: 2 });
    expect(out.error.message).toContain('not-a-kernel');
    // A KdebuginfoError is reported as such (message, no stack), not as an unexpected crash.
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('offers the same commands as the CLI built from src/', async () => {
    const commandsIn = (help: string) =>
      [...help.slice(help.indexOf('Commands:')).matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    const fromSrc = await runCli(['--help']);
    const single = await runSingle(['--help']);
    expect(single.code).toBe(0);
    expect(commandsIn(fromSrc.stdout).length).toBeGreaterThan(1);
    expect(commandsIn(single.stdout)).toEqual(commandsIn(fromSrc.stdout));
  });

  it('doctor --offline --json: one JSON document with every check; exit 0 when ready, 1 when not', async () => {
    const r = await runSingle(['doctor', '--offline', '--json']);
    expect([0, 1]).toContain(r.code);
    const out = JSON.parse(r.stdout);
    expect(r.code).toBe(out.ready ? 0 : 1);
    expect(out.offline).toBe(true);
    expect(out.checks.length).toBeGreaterThan(0);
    for (const c of out.checks) {
      expect(['pass', 'warn', 'fail', 'skip']).toContain(c.status);
      expect(c.title).toEqual(expect.any(String));
      // every warning and failure says what to do about it
      if (c.status === 'warn' || c.status === 'fail') expect(c.fix).toEqual(expect.any(String));
    }
    expect(out.checks.find((c: any) => c.id === 'mirrors')?.status).toBe('skip');
    // the same checklist as the CLI built from src/, on the same host
    const fromSrc = await runCli(['doctor', '--offline', '--json']);
    expect(out.checks.map((c: any) => c.id)).toEqual(fromSrc.json().checks.map((c: any) => c.id));
  });

  describe('resolve over HTTP (got, saxes and zlib load lazily from inside the bundle)', () => {
    let mirror: FixtureMirror;
    beforeAll(async () => {
      mirror = await startFixtureMirror();
    });
    afterAll(async () => {
      await mirror?.close();
    });

    it('finds all three packages through repodata, with sizes and sha256 from primary.xml', async () => {
      const r = await runSingle(['resolve', '--json', '--kernel', '4.18.0-348.7.1.el8_5.x86_64', '--os', 'centos:8'], {
        KDEBUGINFO_MIRROR: mirror.mirrorEnv,
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.packages.map((p: any) => p.role)).toEqual(['debuginfo', 'debuginfo-common', 'devel']);
      for (const p of out.packages) {
        expect(p.url.startsWith(`${mirror.server.url}/`)).toBe(true);
        const file = readFileSync(join(FIXTURE_MIRROR_ROOT, decodeURIComponent(p.url.slice(mirror.server.url.length + 1))));
        expect(p.source).toBe('repodata');
        expect(p.size).toBe(file.length);
        expect(p.checksum).toEqual({ type: 'sha256', value: createHash('sha256').update(file).digest('hex') });
      }
    });
  });

  describe('download over HTTP (the sink thread runs from inside the one file)', () => {
    let mirror: FixtureMirror;
    let cacheDir: string;
    beforeAll(async () => {
      mirror = await startFixtureMirror();
      cacheDir = mkdtempSync(join(tmpdir(), 'kdebuginfo-single-cache-'));
    });
    afterAll(async () => {
      await mirror?.close();
      if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
    });

    it('fetches the three packages into --cache-dir, each verified by its repodata sha256', async () => {
      const r = await runSingle(['download', '--json', '--kernel', '4.18.0-348.7.1.el8_5.x86_64', '--os', 'centos:8', '--cache-dir', cacheDir], {
        KDEBUGINFO_MIRROR: mirror.mirrorEnv,
      });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.packages.map((p: any) => [p.role, p.status, p.verifiedBy])).toEqual([
        ['debuginfo', 'downloaded', 'sha256'],
        ['debuginfo-common', 'downloaded', 'sha256'],
        ['devel', 'downloaded', 'sha256'],
      ]);
      for (const p of out.packages) {
        expect(p.path).toBe(join(cacheDir, p.file));
        const served = readFileSync(join(FIXTURE_MIRROR_ROOT, decodeURIComponent(p.url.slice(mirror.server.url.length + 1))));
        expect(createHash('sha256').update(readFileSync(p.path)).digest('hex')).toBe(createHash('sha256').update(served).digest('hex'));
        expect(p.sha256).toBe(p.checksum.value);
      }
      expect(readdirSync(cacheDir).sort()).toEqual(out.packages.map((p: any) => p.file).sort());
    });
  });

  it('leaves the directory as it found it: still the one file', () => {
    expect(readdirSync(boxDir)).toEqual(['kdebuginfo.mjs']);
  });
});
