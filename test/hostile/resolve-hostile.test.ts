import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { FIXTURE_MIRROR_ROOT, startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';
import { startHostileServer, type HostileServer, type Scenario } from '../support/hostile-server.js';

/**
 * `kdebuginfo resolve --json` as a real process, its first mirror for the debuginfo packages a
 * hostile server (test/support/hostile-server.ts) and its second the fixture mirror. For each
 * misbehaviour: the exit code, exactly one JSON document on stdout, the fallback to the good
 * location, the child's peak RSS (GNU time's %M, which the kernel keeps for the process, so it
 * holds even if the process were killed) and nothing written outside the cache.
 *
 * The CLI is the single-file build (scripts/build-single.mjs), built from src/ into a temporary
 * directory once: the same code `npm run build` makes, without touching dist/.
 */

const top = fileURLToPath(new URL('../../', import.meta.url));
const KERNEL = ['--kernel', '4.18.0-348.7.1.el8_5.x86_64', '--os', 'centos:8'];
const MiB = 1024 * 1024;
/** The debuginfo tree's paths, on the hostile server as on the fixture mirror. */
const TREE = '/8/x86_64';
const PRIMARY = `repodata/${readdirSync(join(FIXTURE_MIRROR_ROOT, 'debuginfo.centos.org', TREE, 'repodata')).find((f) => f.endsWith('-primary.xml.gz'))}`;
const DEBUGINFO = 'kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm';
const PEAK_RSS_KIB = 150 * 1024;

let cliDir: string;
let fixture: FixtureMirror;
let hostile: HostileServer;

beforeAll(async () => {
  cliDir = mkdtempSync(join(tmpdir(), 'kdebuginfo-hostile-cli-'));
  const built = spawnSync(process.execPath, [join(top, 'scripts/build-single.mjs'), '--outfile', join(cliDir, 'kdebuginfo.mjs'), '--quiet'], { cwd: top, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`scripts/build-single.mjs exited ${built.status}:\n${built.stderr}`);
  fixture = await startFixtureMirror();
  hostile = await startHostileServer({ maxMsPerResponse: 15_000 });
});
afterAll(async () => {
  await hostile?.close();
  await fixture?.close();
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
});
beforeEach(() => {
  hostile.reset();
  fixture.server.resetLog();
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident set of the CLI process, KiB. */
  peakKiB: number;
  /** Files left in the run's working directory, HOME and TMPDIR (the cache is apart). */
  leftovers: string[];
}

/**
 * Run the CLI under GNU time with a fresh cwd, HOME, TMPDIR and cache. `hostileFirst` maps the
 * debuginfo mirror to the hostile server, and the next one to the fixture mirror.
 */
function resolve(args: string[], opts: { interruptAfterMs?: number; mirrors?: string[] } = {}): Promise<Run> {
  const box = mkdtempSync(join(tmpdir(), 'kdebuginfo-hostile-run-'));
  const dirs = ['cwd', 'home', 'tmp', 'cache'].map((d) => join(box, d));
  for (const d of dirs) spawnSync('mkdir', ['-p', d]);
  const [cwd, home, tmp, cache] = dirs as [string, string, string, string];
  const mirrors = opts.mirrors ?? [
    '--mirror',
    `https://debuginfo.centos.org=${hostile.url}/d`,
    '--mirror',
    `https://mirror.facebook.net/centos-debuginfo=${fixture.server.url}/debuginfo.centos.org`,
  ];
  const argv = ['-f', 'KDEBUGINFO_PEAK_KIB %M', process.execPath, join(cliDir, 'kdebuginfo.mjs'), 'resolve', '--json', ...KERNEL, ...mirrors, ...args];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: tmp, LC_ALL: 'C', KDEBUGINFO_CACHE_DIR: cache, KDEBUGINFO_MIRROR: fixture.mirrorEnv };
  return new Promise((done, fail) => {
    const child = spawn('/usr/bin/time', argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    if (opts.interruptAfterMs !== undefined) {
      // GNU time does not pass signals on: Ctrl-C goes to the CLI, its only child.
      setTimeout(() => {
        const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
        for (const pid of kids) process.kill(Number(pid), 'SIGINT');
      }, opts.interruptAfterMs);
    }
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      const m = /KDEBUGINFO_PEAK_KIB (\d+)\n?$/.exec(stderr);
      const leftovers = [cwd, home, tmp].flatMap((d) => readdirSync(d).map((f) => join(d, f)));
      rmSync(box, { recursive: true, force: true });
      done({
        // GNU time exits with the command's status, and prints "Command exited with non-zero status N" first.
        code,
        signal,
        stdout,
        stderr: stderr.replace(/(Command exited with non-zero status \d+\n)?KDEBUGINFO_PEAK_KIB \d+\n?$/, ''),
        peakKiB: m ? Number(m[1]) : Number.NaN,
        leftovers,
      });
    });
  });
}

const fixtureRepomd = () => readFileSync(join(FIXTURE_MIRROR_ROOT, 'debuginfo.centos.org', TREE, 'repodata/repomd.xml'), 'utf8');
const fixturePrimary = () => readFileSync(join(FIXTURE_MIRROR_ROOT, 'debuginfo.centos.org', TREE, PRIMARY));

/** A repomd.xml naming `PRIMARY` with these sizes (none: neither). */
function repomd(sizes: { size?: number; openSize?: number } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo"><data type="primary"><location href="${PRIMARY}"/>${
    sizes.size === undefined ? '' : `<size>${sizes.size}</size>`
  }${sizes.openSize === undefined ? '' : `<open-size>${sizes.openSize}</open-size>`}</data></repomd>\n`;
}

function route(path: string, scenario: Scenario): void {
  hostile.route(`/d${TREE}/${path}`, scenario);
}

/** Exit 0, one JSON document, the debuginfo package from the fixture mirror (the second location), bounded, nothing left behind. */
function expectFellBackToTheNextMirror(r: Run): void {
  expect(r.stderr).not.toMatch(/Unhandled|at .*\(.*:\d+:\d+\)/);
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { packages: Array<{ role: string; url: string; source: string }> };
  const debuginfo = out.packages.find((p) => p.role === 'debuginfo');
  expect(debuginfo).toMatchObject({ url: `${fixture.server.url}/debuginfo.centos.org${TREE}/Packages/${DEBUGINFO}`, source: 'repodata' });
  expect(fixture.server.requests.map((q) => q.path)).toContain(`/debuginfo.centos.org${TREE}/${PRIMARY}`);
  expectBounded(r);
}

function expectBounded(r: Run): void {
  expect(r.peakKiB).toBeGreaterThan(0);
  expect(r.peakKiB, `peak RSS ${Math.round(r.peakKiB / 1024)} MiB`).toBeLessThan(PEAK_RSS_KIB);
  expect(r.leftovers).toEqual([]);
}

const hostileHit = (suffix: string) => hostile.requests.filter((q) => q.path === `/d${TREE}/${suffix}`);

describe('resolve against a hostile first mirror falls back, bounded, with one JSON document', () => {
  it('primary.xml.gz cut after 500 bytes: the next mirror', async () => {
    route('repodata/repomd.xml', { kind: 'file', body: fixtureRepomd() });
    route(PRIMARY, { kind: 'drop', body: fixturePrimary(), afterBytes: 500 });
    const r = await resolve([]);
    expectFellBackToTheNextMirror(r);
    expect(hostileHit(PRIMARY)).toMatchObject([{ bytesSent: 500, aborted: true }]);
    // The listing and the HEAD probe were tried on the hostile mirror first (both 404 there).
    expect(hostileHit('Packages/').length).toBeGreaterThan(0);
  });

  it('primary.xml.gz cut after 500 bytes, with a listing on the same mirror: the listing', async () => {
    route('repodata/repomd.xml', { kind: 'file', body: fixtureRepomd() });
    route(PRIMARY, { kind: 'drop', body: fixturePrimary(), afterBytes: 500 });
    const files = readdirSync(join(FIXTURE_MIRROR_ROOT, 'debuginfo.centos.org', TREE, 'Packages'));
    route('Packages/', { kind: 'file', contentType: 'text/html', body: files.map((f) => `<a href="${f}">${f}</a><br>\n`).join('') });
    for (const f of files) route(`Packages/${f}`, { kind: 'file', body: readFileSync(join(FIXTURE_MIRROR_ROOT, 'debuginfo.centos.org', TREE, 'Packages', f)) });
    const r = await resolve([]);
    expect(r.code, r.stderr).toBe(0);
    const debuginfo = JSON.parse(r.stdout).packages.find((p: { role: string }) => p.role === 'debuginfo');
    expect(debuginfo).toMatchObject({ url: `${hostile.url}/d${TREE}/Packages/${DEBUGINFO}`, source: 'listing' });
    expect(debuginfo.size).toBe(readFileSync(join(FIXTURE_MIRROR_ROOT, 'debuginfo.centos.org', TREE, 'Packages', DEBUGINFO)).length);
    expectBounded(r);
  });

  it('primary.xml.gz that stalls: given up after --idle-timeout, then the next mirror', async () => {
    route('repodata/repomd.xml', { kind: 'file', body: fixtureRepomd() });
    route(PRIMARY, { kind: 'stall', body: fixturePrimary(), afterBytes: 500 });
    const r = await resolve(['--idle-timeout', '1']);
    expectFellBackToTheNextMirror(r);
    expect(hostileHit(PRIMARY)).toMatchObject([{ bytesSent: 500, aborted: true }]);
  });

  it('a gzip bomb (10 GiB of zeros) where repomd.xml gives the open-size', async () => {
    const primary = fixturePrimary();
    route('repodata/repomd.xml', { kind: 'file', body: repomd({ size: primary.length, openSize: 40_000 }) });
    route(PRIMARY, { kind: 'gzip', zeros: 10 * 1024 * MiB, contentLength: true });
    expectFellBackToTheNextMirror(await resolve([]));
  });

  it('a never-ending gzip stream where repomd.xml gives neither size: the 1 GiB limit', async () => {
    route('repodata/repomd.xml', { kind: 'file', body: repomd() });
    route(PRIMARY, { kind: 'gzip', zeros: Number.POSITIVE_INFINITY });
    expectFellBackToTheNextMirror(await resolve([]));
  });

  it('a bomb inside one <package> element', async () => {
    route('repodata/repomd.xml', { kind: 'file', body: repomd() });
    route(PRIMARY, { kind: 'gzip', head: '<?xml version="1.0"?>\n<metadata packages="1">\n<package type="rpm"><name>kernel-debuginfo</name><description>', zeros: 10 * 1024 * MiB });
    expectFellBackToTheNextMirror(await resolve([]));
  });

  it('an endless repomd.xml, without and with a Content-Length (3 GiB)', async () => {
    route('repodata/repomd.xml', { kind: 'endless', chunk: '<repomd>', contentType: 'text/xml' });
    expectFellBackToTheNextMirror(await resolve([]));
    hostile.reset();
    route('repodata/repomd.xml', { kind: 'endless', chunk: '<repomd>', contentType: 'text/xml', contentLength: 3 * 1024 * MiB });
    expectFellBackToTheNextMirror(await resolve([]));
  });

  it('an oversized listing (45 MiB of real rows) where there is no repodata, without and with a Content-Length', async () => {
    const row = (i: number) =>
      `<tr><td valign="top"><img src="/icons/unknown.gif" alt="[   ]"></td><td><a href="kernel-debuginfo-4.18.0-${i}.el8.x86_64.rpm">kernel-debuginfo-4.18.0-${i}.el8.x86_64.rpm</a></td><td align="right">2021-11-16 12:00  </td><td align="right"> 12M</td><td>&nbsp;</td></tr>\n`;
    const chunk = Array.from({ length: 200 }, (_, i) => row(i)).join('');
    route('Packages/', { kind: 'endless', chunk });
    expectFellBackToTheNextMirror(await resolve([]));
    expect(hostileHit('Packages/').length).toBeGreaterThan(0);
    hostile.reset();
    route('Packages/', { kind: 'endless', chunk, contentLength: 45 * MiB });
    expectFellBackToTheNextMirror(await resolve([]));
  });

  it('a redirect loop on repomd.xml', async () => {
    route('repodata/repomd.xml', { kind: 'redirect', to: `/d${TREE}/repodata/loop` });
    route('repodata/loop', { kind: 'redirect', to: `/d${TREE}/repodata/repomd.xml` });
    expectFellBackToTheNextMirror(await resolve([]));
    // got gives up after 10 redirects; the server saw the first request and those 10.
    expect(hostile.requests.filter((q) => q.path.includes('/repodata/')).length).toBe(11);
  });
});

describe('Ctrl-C and credentials', () => {
  it('a single Ctrl-C during a trickling repomd.xml ends resolve at once: exit 130, one JSON document', async () => {
    // 4 KiB at 10 bytes every 100 ms would take some 40 s.
    route('repodata/repomd.xml', { kind: 'trickle', body: fixtureRepomd(), bytes: 10, everyMs: 100 });
    const r = await resolve([], { interruptAfterMs: 1500 });
    expect(r.code, r.stderr).toBe(130);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, failed: true, rc: 130, msg: 'interrupted' });
    expect(r.stderr).toContain('kdebuginfo: SIGINT: stopping');
    // Cut when the signal came: the server had sent only part of the file.
    expect(hostileHit('repodata/repomd.xml')).toMatchObject([{ aborted: true }]);
    expect(hostileHit('repodata/repomd.xml')[0]!.bytesSent).toBeLessThan(fixtureRepomd().length);
    expectBounded(r);
  });

  it('credentials in a --mirror target are sent, and shown nowhere (stdout, stderr, --verbose and the JSON of a failure of resolve; plan)', async () => {
    const withCredentials = fixture.server.url.replace('//', '//ann:s3cret@');
    const mirrors = ['--mirror', `https://debuginfo.centos.org=${withCredentials}/debuginfo.centos.org`, '--mirror', `https://vault.centos.org=${withCredentials}/vault.centos.org`];
    const found = await resolve(['--verbose'], { mirrors });
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).packages[0].url).toBe(`${fixture.server.url.replace('//', '//***@')}/debuginfo.centos.org${TREE}/Packages/${DEBUGINFO}`);
    expect(fixture.server.requests.map((q) => q.headers.authorization)).toContain(`Basic ${Buffer.from('ann:s3cret').toString('base64')}`);
    const missing = await resolve(['--verbose', '--kernel', '4.18.0-348.5.1.el8_5.x86_64'], { mirrors });
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout).attempts.length).toBeGreaterThan(3);
    // plan shows the same candidates (no network: in-process is enough).
    const plan = await runCli(['plan', '--json', ...KERNEL, ...mirrors]);
    expect(plan.code).toBe(0);
    expect(plan.json().packages[0].candidates[0]).toBe(`${fixture.server.url.replace('//', '//***@')}/debuginfo.centos.org${TREE}/Packages/${DEBUGINFO}`);
    for (const r of [found, missing, plan]) {
      expect(r.stdout + r.stderr).not.toContain('s3cret');
      expect(r.stdout + r.stderr).toContain('//***@127.0.0.1:');
    }
  });

  it('credentials in a --mirror target are masked in download and bundle too: progress, --verbose, --json, text', async () => {
    const withCredentials = fixture.server.url.replace('//', '//ann:s3cret@');
    const mirrors = ['--mirror', `https://debuginfo.centos.org=${withCredentials}/debuginfo.centos.org`, '--mirror', `https://vault.centos.org=${withCredentials}/vault.centos.org`];
    const cache = mkdtempSync(join(tmpdir(), 'kdebuginfo-cred-'));
    try {
      const json = await runCli(['download', '--json', '--verbose', ...KERNEL, ...mirrors, '--cache-dir', join(cache, 'c1')]);
      expect(json.code, json.stderr).toBe(0);
      expect(json.json().packages[0].url).toContain('//***@127.0.0.1:');
      const text = await runCli(['download', ...KERNEL, ...mirrors, '--cache-dir', join(cache, 'c2')]);
      expect(text.code, text.stderr).toBe(0);
      const bundle = await runCli(['bundle', '--json', ...KERNEL, ...mirrors, '--cache-dir', join(cache, 'c1'), '-o', join(cache, 'k.tar.gz')]);
      expect(bundle.code, bundle.stderr).toBe(0);
      for (const r of [json, text, bundle]) {
        expect(r.stdout + r.stderr).not.toContain('s3cret');
        expect(r.stdout + r.stderr).toContain('//***@127.0.0.1:');
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
