/**
 * The Debian/Ubuntu backend (src/backends/deb/) driven through the shared command flows, and the
 * apt/dpkg parsers (src/io/apt.ts).
 *
 * Parsers and flows are driven by REAL apt-cache, apt-get (read-only modes) and dpkg-query output
 * captured on this Debian 12 machine (fixtures/captured/apt/, see capture.sh there), replayed by
 * argv. Calls that would change the host (apt-get install, apt-get update) are never run here:
 * the replay answers them with a stand-in success, named as such, and the tests assert the exact
 * argv kdebuginfo would have run. One describe block asks this machine's real apt (read-only,
 * no download), as the brief allows. The real install is test/e2e/debian.e2e.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { Context } from '../../src/context.js';
import { createExec, type Exec, type ExecOptions, type ExecResult } from '../../src/io/exec.js';
import {
  parseAptPolicy,
  parseAptSources,
  parseAptUpdateFailures,
  parseControlStanzas,
  parseDpkgQuery,
  parsePrintUris,
  parseSimulatedInstall,
} from '../../src/io/apt.js';
import { debTargetFor, type DebTarget } from '../../src/backends/deb/target.js';
import { debBackend } from '../../src/backends/deb/index.js';
import { installTarget, type InstallOptions, type Verifier } from '../../src/commands/install.js';
import { resolvedJson } from '../../src/commands/resolve.js';
import { runDownload } from '../../src/commands/download.js';
import { parseDebKernelRelease, debOsInfo, unreachableDdebs } from '../../src/core/debian.js';
import { KdebuginfoError, UsageError } from '../../src/errors.js';
import { hasTool, readCaptured, type CapturedOutput } from '../support/captured-output.js';

const apt = (name: string): CapturedOutput => readCaptured('apt', name);

/** The shared flows (plan, resolve, install, download) bound to a Debian target made by the test. */
const planDeb = (ctx: Context, t: DebTarget) => debBackend(ctx, t).plan({ rewrites: [] });
async function resolveDeb(ctx: Context, t: DebTarget) {
  const b = debBackend(ctx, t);
  const plan = await b.plan({ rewrites: [] });
  return { ...plan, packages: (await b.resolve({ rewrites: [], userAgent: 'kdebuginfo-test' })).map(resolvedJson) };
}
const installDeb = (ctx: Context, t: DebTarget, opts: InstallOptions, verifier?: Verifier) => installTarget(ctx, debBackend(ctx, t), opts, verifier);
const downloadDeb = (ctx: Context, t: DebTarget, cacheDir: string) =>
  runDownload(ctx, { kernel: t.kernel.uname, os: undefined, root: undefined, rewrites: [], userAgent: 'kdebuginfo-test', cacheDir }, debBackend(ctx, t));
const R = '6.1.0-56-cloud-amd64';
const V = '6.1.192-2';

// ---------------------------------------------------------------------------------------------
// Parsers on real captures
// ---------------------------------------------------------------------------------------------

describe('apt and dpkg output parsers (real captures)', () => {
  it('apt-cache policy: installed, candidate and every version with its sources', () => {
    const p = parseAptPolicy(apt('policy-kernel').stdout);
    expect([...p.keys()]).toEqual([`linux-image-${R}-dbg`, `linux-headers-${R}`, `linux-image-${R}`, `linux-image-${R}-unsigned`]);
    expect(p.get(`linux-image-${R}-dbg`)).toEqual({
      name: `linux-image-${R}-dbg`,
      installed: null,
      candidate: V,
      versions: [{ version: V, priority: 500, isInstalled: false, sources: ['http://deb.debian.org/debian-security bookworm-security/main amd64 Packages'] }],
    });
    const up = parseAptPolicy(apt('policy-upgradable').stdout).get('linux-libc-dev');
    expect(up).toMatchObject({ installed: '6.1.187-1', candidate: '6.1.192-2' });
    expect(up?.versions.map((v) => [v.version, v.priority, v.isInstalled])).toEqual([
      ['6.1.192-2', 500, false],
      ['6.1.187-1', 100, true],
      ['6.1.176-1', 500, false],
    ]);
    expect(up?.versions[1]?.sources).toEqual(['/var/lib/dpkg/status']);
  });

  it('apt-cache policy of an unknown name prints nothing and exits 0', () => {
    const c = apt('policy-unknown');
    expect(c.exitCode).toBe(0);
    expect(parseAptPolicy(c.stdout).size).toBe(0);
  });

  it('apt-cache policy without arguments: the sources', () => {
    expect(parseAptSources(apt('policy-sources').stdout)).toEqual([
      'http://deb.debian.org/debian-security bookworm-security/main amd64 Packages',
      'http://deb.debian.org/debian bookworm-updates/main amd64 Packages',
      'http://deb.debian.org/debian bookworm/main amd64 Packages',
    ]);
  });

  it('apt-cache show: the control stanza', () => {
    const [s] = parseControlStanzas(apt('show-headers').stdout);
    expect(s).toMatchObject({
      Package: `linux-headers-${R}`,
      Source: 'linux',
      Version: V,
      Depends: 'linux-headers-6.1.0-56-common (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2), linux-compiler-gcc-12-x86',
      Size: '1592924',
      SHA256: '66b3332567754d46edbe47f2e424db28a7bb28afedd5f51867b17f8af0d41191',
    });
    expect(apt('show-unknown').exitCode).toBe(100);
  });

  it('apt-get download --print-uris: URL, file, size, sha256 (not in the order asked)', () => {
    expect(parsePrintUris(apt('download-print-uris').stdout)).toEqual([
      {
        url: `http://deb.debian.org/debian-security/pool/updates/main/l/linux/linux-headers-${R}_${V}_amd64.deb`,
        file: `linux-headers-${R}_${V}_amd64.deb`,
        size: 1592924,
        checksum: { type: 'sha256', value: '66b3332567754d46edbe47f2e424db28a7bb28afedd5f51867b17f8af0d41191' },
      },
      {
        url: `http://deb.debian.org/debian-security/pool/updates/main/l/linux/linux-image-${R}-dbg_${V}_amd64.deb`,
        file: `linux-image-${R}-dbg_${V}_amd64.deb`,
        size: 283308068,
        checksum: { type: 'sha256', value: 'a835edf97e22ec84ddcd4d773596376be9eaae0c5094053b14c8e557cf9d8fb7' },
      },
    ]);
    expect(apt('download-print-uris-wrong-version')).toMatchObject({ exitCode: 100, stderr: expect.stringContaining("E: Version '6.1.170-3' for 'linux-headers-6.1.0-56-cloud-amd64' was not found") });
  });

  it('apt-get install --print-uris: every file with its size, no hashes', () => {
    const uris = parsePrintUris(apt('install-print-uris').stdout);
    expect(uris.map((u) => u.file.split('_')[0])).toEqual([
      'linux-compiler-gcc-12-x86',
      'linux-headers-6.1.0-56-common',
      'linux-kbuild-6.1',
      `linux-headers-${R}`,
      `linux-image-${R}-dbg`,
      'linux-libc-dev',
      'linux-perf',
    ]);
    expect(uris.every((u) => u.checksum === null && typeof u.size === 'number')).toBe(true);
  });

  it('apt-get install -s: what apt would install, and what it would upgrade', () => {
    expect(parseSimulatedInstall(apt('install-simulate').stdout)).toEqual([
      { name: 'linux-compiler-gcc-12-x86', version: V, previous: null },
      { name: 'linux-headers-6.1.0-56-common', version: V, previous: null },
      { name: 'linux-kbuild-6.1', version: V, previous: null },
      { name: `linux-headers-${R}`, version: V, previous: null },
      { name: `linux-image-${R}-dbg`, version: V, previous: null },
      { name: 'linux-libc-dev', version: V, previous: '6.1.187-1' },
      { name: 'linux-perf', version: V, previous: '6.1.187-1' },
    ]);
  });

  it('dpkg-query -W: exit 1 with unknown names, the known ones still printed', () => {
    const before = apt('dpkg-query-not-installed');
    expect(before.exitCode).toBe(1);
    expect([...parseDpkgQuery(before.stdout)]).toEqual([
      ['linux-perf', '6.1.187-1'],
      ['systemtap', '4.8-2'],
    ]);
    expect(parseDpkgQuery(apt('dpkg-query-installed').stdout).get(`linux-image-${R}-dbg`)).toBe(V);
    expect(parseDpkgQuery('foo\t1.0-1\tconfig-files\nbar:amd64\t2.0\tinstalled\n')).toEqual(new Map([['bar', '2.0']]));
  });
});

// ---------------------------------------------------------------------------------------------
// The flow, on replayed real output
// ---------------------------------------------------------------------------------------------

type Answer = CapturedOutput | { exitCode: number; stdout: string; stderr: string; standIn: string };
type Handler = (argv: string[], calls: string[][]) => Answer | undefined;

/**
 * An Exec that answers from captures. Mutating calls are skipped under dry-run exactly like the
 * real one (src/io/exec.ts); an argv nobody answers fails the test, so every command the flow
 * runs is accounted for.
 */
function replayExec(handlers: Handler[], dryRun: boolean): Exec & { calls: string[][] } {
  const calls: string[][] = [];
  const exec = (async (argv: string[], o: ExecOptions = {}): Promise<ExecResult> => {
    calls.push(argv);
    if (o.mutates && dryRun) return { argv, exitCode: 0, stdout: '', stderr: '', skipped: true, timedOut: false };
    for (const h of handlers) {
      const a = h(argv, calls);
      if (!a) continue;
      if (a.exitCode !== 0 && !o.allowFailure) throw new KdebuginfoError(`${argv.join(' ')} exited with ${a.exitCode}`);
      return { argv, exitCode: a.exitCode, stdout: a.stdout, stderr: a.stderr, skipped: false, timedOut: false };
    }
    throw new Error(`replayExec: no answer for ${JSON.stringify(argv)}`);
  }) as Exec & { calls: string[][] };
  exec.calls = calls;
  return exec;
}

/** For `await f().then(noRejection, asError)`: the KdebuginfoError it was expected to throw. */
const noRejection = (): never => {
  throw new Error('expected a rejection');
};
const asError = (e: unknown): KdebuginfoError => {
  expect(e).toBeInstanceOf(KdebuginfoError);
  return e as KdebuginfoError;
};

const is = (argv: string[], ...prefix: string[]) => prefix.every((p, i) => argv[i] === p);

/**
 * A local stand-in for the archive's pool: apt's print-uris lines (URL, file, size, checksum) are
 * rewritten to point here, so kdebuginfo's own download engine fetches real bytes over HTTP.
 * `served` may differ from what the lines promise (a damaged mirror).
 */
async function servePool(files: Array<{ file: string; bytes: string; served?: string; hash?: 'SHA256' | 'SHA512' }>) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const f = files.find((x) => `/pool/${x.file}` === req.url);
    if (!f) return void res.writeHead(404).end();
    const body = f.served ?? f.bytes;
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const printUris = files
    .map((f) => {
      const algo = f.hash ?? 'SHA256';
      return `'${url}/pool/${f.file}' ${f.file} ${Buffer.byteLength(f.bytes)} ${algo}:${createHash(algo.toLowerCase()).update(f.bytes).digest('hex')}`;
    })
    .join('\n');
  return { url, requests, printUris: `${printUris}\n`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The read-only apt/dpkg answers for kernel R on this machine before the install. */
function debian12Answers(state: { installed: boolean }): Handler[] {
  return [
    (a) => (is(a, 'apt-cache', 'policy') && a.length > 2 ? apt('policy-kernel') : undefined),
    (a) => (is(a, 'apt-cache', 'policy') && a.length === 2 ? apt('policy-sources') : undefined),
    (a) => (is(a, 'dpkg-query', '-W') ? apt(state.installed ? 'dpkg-query-installed' : 'dpkg-query-not-installed') : undefined),
    (a) => (is(a, 'apt-get', 'download', '--print-uris') ? apt('download-print-uris') : undefined),
    (a) => (is(a, 'apt-get', 'install', '-s') ? apt('install-simulate') : undefined),
    (a) => (is(a, 'apt-get', 'install', '--print-uris') ? apt('install-print-uris') : undefined),
    (a) => (is(a, 'apt-cache', 'show') ? apt('show-headers') : undefined),
    (a) => (is(a, 'apt-cache', 'pkgnames', 'linux-image-') ? apt('pkgnames-debug') : undefined),
    (a) => (is(a, 'apt-cache', 'pkgnames', 'linux-headers-') ? apt('pkgnames-headers') : undefined),
  ];
}

function testContext(exec: Exec, o: { dryRun?: boolean; isRoot?: boolean; env?: Record<string, string | undefined> } = {}) {
  const lines: string[] = [];
  const ctx: Context = {
    env: o.env ?? { PATH: process.env.PATH, HOME: process.env.HOME },
    cwd: process.cwd(),
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    isInteractive: false,
    isStderrTty: false,
    useColor: false,
    dryRun: o.dryRun ?? false,
    exec,
    ui: { info: (l) => lines.push(l), warn: (l) => lines.push(`warning: ${l}`), debug: () => undefined },
    isRoot: o.isRoot ?? true,
    signal: new AbortController().signal,
  };
  return { ctx, lines };
}

function debian12Target(over: Partial<DebTarget> = {}): DebTarget {
  return {
    kernel: parseDebKernelRelease(R),
    os: debOsInfo('debian', '12'),
    arch: 'amd64',
    aptIsTarget: true,
    isRunning: false,
    running: undefined,
    notes: [],
    ...over,
  };
}

const installOptions = (over: Partial<InstallOptions> = {}): InstallOptions => ({
  kernel: R,
  os: undefined,
  root: undefined,
  rewrites: [],
  userAgent: 'kdebuginfo-test',
  cacheDir: mkdtempSync(join(tmpdir(), 'kdebuginfo-debcache-')),
  gpgKeys: [],
  noGpgcheck: false,
  verify: 'none',
  wait: true,
  packageManager: 'auto',
  yes: true,
  systemtap: true,
  ...over,
});

describe('planDeb and resolveDeb (replayed real apt output)', () => {
  it('plans the -dbg and headers packages at apt\'s candidate build, with the pool URLs', async () => {
    const exec = replayExec(debian12Answers({ installed: false }), false);
    const plan = await planDeb(testContext(exec).ctx, debian12Target());
    expect(plan).toEqual({
      kernel: { uname: R, version: '6.1.0', release: '56', arch: 'amd64', flavor: 'cloud' },
      os: { id: 'debian', version: '12', name: 'Debian 12' },
      packages: [
        {
          role: 'debuginfo',
          name: `linux-image-${R}-dbg`,
          version: '6.1.192',
          release: '2',
          arch: 'amd64',
          file: `linux-image-${R}-dbg_${V}_amd64.deb`,
          candidates: [`http://deb.debian.org/debian-security/pool/updates/main/l/linux/linux-image-${R}-dbg_${V}_amd64.deb`],
        },
        {
          role: 'devel',
          name: `linux-headers-${R}`,
          version: '6.1.192',
          release: '2',
          arch: 'amd64',
          file: `linux-headers-${R}_${V}_amd64.deb`,
          candidates: [`http://deb.debian.org/debian-security/pool/updates/main/l/linux/linux-headers-${R}_${V}_amd64.deb`],
        },
      ],
      notes: [`version ${V}: apt's candidate (the kernel image is not installed here)`],
    });
    // Read-only calls only; the version pinned in the URI query.
    expect(exec.calls.map((c) => c.slice(0, 2).join(' '))).toEqual(['apt-cache policy', 'dpkg-query -W', 'apt-get download']);
    expect(exec.calls[2]).toEqual(['apt-get', 'download', '--print-uris', `linux-image-${R}-dbg=${V}`, `linux-headers-${R}=${V}`]);
  });

  it('the running kernel pins its own build (uname -v), not apt\'s candidate', async () => {
    const exec = replayExec(debian12Answers({ installed: false }), false);
    const plan = await planDeb(testContext(exec).ctx, debian12Target({ isRunning: true, running: { unameV: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.191-1 (2025-10-01)' } }));
    expect(plan.packages.map((p) => [p.version, p.release, p.file, p.candidates])).toEqual([
      ['6.1.191', '1', `linux-image-${R}-dbg_6.1.191-1_amd64.deb`, []],
      ['6.1.191', '1', `linux-headers-${R}_6.1.191-1_amd64.deb`, []],
    ]);
    expect(plan.notes).toEqual(['version 6.1.191-1: the running kernel\'s own build (uname -v)']);
    // apt has no 6.1.191-1: not even asked for its URL.
    expect(exec.calls.some((c) => is(c, 'apt-get', 'download'))).toBe(false);
  });

  it('resolve: url, size, sha256 from apt, source "apt"', async () => {
    const exec = replayExec(debian12Answers({ installed: false }), false);
    const r = await resolveDeb(testContext(exec).ctx, debian12Target());
    expect(r.packages.map((p) => [p.role, p.size, p.checksum?.type, p.source])).toEqual([
      ['debuginfo', 283308068, 'sha256', 'apt'],
      ['devel', 1592924, 'sha256', 'apt'],
    ]);
    expect(r.packages[0]?.url).toBe(`http://deb.debian.org/debian-security/pool/updates/main/l/linux/linux-image-${R}-dbg_${V}_amd64.deb`);
  });

  it('resolve of a release apt does not have: exit 3, the nearest releases apt has, the sources searched', async () => {
    const exec = replayExec([(a) => (is(a, 'apt-cache', 'policy') && a.length > 2 ? apt('policy-unknown') : undefined), ...debian12Answers({ installed: false })], false);
    const target = debian12Target({ kernel: parseDebKernelRelease('6.1.0-99-cloud-amd64') });
    const err = await resolveDeb(testContext(exec).ctx, target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KdebuginfoError);
    const e = err as KdebuginfoError;
    expect(e.exitCode).toBe(3);
    expect(e.message).toBe(
      [
        'not found in any apt source: linux-image-6.1.0-99-cloud-amd64-dbg, linux-headers-6.1.0-99-cloud-amd64',
        "  linux-image-6.1.0-99-cloud-amd64-dbg: no such package in apt's lists; nearest there: linux-image-6.1.0-56-cloud-amd64-dbg, linux-image-6.1.0-55-cloud-amd64-dbg, linux-image-6.1.0-54-cloud-amd64-dbg",
        "  linux-headers-6.1.0-99-cloud-amd64: no such package in apt's lists; nearest there: linux-headers-6.1.0-56-cloud-amd64, linux-headers-6.1.0-55-cloud-amd64, linux-headers-6.1.0-54-cloud-amd64",
        'apt sources searched: http://deb.debian.org/debian-security bookworm-security/main amd64 Packages; http://deb.debian.org/debian bookworm-updates/main amd64 Packages; http://deb.debian.org/debian bookworm/main amd64 Packages',
      ].join('\n'),
    );
    expect(e.hint).toBe("refresh apt's lists (apt-get update; kdebuginfo install does it when a package is missing), or check --kernel");
  });

  it('planning for another release than this host\'s apt serves asks apt nothing', async () => {
    const exec = replayExec([], false);
    const target = debian12Target({ kernel: parseDebKernelRelease('6.8.0-45-generic'), os: debOsInfo('ubuntu', '24.04'), aptIsTarget: false });
    const plan = await planDeb(testContext(exec).ctx, target);
    expect(exec.calls).toEqual([]);
    expect(plan.packages.map((p) => [p.role, p.name, p.file, p.candidates])).toEqual([
      ['debuginfo', 'linux-image-unsigned-6.8.0-45-generic-dbgsym', '', []],
      ['devel', 'linux-headers-6.8.0-45-generic', '', []],
    ]);
    expect(plan.notes).toEqual(['apt on this machine does not serve Ubuntu 24.04: package versions and URLs come from apt on the target itself']);
  });
});

describe('Ubuntu 24.04 (replayed real output of Ubuntu\'s apt against Ubuntu\'s archive, fixtures/captured/apt/capture-ubuntu.sh)', () => {
  const UR = '6.8.0-151-generic';
  const UV = '6.8.0-151.151';
  const ubuntuTarget = (): DebTarget => ({
    kernel: parseDebKernelRelease(UR, 'ubuntu'),
    os: debOsInfo('ubuntu', '24.04'),
    arch: 'amd64',
    aptIsTarget: true,
    isRunning: false,
    running: undefined,
    notes: [],
  });
  const ubuntuAnswers: Handler[] = [
    (a) => (is(a, 'apt-cache', 'policy') && a.length > 2 ? apt('ubuntu-policy-kernel') : undefined),
    (a) => (is(a, 'apt-cache', 'policy') && a.length === 2 ? apt('ubuntu-policy-sources') : undefined),
    (a) => (is(a, 'apt-get', 'download', '--print-uris') ? apt('ubuntu-download-print-uris') : undefined),
    // STAND-IN: a fresh Ubuntu root has none of these installed, so dpkg-query lists nothing.
    (a) => (is(a, 'dpkg-query', '-W') ? { exitCode: 1, stdout: '', stderr: '', standIn: 'nothing installed' } : undefined),
    // STAND-IN: the root's apt knows no -dbgsym names at all without the ddebs source.
    (a) => (is(a, 'apt-cache', 'pkgnames') ? { exitCode: 0, stdout: '', stderr: '', standIn: 'no such names' } : undefined),
  ];

  it('without the ddebs source: the headers resolve at the archive\'s build, only the -dbgsym is missing, and the hint names the source', async () => {
    const exec = replayExec(ubuntuAnswers, false);
    const { ctx } = testContext(exec);
    const plan = await planDeb(ctx, ubuntuTarget());
    expect(plan.packages.map((p) => [p.role, p.name, p.version, p.release])).toEqual([
      ['debuginfo', `linux-image-unsigned-${UR}-dbgsym`, '6.8.0', '151.151'],
      ['devel', `linux-headers-${UR}`, '6.8.0', '151.151'],
    ]);
    expect(plan.notes).toContain(`version ${UV}: apt's candidate for linux-headers-${UR} (apt has no debug package for this kernel) (the kernel image is not installed here)`);
    const e = await resolveDeb(ctx, ubuntuTarget()).then(noRejection, asError);
    expect(e.exitCode).toBe(3);
    expect(e.message.split('\n').slice(0, 2)).toEqual([
      `not found in any apt source: linux-image-unsigned-${UR}-dbgsym=${UV}`,
      `  linux-image-unsigned-${UR}-dbgsym: no such package in apt's lists`,
    ]);
    expect(e.hint).toContain('http://ddebs.ubuntu.com noble main restricted universe multiverse');
  });

  it('apt-get update with the ddebs source unreachable: the failures that belong to the ddebs archive (exit 0 from apt, W: lines only)', () => {
    const failures = parseAptUpdateFailures(apt('ubuntu-update-ddebs-unreachable').stderr);
    expect(unreachableDdebs(failures)).toEqual([
      { url: 'http://ddebs.ubuntu.com/dists/noble/InRelease', reason: "Could not resolve 'ddebs.ubuntu.com'" },
      { url: 'http://ddebs.ubuntu.com/dists/noble-updates/InRelease', reason: "Could not resolve 'ddebs.ubuntu.com'" },
    ]);
    // Through a --mirror for ddebs, only that mirror's failures count.
    expect(unreachableDdebs(failures, 'http://nexus.example.com/ddebs')).toEqual([]);
    expect(unreachableDdebs([{ url: 'http://nexus.example.com/ddebs/dists/noble/InRelease' }], 'http://nexus.example.com/ddebs/')).toHaveLength(1);
  });
});

describe('installDeb (replayed real apt output; apt-get install itself never runs here)', () => {
  it('--dry-run: would install both, pinned; names what apt also installs and upgrades; changes nothing', async () => {
    const exec = replayExec(debian12Answers({ installed: false }), true);
    const { ctx } = testContext(exec, { dryRun: true });
    const r = await installDeb(ctx, debian12Target(), installOptions());
    expect(r).toMatchObject({
      changed: true,
      failed: false,
      rc: 0,
      msg: `would download 290.1 MiB and install 2 package(s) for ${R} with apt; apt also installs linux-compiler-gcc-12-x86, linux-headers-6.1.0-56-common, linux-kbuild-6.1`,
      kernel: { uname: R, flavor: 'cloud', arch: 'amd64' },
      os: { id: 'debian', version: '12', name: 'Debian 12' },
      verify: null,
      warnings: [
        `apt also upgrades linux-libc-dev (6.1.187-1 -> ${V}), linux-perf (6.1.187-1 -> ${V}) (dependencies of linux-image-${R}-dbg, linux-headers-${R})`,
      ],
    });
    expect(r.packages).toEqual([
      { role: 'debuginfo', name: `linux-image-${R}-dbg`, file: `linux-image-${R}-dbg_${V}_amd64.deb`, action: 'would-install', size: 283308068 },
      { role: 'devel', name: `linux-headers-${R}`, file: `linux-headers-${R}_${V}_amd64.deb`, action: 'would-install', size: 1592924 },
    ]);
    expect(exec.calls.filter((c) => is(c, 'apt-get', 'install') && !c.includes('-s') && !c.includes('--print-uris'))).toEqual([]);
  });

  it('fetches both pinned .debs with the download engine, installs them with apt-get; then a second run changes nothing', async () => {
    const state = { installed: false };
    const installs: string[][] = [];
    const pool = await servePool([
      { file: `linux-image-${R}-dbg_${V}_amd64.deb`, bytes: 'STAND-IN -dbg bytes' },
      { file: `linux-headers-${R}_${V}_amd64.deb`, bytes: 'STAND-IN headers bytes' },
    ]);
    try {
      const exec = replayExec(
        [
          (a) => {
            if (!is(a, 'apt-get', '-o') || !a.includes('install')) return undefined;
            installs.push(a);
            state.installed = true;
            return { exitCode: 0, stdout: '', stderr: '', standIn: 'apt-get install is not run in unit tests (the e2e test runs it)' };
          },
          (a) => (is(a, 'apt-get', 'download', '--print-uris') ? { ...apt('download-print-uris'), stdout: pool.printUris, standIn: 'URIs rewritten to the local pool' } : undefined),
          ...debian12Answers(state),
        ],
        false,
      );
      const opts = installOptions();
      const { ctx } = testContext(exec);
      const r = await installDeb(ctx, debian12Target(), opts);
      expect(installs).toEqual([
        [
          'apt-get',
          '-o',
          'DPkg::Lock::Timeout=600',
          'install',
          '-y',
          '--no-install-recommends',
          '--allow-downgrades',
          '-o',
          'Dpkg::Options::=--force-confdef',
          '-o',
          'Dpkg::Options::=--force-confold',
          join(opts.cacheDir as string, `linux-image-${R}-dbg_${V}_amd64.deb`),
          join(opts.cacheDir as string, `linux-headers-${R}_${V}_amd64.deb`),
        ],
      ]);
      expect(readFileSync(join(opts.cacheDir as string, `linux-image-${R}-dbg_${V}_amd64.deb`), 'utf8')).toBe('STAND-IN -dbg bytes');
      expect(pool.requests.sort()).toEqual([`/pool/linux-headers-${R}_${V}_amd64.deb`, `/pool/linux-image-${R}-dbg_${V}_amd64.deb`]);
      expect(r).toMatchObject({ changed: true, failed: false, msg: `installed 2 package(s) for ${R}; apt also installs linux-compiler-gcc-12-x86, linux-headers-6.1.0-56-common, linux-kbuild-6.1` });
      expect(r.packages.map((p) => p.action)).toEqual(['installed', 'installed']);

      const again = await installDeb(ctx, debian12Target(), opts);
      expect(again).toMatchObject({ changed: false, msg: `all 2 packages for ${R} are already installed (build ${V})` });
      expect(again.packages.map((p) => p.action)).toEqual(['present', 'present']);
      expect(installs).toHaveLength(1);
      expect(pool.requests).toHaveLength(2);
    } finally {
      await pool.close();
    }
  });

  it('--no-wait: apt may not wait for the dpkg lock', async () => {
    const installs: string[][] = [];
    const state = { installed: false };
    const pool = await servePool([
      { file: `linux-image-${R}-dbg_${V}_amd64.deb`, bytes: 'STAND-IN -dbg bytes' },
      { file: `linux-headers-${R}_${V}_amd64.deb`, bytes: 'STAND-IN headers bytes' },
    ]);
    try {
      const exec = replayExec(
        [
          (a) => (is(a, 'apt-get', '-o') && a.includes('install') ? (installs.push(a), (state.installed = true), { exitCode: 0, stdout: '', stderr: '', standIn: 'no real install' }) : undefined),
          (a) => (is(a, 'apt-get', 'download', '--print-uris') ? { ...apt('download-print-uris'), stdout: pool.printUris, standIn: 'URIs rewritten to the local pool' } : undefined),
          ...debian12Answers(state),
        ],
        false,
      );
      await installDeb(testContext(exec).ctx, debian12Target(), installOptions({ wait: false }));
      expect(installs[0]?.slice(0, 3)).toEqual(['apt-get', '-o', 'DPkg::Lock::Timeout=0']);
    } finally {
      await pool.close();
    }
  });

  it('needs root; --root and --package-manager are refused; --no-gpgcheck is a warning', async () => {
    const exec = replayExec(debian12Answers({ installed: false }), false);
    const asUser = await installDeb(testContext(exec, { isRoot: false }).ctx, debian12Target(), installOptions()).then(noRejection, asError);
    expect([asUser.exitCode, asUser.message, asUser.hint]).toEqual([4, 'installing packages on this host needs root', 'run it with sudo, or use --dry-run to see what would change']);
    const root = await installDeb(testContext(exec).ctx, debian12Target(), installOptions({ root: '/mnt/image' })).then(noRejection, asError);
    expect([root.exitCode, root.message]).toEqual([2, '--root is not supported for Debian 12 targets: apt installs into the running system']);
    const pm = await installDeb(testContext(exec).ctx, debian12Target(), installOptions({ packageManager: 'dnf' })).then(noRejection, asError);
    expect([pm.exitCode, pm.message]).toEqual([2, '--package-manager dnf: Debian 12 packages are installed with apt']);
    const dry = await installDeb(testContext(replayExec(debian12Answers({ installed: false }), true), { dryRun: true }).ctx, debian12Target(), installOptions({ noGpgcheck: true }));
    expect(dry.warnings[0]).toBe("--no-gpgcheck is ignored on Debian 12: apt checks the archive's signatures itself");
  });

  it('--verify run for a kernel that is not running is refused before anything changes', async () => {
    const exec = replayExec(debian12Answers({ installed: false }), false);
    const err = await installDeb(testContext(exec).ctx, debian12Target(), installOptions({ verify: 'run' })).then(noRejection, asError);
    expect([err.exitCode, err.message, err.hint]).toEqual([
      2,
      `--verify run loads the probe into the running kernel, and ${R} is not running here`,
      `use --verify compile (stap -p4 -r ${R}) or --verify resolve`,
    ]);
    expect(exec.calls.filter((c) => is(c, 'apt-get', '-o'))).toEqual([]);
  });

  it('without a terminal and without --yes, a missing SystemTap is exit 2 naming both flags', async () => {
    const exec = replayExec(debian12Answers({ installed: false }), true);
    const err = await installDeb(testContext(exec, { dryRun: true, env: { PATH: '/nonexistent' } }).ctx, debian12Target(), installOptions({ yes: false })).then(noRejection, asError);
    expect([err.exitCode, err.message]).toEqual([2, 'SystemTap (stap) is not installed: pass --yes to install systemtap too, or --no-systemtap to leave it out']);
  });

  it('for the running kernel, runs the real stap-prep\'s Debian branch as nobody and explains its bogus version mismatch', async () => {
    const exec = replayExec(
      [
        (a) => (a.includes('stap-prep') ? apt('stap-prep-deb-kernel-installed') : undefined),
        ...debian12Answers({ installed: false }),
      ],
      true,
    );
    const target = debian12Target({ isRunning: true, running: { unameV: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-10-10)' } });
    const r = await installDeb(testContext(exec, { dryRun: true }).ctx, target, installOptions());
    const prep = exec.calls.find((c) => c.includes('stap-prep'));
    expect(prep?.slice(-2)).toEqual(['--', 'stap-prep']); // no release argument: the Debian branch refuses one
    expect(prep?.[0]).toMatch(/^(setpriv|runuser)$/);
    expect(r.warnings[0]).toBe(
      'stap-prep reports linux-headers-6.1.0-56-cloud-amd64, linux-image-6.1.0-56-cloud-amd64-dbg as not matching the running kernel\'s version "Debian": that is its own misreading of uname -v (the 4th word), not a real mismatch',
    );
  });

  it('Ubuntu without the ddebs source: --dry-run says it would add it (nothing written, nothing updated)', async () => {
    const exec = replayExec(
      [
        (a) => (is(a, 'apt-cache', 'policy') && a.length > 2 ? apt('policy-unknown') : undefined),
        (a) => (is(a, 'apt-cache', 'policy') && a.length === 2 ? apt('policy-sources') : undefined),
        (a) => (is(a, 'dpkg-query', '-W') ? apt('dpkg-query-not-installed') : undefined),
      ],
      true,
    );
    const target = debian12Target({ kernel: parseDebKernelRelease('6.8.0-45-generic'), os: debOsInfo('ubuntu', '24.04') });
    const { ctx, lines } = testContext(exec, { dryRun: true });
    const r = await installDeb(ctx, target, installOptions({ kernel: '6.8.0-45-generic' }));
    expect(r).toMatchObject({
      changed: true,
      msg: "would add the ddebs source, refresh apt's lists and install linux-image-unsigned-6.8.0-45-generic-dbgsym, linux-headers-6.8.0-45-generic for 6.8.0-45-generic",
    });
    expect(lines).toContain("would add Ubuntu's debug symbol archive: /etc/apt/sources.list.d/kdebuginfo-ddebs.list (keyring ubuntu-dbgsym-keyring)");
    // The keyring install and apt-get update were asked for, and skipped as mutating.
    expect(exec.calls.filter((c) => c.includes('update') || c.includes('ubuntu-dbgsym-keyring')).map((c) => c.filter((x) => !x.startsWith('-') && !x.startsWith('DPkg') && !x.startsWith('Dpkg')).join(' '))).toEqual([
      'dpkg-query ${Package}\\t${Version}\\t${db:Status-Status}\\n ubuntu-dbgsym-keyring',
      'apt-get install ubuntu-dbgsym-keyring',
      'apt-get update',
    ]);
  });
});

// What verifyDeb ran before verification was one for every family (pass 2 resolving the fork
// path and nanosleep, the runtime-too-old message, the headers package for a missing tree) is
// asserted against runVerify and explainDiagnosis in test/commands/verify-deb.test.ts.
describe('downloadDeb --dry-run (replayed): the two packages and the headers\' same-build dependencies', () => {
  it('lists what apt-get download would fetch, fetches nothing', async () => {
    const exec = replayExec(
      [
        (a) =>
          is(a, 'apt-get', 'download', '--print-uris') && a.length === 6
            ? { ...apt('download-print-uris'), stdout: apt('install-print-uris').stdout, standIn: 'the three dependencies\' URIs from the install --print-uris capture' }
            : undefined,
        ...debian12Answers({ installed: false }),
      ],
      true,
    );
    const dir = mkdtempSync(join(tmpdir(), 'kdebuginfo-debdl-'));
    try {
      const { ctx, lines } = testContext(exec, { dryRun: true });
      const r = await downloadDeb(ctx, debian12Target(), dir);
      expect(r.dryRun).toBe(true);
      expect(r.fetchedBytes).toBe(0);
      expect(r.packages.map((p) => [p.role, p.name, p.arch, p.status])).toEqual([
        ['debuginfo', `linux-image-${R}-dbg`, 'amd64', 'would-download'],
        ['devel', `linux-headers-${R}`, 'amd64', 'would-download'],
        ['devel', 'linux-headers-6.1.0-56-common', 'all', 'would-download'],
        ['devel', 'linux-kbuild-6.1', 'amd64', 'would-download'],
        ['devel', 'linux-compiler-gcc-12-x86', 'amd64', 'would-download'],
      ]);
      expect(lines.filter((l) => l.startsWith('would download'))).toHaveLength(5);
      expect(exec.calls.filter((c) => is(c, 'apt-get', 'download') && !c.includes('--print-uris'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('download on Debian: the engine checks each .deb against the checksum in apt\'s signed lists', () => {
  it('a file whose sha256 is not apt\'s is refused, naming the file and both sums; nothing is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdebuginfo-debdl-'));
    const files = parsePrintUris(apt('install-print-uris').stdout).map((u) => ({ file: u.file, bytes: `STAND-IN ${u.file}` }));
    const dbg = `linux-image-${R}-dbg_${V}_amd64.deb`;
    const pool = await servePool([
      { file: dbg, bytes: 'the -dbg apt describes', served: 'the -dbg NOT described' },
      { file: `linux-headers-${R}_${V}_amd64.deb`, bytes: 'STAND-IN headers' },
      ...files.filter((f) => !f.file.startsWith(`linux-image-${R}-dbg_`) && !f.file.startsWith(`linux-headers-${R}_`)),
    ]);
    try {
      const exec = replayExec(
        [(a) => (is(a, 'apt-get', 'download', '--print-uris') ? { ...apt('download-print-uris'), stdout: pool.printUris, standIn: 'URIs rewritten to the local pool' } : undefined), ...debian12Answers({ installed: false })],
        false,
      );
      const err = await downloadDeb(testContext(exec).ctx, debian12Target(), dir).then(noRejection, asError);
      const wrong = createHash('sha256').update('the -dbg NOT described').digest('hex');
      const want = createHash('sha256').update('the -dbg apt describes').digest('hex');
      expect(err.message).toContain(dbg);
      expect(err.message).toContain(wrong);
      expect(err.message).toContain(want);
      expect(readdirSync(dir).filter((f) => f === dbg)).toEqual([]);
      // No apt-get download: the engine fetched every file itself.
      expect(exec.calls.filter((c) => is(c, 'apt-get', 'download') && !c.includes('--print-uris'))).toEqual([]);
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('download on Ubuntu: the archive gives SHA512 (real print-uris line form), and that is what files are checked against', () => {
  const UR = '6.8.0-151-generic';
  const UV = '6.8.0-151.151';
  const DBGSYM = `linux-image-unsigned-${UR}-dbgsym`;
  const dbgsymFile = `${DBGSYM}_${UV}_amd64.ddeb`;
  const headersFile = `linux-headers-${UR}_${UV}_amd64.deb`;
  const sha512 = (t: string) => createHash('sha512').update(t).digest('hex');
  // STAND-IN: the ddebs archive is not reachable from here, so its policy block is written in the
  // form of the real ones around it (the headers' policy is the real capture).
  const dbgsymPolicy = `${DBGSYM}:\n  Installed: (none)\n  Candidate: ${UV}\n  Version table:\n     ${UV} 500\n        500 http://ddebs.ubuntu.com noble-updates/main amd64 Packages\n`;
  const ddebsSource = ' 500 http://ddebs.ubuntu.com noble-updates/main amd64 Packages\n     release v=24.04,o=Ubuntu,a=noble-updates,n=noble,l=Ubuntu,c=main,b=amd64\n     origin ddebs.ubuntu.com\n';

  async function run(dir: string, pool: Awaited<ReturnType<typeof servePool>>) {
    const exec = replayExec(
      [
        (a) => (is(a, 'apt-cache', 'policy') && a.length > 2 ? { ...apt('ubuntu-policy-kernel'), stdout: dbgsymPolicy + apt('ubuntu-policy-kernel').stdout } : undefined),
        (a) => (is(a, 'apt-get', 'download', '--print-uris') ? { ...apt('ubuntu-download-print-uris'), stdout: pool.printUris, standIn: 'URIs rewritten to the local pool' } : undefined),
        (a) =>
          is(a, 'apt-cache', 'policy') && a.length === 2
            ? { ...apt('ubuntu-policy-sources'), stdout: apt('ubuntu-policy-sources').stdout.replace('Package files:\n', `Package files:\n${ddebsSource}`) }
            : undefined,
        (a) => (is(a, 'dpkg-query', '-W') ? { exitCode: 1, stdout: '', stderr: '', standIn: 'nothing installed' } : undefined),
        (a) => (is(a, 'apt-cache', 'show') ? { exitCode: 0, stdout: `Package: linux-headers-${UR}\nVersion: ${UV}\n`, stderr: '', standIn: 'headers stanza without Depends' } : undefined),
      ],
      false,
    );
    const target: DebTarget = { kernel: parseDebKernelRelease(UR, 'ubuntu'), os: debOsInfo('ubuntu', '24.04'), arch: 'amd64', aptIsTarget: true, isRunning: false, running: undefined, notes: [] };
    const err = await downloadDeb(testContext(exec).ctx, target, dir).then(noRejection, asError);
    return { exec, err };
  }

  it('a fetched file whose sha512 is not apt\'s is refused naming sha512; a file already there whose sha512 matches is not fetched again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdebuginfo-debdl-'));
    const pool = await servePool([
      { file: dbgsymFile, bytes: 'STAND-IN dbgsym bytes', hash: 'SHA512' },
      { file: headersFile, bytes: 'the headers apt describes', served: 'the headers NOT described', hash: 'SHA512' },
    ]);
    try {
      const first = await run(dir, pool);
      expect(first.err.message).toContain(headersFile);
      expect(first.err.message).toContain(sha512('the headers NOT described'));
      expect(first.err.message).toContain(sha512('the headers apt describes'));
      expect(pool.requests.sort()).toEqual([`/pool/${headersFile}`, `/pool/${dbgsymFile}`].sort());
      // The .ddeb stayed in the cache (its sha512 is apt's): the next run fetches only the headers.
      expect(readFileSync(join(dir, dbgsymFile), 'utf8')).toBe('STAND-IN dbgsym bytes');
      pool.requests.length = 0;
      await run(dir, pool);
      expect(pool.requests).toEqual([`/pool/${headersFile}`]);
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Choosing the target from flags and a host (image roots in temp dirs; the real running kernel)
// ---------------------------------------------------------------------------------------------

describe('debTargetFor', () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  const fixtureOsRelease = (name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/os-release/${name}`, import.meta.url)), 'utf8');
  function root(osRelease: string | undefined, kernels: string[] = []): string {
    const dir = mkdtempSync(join(tmpdir(), 'kdebuginfo-debroot-'));
    roots.push(dir);
    if (osRelease !== undefined) {
      mkdirSync(join(dir, 'etc'), { recursive: true });
      writeFileSync(join(dir, 'etc/os-release'), osRelease);
    }
    for (const k of kernels) mkdirSync(join(dir, 'lib/modules', k), { recursive: true });
    return dir;
  }
  const ctx = () => testContext(createExec({ env: { PATH: process.env.PATH }, dryRun: false })).ctx;

  it('a Debian 12 image root: the kernel given, Debian 12, not this host\'s apt', async () => {
    const t = await debTargetFor(ctx(), { kernel: R, os: undefined, root: root(fixtureOsRelease('debian-12')) });
    expect(t).toMatchObject({ kernel: { uname: R, family: 'debian' }, os: { id: 'debian', version: '12' }, arch: 'amd64', aptIsTarget: false, isRunning: false, notes: [] });
  });

  it('on a Debian host, an RPM-shaped --kernel (arch forgotten, a package name) is left to the RPM parser, whose error names what is wrong', async () => {
    const debianRoot = root(fixtureOsRelease('debian-12'));
    for (const kernel of ['4.18.0-348.7.1.el8_5', 'kernel-4.18.0-348.7.1.el8_5.x86_64', '3.19.0-0.80.aa7a.aarch64']) {
      expect(await debTargetFor(ctx(), { kernel, os: undefined, root: debianRoot }), kernel).toBeUndefined();
    }
  });

  it('the one kernel in an image root, or the newest with newest-installed', async () => {
    expect((await debTargetFor(ctx(), { kernel: undefined, os: undefined, root: root(fixtureOsRelease('debian-12'), [R]) }))?.kernel.uname).toBe(R);
    const two = root(fixtureOsRelease('debian-12'), ['6.1.0-47-cloud-amd64', R, 'not-a-kernel']);
    expect((await debTargetFor(ctx(), { kernel: 'newest-installed', os: undefined, root: two }))?.kernel.uname).toBe(R);
    const err = await debTargetFor(ctx(), { kernel: undefined, os: undefined, root: two }).then(noRejection, asError);
    expect(err.message).toBe(`several kernels in ${two}/lib/modules (6.1.0-47-cloud-amd64, ${R}): say which with --kernel R or --kernel newest-installed`);
  });

  it('an RPM target is not ours: --os of an RPM distro, or an RPM kernel on a Debian host', async () => {
    expect(await debTargetFor(ctx(), { kernel: R, os: 'centos-stream:9', root: root(fixtureOsRelease('debian-12')) })).toBeUndefined();
    expect(await debTargetFor(ctx(), { kernel: '5.14.0-362.el9.x86_64', os: undefined, root: root(fixtureOsRelease('debian-12')) })).toBeUndefined();
    expect(await debTargetFor(ctx(), { kernel: '5.14.0-362.el9.x86_64', os: undefined, root: root(fixtureOsRelease('fedora-39')) })).toBeUndefined();
  });

  it('a Debian kernel planned from a Fedora control host: the release inferred, and said', async () => {
    const t = await debTargetFor(ctx(), { kernel: '6.12.38+deb13-amd64', os: undefined, root: root(fixtureOsRelease('fedora-39')) });
    expect(t).toMatchObject({ os: { id: 'debian', version: '13', codename: 'trixie' }, aptIsTarget: false });
    expect(t?.notes).toEqual(['inferred Debian 13 from the deb13 in 6.12.38+deb13-amd64; pass --os to choose another']);
  });

  it('--os ubuntu:24.04 with an Ubuntu kernel: the arch is this machine\'s (an Ubuntu flavour does not say), and said', async () => {
    const t = await debTargetFor(ctx(), { kernel: '6.8.0-45-generic', os: 'ubuntu:24.04', root: root(fixtureOsRelease('debian-12')) });
    expect(t).toMatchObject({ kernel: { family: 'ubuntu' }, os: { id: 'ubuntu', version: '24.04', codename: 'noble' }, aptIsTarget: false });
    expect(t?.notes).toEqual([`assumed architecture ${t?.arch} (this machine's) for 6.8.0-45-generic`]);
  });

  it('--os debian:12 with a kernel that is not Debian\'s: exit 2 naming it', async () => {
    const err = await debTargetFor(ctx(), { kernel: '6.8.0-45-generic', os: 'debian:12', root: root(undefined) }).then(noRejection, asError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^kernel release "6\.8\.0-45-generic" does not end in a Debian flavour/);
  });

  const hostIsDebian12 = /^ID=debian$/m.test(readFileSync('/etc/os-release', 'utf8')) && /^VERSION_ID="12"$/m.test(readFileSync('/etc/os-release', 'utf8'));
  const runningIsDebian = (() => {
    const r = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
    return /-(amd64|arm64|cloud-amd64)$/.test(r);
  })();
  it.skipIf(!hostIsDebian12 || runningIsDebian)('this machine: Debian 12 running a kernel that is not Debian\'s: exit 2 asking for --kernel', async () => {
    const running = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
    const err = await debTargetFor(ctx(), { kernel: undefined, os: undefined, root: undefined }).then(noRejection, asError);
    expect([err.exitCode, err.message, err.hint]).toEqual([
      2,
      `the running kernel ${running} is not a Debian 12 kernel release kdebuginfo knows (e.g. 6.1.0-56-cloud-amd64)`,
      'name the kernel to prepare with --kernel R (apt-cache search linux-headers lists the releases apt offers)',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// This machine's real apt (read-only: lists, no download)
// ---------------------------------------------------------------------------------------------

const realApt = hasTool('apt-cache') && /^ID=debian$/m.test(readFileSync('/etc/os-release', 'utf8'));
describe.skipIf(!realApt)('against this machine\'s real apt (read-only)', () => {
  it('plans the archive\'s current cloud kernel: names, pinned version, pool URLs on a Debian mirror', async () => {
    const deps = spawnSync('apt-cache', ['depends', 'linux-image-cloud-amd64'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).stdout;
    const release = /Depends: linux-image-(\d\S*-cloud-amd64)$/m.exec(deps)?.[1];
    expect(release, deps).toBeDefined();
    const { ctx } = testContext(createExec({ env: { PATH: process.env.PATH }, dryRun: false }));
    const target = await debTargetFor(ctx, { kernel: release, os: undefined, root: undefined });
    expect(target).toMatchObject({ os: { id: 'debian', version: '12' }, aptIsTarget: true, arch: 'amd64' });
    const plan = await planDeb(ctx, target as DebTarget);
    expect(plan.packages.map((p) => [p.role, p.name])).toEqual([
      ['debuginfo', `linux-image-${release}-dbg`],
      ['devel', `linux-headers-${release}`],
    ]);
    expect(plan.packages[0]?.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(plan.packages[0]?.version).toBe(plan.packages[1]?.version);
    for (const p of plan.packages) expect(p.candidates[0]).toMatch(new RegExp(`^https?://\\S+/pool/\\S+/${p.file.replace(/[.+]/g, '\\$&')}$`));
  });
});
