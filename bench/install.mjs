#!/usr/bin/env node
// bench/install: the same three packages (kernel-debuginfo, -common and -devel of
// 5.14.0-362.el9.x86_64, from the fixture mirror's two CentOS Stream 9 trees on a loopback HTTP
// server) into fresh image roots, via `kdebuginfo install` and via `dnf install` from the same
// repos, in the same run, rounds interleaved so machine load hits both alike. Both check the
// signatures against the fixture test key (dnf with gpgcheck=1 and the key as gpgkey=).
//
//   cold: nothing cached: repodata, download, verify, signatures, install
//   warm: packages (and dnf's metadata) already in the cache: what a re-provisioned image pays
//   install step: only the `dnf install --disablerepo=* <local files>` kdebuginfo runs, the floor
//                 under its warm time (the rest is node start-up, resolve, cache and key checks)
//   --package-manager rpm: the same with `rpm -U --root` as the install step, cold and warm
//
// Needs root (dnf --installroot refuses otherwise). Prints medians, and kdebuginfo/dnf ratios
// (below 1.00: kdebuginfo is faster). Target: not slower than dnf.
//
//   npm run build && node bench/install.mjs [ROUNDS]     (default 5)
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMirrorServer } from '../fixtures/mirror-server.mjs';
import { allSourceHosts } from '../dist/core/sources.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const KERNEL = '5.14.0-362.el9.x86_64';
const NVRAS = [`kernel-debuginfo-${KERNEL}`, `kernel-debuginfo-common-x86_64-${KERNEL}`, `kernel-devel-${KERNEL}`];
const top = fileURLToPath(new URL('..', import.meta.url));
const KEY = join(top, 'fixtures/keys/RPM-GPG-KEY-kdebuginfo-test');

if (process.getuid?.() !== 0) {
  console.error('bench/install: needs root (dnf --installroot refuses to run otherwise)');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'kdebuginfo-bench-install-'));
const server = await startMirrorServer({ root: join(top, 'fixtures/mirror') });
const mirrorEnv = allSourceHosts()
  .map((h) => `https://${h}=${server.url}/${h}`)
  .join(',');
// The caller's whole environment, as from a shell. Not a bare {PATH, HOME}: on this Debian box
// rpm's %_dbpath runs `bash -c`, and bash with no SHLVL and a socket on stdin (what node's exec
// gives its children) takes itself for an ssh session and sources ~/.bashrc on every rpm call
// (seen here: +0.5 s per call with pyenv in ~/.bashrc), which would bill kdebuginfo for a quirk
// of the bench machine.
const env = { ...process.env, LC_ALL: 'C' };
const STREAM9 = `${server.url}/mirror.stream.centos.org/9-stream`;

let roots = 0;
/** A fresh image root, as scripts/demo.mjs makes one: os-release, the trusted key, one kernel. */
function freshRoot() {
  const root = join(work, `root-${++roots}`);
  mkdirSync(join(root, 'etc/pki/rpm-gpg'), { recursive: true });
  mkdirSync(join(root, 'lib/modules', KERNEL), { recursive: true });
  copyFileSync(join(top, 'fixtures/os-release/centos-stream-9'), join(root, 'etc/os-release'));
  copyFileSync(KEY, join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-kdebuginfo-test'));
  return root;
}

/** Wall seconds of one command (asynchronous: the server lives in this process). */
function timed(argv, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited ${code}:\n${out}`));
      else resolve(seconds);
    });
  });
}

/** The proof each run really installed the three packages. */
function assertInstalled(root) {
  const qa = execFileSync('rpm', ['--root', root, '-qa'], { encoding: 'utf8', env }).split('\n');
  for (const n of NVRAS) if (!qa.includes(n)) throw new Error(`${n} is not installed in ${root}:\n${qa.join('\n')}`);
}

const kdebuginfo = (root, cache, ...more) => [
  process.execPath, join(top, 'bin/kdebuginfo.js'), 'install',
  '--root', root, '--cache-dir', cache, '--kernel', KERNEL, '--yes', ...more,
];

const dnf = (root, cache) => [
  'dnf', '-y', '-q', `--installroot=${root}`, '--releasever=9',
  '--setopt=reposdir=/nonexistent', `--setopt=cachedir=${cache}`, '--setopt=keepcache=1',
  `--repofrompath=s9-debug,${STREAM9}/BaseOS/x86_64/debug/tree/`,
  `--repofrompath=s9-appstream,${STREAM9}/AppStream/x86_64/os/`,
  '--repo=s9-debug', '--repo=s9-appstream',
  '--setopt=*.gpgcheck=1', `--setopt=*.gpgkey=file://${KEY}`,
  'install', ...NVRAS,
];

/** What kdebuginfo runs to install its downloaded files (src/io/package-manager.ts). */
const installStep = (root, cache) => [
  'dnf', '-y', 'install', `--installroot=${root}`, '--releasever=9', '--disablerepo=*',
  ...readdirSync(cache).filter((f) => f.endsWith('.rpm')).map((f) => join(cache, f)),
];

const loadBefore = loadavg()[0];
const runs = { oursCold: [], dnfCold: [], oursWarm: [], dnfWarm: [], step: [], oursRpmCold: [], oursRpmWarm: [], startup: [] };
const warmCache = join(work, 'kdebuginfo-cache-warm');
const dnfWarmCache = join(work, 'dnf-cache-warm');
try {
  // Fill the warm caches once (not counted).
  let root = freshRoot();
  await timed(kdebuginfo(root, warmCache), { KDEBUGINFO_MIRROR: mirrorEnv });
  assertInstalled(root);
  root = freshRoot();
  await timed(dnf(root, dnfWarmCache));
  assertInstalled(root);

  for (let i = 0; i < ROUNDS; i++) {
    const cases = [
      ['oursCold', (r) => kdebuginfo(r, join(work, `kdebuginfo-cache-cold-${i}`)), { KDEBUGINFO_MIRROR: mirrorEnv }],
      ['dnfCold', (r) => dnf(r, join(work, `dnf-cache-cold-${i}`)), {}],
      ['oursWarm', (r) => kdebuginfo(r, warmCache), { KDEBUGINFO_MIRROR: mirrorEnv }],
      ['dnfWarm', (r) => dnf(r, dnfWarmCache), {}],
      ['step', (r) => installStep(r, warmCache), {}],
      ['oursRpmCold', (r) => kdebuginfo(r, join(work, `kdebuginfo-cache-rpm-${i}`), '--package-manager', 'rpm'), { KDEBUGINFO_MIRROR: mirrorEnv }],
      ['oursRpmWarm', (r) => kdebuginfo(r, warmCache, '--package-manager', 'rpm'), { KDEBUGINFO_MIRROR: mirrorEnv }],
    ];
    // Alternate the order round by round, so neither side always runs on a warmer page cache.
    if (i % 2 === 1) cases.reverse();
    for (const [name, argv, extra] of cases) {
      root = freshRoot();
      runs[name].push(await timed(argv(root), extra));
      assertInstalled(root);
    }
    runs.startup.push(await timed([process.execPath, join(top, 'bin/kdebuginfo.js'), '--version']));
  }
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (xs) => `${median(xs).toFixed(2)} s  (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
const dnfVersion = execFileSync('dnf', ['--version'], { encoding: 'utf8' }).split('\n')[0];
const rpmVersion = execFileSync('rpm', ['--version'], { encoding: 'utf8' }).trim();
console.log(`bench/install: 3 packages of ${KERNEL} into fresh roots over loopback HTTP; median of ${ROUNDS} rounds (dnf ${dnfVersion}, ${rpmVersion}, node ${process.version})`);
// Both sides are short-lived processes (python, node): on a busy machine their times swing, so say how busy it was.
console.log(`  1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`);
console.log(`  cold cache   kdebuginfo install   ${fmt(runs.oursCold)}`);
console.log(`               dnf install          ${fmt(runs.dnfCold)}`);
console.log(`               ratio (ours/dnf)     ${(median(runs.oursCold) / median(runs.dnfCold)).toFixed(2)}`);
console.log(`  warm cache   kdebuginfo install   ${fmt(runs.oursWarm)}`);
console.log(`               dnf install          ${fmt(runs.dnfWarm)}`);
console.log(`               ratio (ours/dnf)     ${(median(runs.oursWarm) / median(runs.dnfWarm)).toFixed(2)}`);
console.log(`  install step alone (dnf install --disablerepo=* of the cached files)  ${fmt(runs.step)}`);
console.log(`  kdebuginfo's own share of a warm run (median warm - median step)   ${(median(runs.oursWarm) - median(runs.step)).toFixed(2)} s`);
console.log(`    of which node start-up (kdebuginfo --version)                     ${fmt(runs.startup)}`);
console.log(`  with --package-manager rpm (rpm -U --root instead of dnf for the install step):`);
console.log(`  cold cache   kdebuginfo install   ${fmt(runs.oursRpmCold)}   ratio to dnf cold ${(median(runs.oursRpmCold) / median(runs.dnfCold)).toFixed(2)}`);
console.log(`  warm cache   kdebuginfo install   ${fmt(runs.oursRpmWarm)}   ratio to dnf warm ${(median(runs.oursRpmWarm) / median(runs.dnfWarm)).toFixed(2)}`);
