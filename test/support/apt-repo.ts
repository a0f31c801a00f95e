import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildDeb } from './deb-root.js';
import { startMirrorServer, type MirrorServer } from '../../fixtures/mirror-server.mjs';

/**
 * A small but real signed apt repository for a made-up Debian 12 kernel, and private apt and dpkg
 * state to use it with, so the real apt-get, apt-cache and dpkg-query run against it and never
 * against (or change) the host's own sources and package database.
 *
 *   - The .debs are built with `dpkg-deb --build`: `linux-image-<R>-dbg` (a stand-in vmlinux in
 *     /usr/lib/debug/boot/ and the lib/modules link to it, as Debian lays it out:
 *     fixtures/captured/apt/dpkg-listfiles-vmlinux.txt), `linux-headers-<R>` (utsrelease.h naming
 *     <R>, the /lib/modules/<R>/build link) with the Depends real Debian 12 gives it
 *     (fixtures/captured/apt/show-headers.txt), and the three packages those name.
 *   - A flat repository: Packages from `dpkg-scanpackages`, a Release with its sha256, clearsigned
 *     into InRelease by a throw-away ed25519 key made here; apt gets the key with `signed-by=`.
 *   - Served over HTTP by fixtures/mirror-server.mjs, whose request log shows what apt fetched.
 *
 * Needs dpkg-deb (dpkg), dpkg-scanpackages (dpkg-dev), gpg and gpgconf (gnupg), apt-get.
 */

export interface FixtureDeb {
  name: string;
  /** Full Debian version (`6.1.500-1`). */
  version: string;
  arch: string;
  /** `name_version_arch.deb`, as in the pool. */
  file: string;
  /** Where it is in the served directory. */
  path: string;
  size: number;
  sha256: string;
}

export interface AptRepo {
  server: MirrorServer;
  /** The packages in the repository, in build order: -dbg, headers, then the headers' three dependencies. */
  debs: FixtureDeb[];
  /** The `deb [signed-by=...] URL ./` line for a sources.list. */
  sourceLine: string;
  close(): Promise<void>;
}

export interface AptEnv {
  /** APT_CONFIG (private sources, lists, cache, status) and DPKG_ADMINDIR (a private, empty dpkg database). */
  env: { APT_CONFIG: string; DPKG_ADMINDIR: string };
  /** The private dpkg database directory (DPKG_ADMINDIR). */
  dpkgDir: string;
}

/** Run a tool; throw with its stderr when it fails. */
export function run(argv: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}): string {
  const r = spawnSync(argv[0] as string, argv.slice(1), {
    cwd: opts.cwd,
    encoding: 'utf8',
    input: opts.input,
    env: { PATH: process.env.PATH, LC_ALL: 'C', ...opts.env },
  });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return r.stdout;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

interface DebSpec {
  name: string;
  arch: string;
  depends?: string;
  /** Path inside the package -> file content, or { link } for a symlink. */
  files: Record<string, string | { link: string }>;
}

/** The packages for kernel `release` (`6.1.0-99-cloud-amd64`) at `version`, named as Debian 12 names them. */
function kernelDebSpecs(release: string, version: string): DebSpec[] {
  const m = /^((\d+\.\d+)\.\d+-\d+)-/.exec(release);
  if (!m) throw new Error(`not a Debian kernel release: ${release}`);
  const [, abi, series] = m as unknown as [string, string, string];
  return [
    {
      name: `linux-image-${release}-dbg`,
      arch: 'amd64',
      files: {
        [`usr/lib/debug/boot/vmlinux-${release}`]: `not a real vmlinux: kdebuginfo test fixture for ${release}\n`,
        [`usr/lib/debug/lib/modules/${release}/vmlinux`]: { link: `../../../boot/vmlinux-${release}` },
      },
    },
    {
      name: `linux-headers-${release}`,
      arch: 'amd64',
      depends: `linux-headers-${abi}-common (= ${version}), linux-kbuild-${series} (>= ${version}), linux-compiler-gcc-12-x86`,
      files: {
        [`usr/src/linux-headers-${release}/include/generated/utsrelease.h`]: `#define UTS_RELEASE "${release}"\n`,
        [`lib/modules/${release}/build`]: { link: `/usr/src/linux-headers-${release}` },
      },
    },
    { name: `linux-headers-${abi}-common`, arch: 'all', files: { [`usr/src/linux-headers-${abi}-common/Makefile`]: '# kdebuginfo test fixture\n' } },
    { name: `linux-kbuild-${series}`, arch: 'amd64', files: { [`usr/lib/linux-kbuild-${series}/README`]: 'kdebuginfo test fixture\n' } },
    { name: 'linux-compiler-gcc-12-x86', arch: 'amd64', files: { 'usr/share/doc/linux-compiler-gcc-12-x86/README': 'kdebuginfo test fixture\n' } },
  ];
}

/** One fixture .deb, built by test/support/deb-root.ts's buildDeb (dpkg-deb), with its size and sha256. */
function buildRepoDeb(spec: DebSpec, version: string, out: string): FixtureDeb {
  const files = Object.fromEntries(Object.entries(spec.files).map(([path, c]) => [`/${path}`, typeof c === 'string' ? c : { symlink: c.link }]));
  const path = buildDeb(out, { name: spec.name, version, arch: spec.arch, source: 'linux', files, ...(spec.depends ? { depends: spec.depends } : {}) });
  return { name: spec.name, version, arch: spec.arch, file: basename(path), path, size: statSync(path).size, sha256: sha256(path) };
}

/** Build, sign and serve the repository for kernel `release` at `version`, under `work`. */
export async function startAptRepo(opts: { release: string; version: string; work: string }): Promise<AptRepo> {
  const repo = join(opts.work, 'repo');
  mkdirSync(repo, { recursive: true });
  const debs = kernelDebSpecs(opts.release, opts.version).map((s) => buildRepoDeb(s, opts.version, repo));

  // `--multiversion`: keep every version; /dev/null: no override file (it only warns).
  writeFileSync(join(repo, 'Packages'), run(['dpkg-scanpackages', '--multiversion', '.', '/dev/null'], { cwd: repo }));
  const release = [
    'Origin: kdebuginfo-test',
    'Label: kdebuginfo-test',
    `Date: ${new Date().toUTCString().replace(/GMT$/, '+0000')}`,
    'SHA256:',
    ` ${sha256(join(repo, 'Packages'))} ${statSync(join(repo, 'Packages')).size} Packages`,
  ];
  writeFileSync(join(repo, 'Release'), `${release.join('\n')}\n`);

  // A throw-away signing key, its own GNUPGHOME (short path: gpg-agent's socket lives there).
  const gnupg = mkdtempSync(join(tmpdir(), 'kdbg-gpg-'));
  try {
    const gpg = ['gpg', '--batch', '--quiet', '--homedir', gnupg, '--pinentry-mode', 'loopback', '--passphrase', ''];
    run([...gpg, '--quick-gen-key', 'kdebuginfo apt test key <apt-test@kdebuginfo.invalid>', 'ed25519', 'sign', 'never']);
    run([...gpg, '--clearsign', '--output', join(repo, 'InRelease'), join(repo, 'Release')]);
    writeFileSync(join(opts.work, 'repo-key.gpg'), spawnSync('gpg', ['--batch', '--homedir', gnupg, '--export']).stdout);
  } finally {
    spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'gpg-agent']);
    rmSync(gnupg, { recursive: true, force: true });
  }

  const server = await startMirrorServer({ root: repo });
  return {
    server,
    debs,
    sourceLine: `deb [signed-by=${join(opts.work, 'repo-key.gpg')}] ${server.url}/ ./`,
    close: () => server.close(),
  };
}

/**
 * Private apt and dpkg state in a new directory under `work`: apt reads only this config (no
 * /etc/apt/apt.conf.d, sources, keys or preferences of the host), keeps its lists, cache and
 * dpkg status here, and dpkg-query reads the same empty database (DPKG_ADMINDIR). With
 * `sourceLine` the lists are fetched (real `apt-get update`); without, this is an air-gapped
 * host that knows no package at all.
 */
export async function makeAptEnv(work: string, sourceLine?: string): Promise<AptEnv> {
  const dir = mkdtempSync(join(work, 'apt-'));
  const d = (p: string) => join(dir, p);
  for (const p of ['etc/apt.conf.d', 'etc/sources.list.d', 'etc/preferences.d', 'etc/trusted.gpg.d', 'state/lists/partial', 'cache/archives/partial', 'log', 'dpkg/updates', 'dpkg/info']) {
    mkdirSync(d(p), { recursive: true });
  }
  writeFileSync(d('dpkg/status'), '');
  writeFileSync(d('etc/sources.list'), sourceLine ? `${sourceLine}\n` : '');
  const config = [
    'Dir::Etc::main "/dev/null";',
    `Dir::Etc::parts "${d('etc/apt.conf.d')}";`,
    `Dir::Etc::sourcelist "${d('etc/sources.list')}";`,
    `Dir::Etc::sourceparts "${d('etc/sources.list.d')}";`,
    `Dir::Etc::trusted "${d('etc/trusted.gpg')}";`,
    `Dir::Etc::trustedparts "${d('etc/trusted.gpg.d')}";`,
    `Dir::Etc::preferences "${d('etc/preferences')}";`,
    `Dir::Etc::preferencesparts "${d('etc/preferences.d')}";`,
    `Dir::State "${d('state')}";`,
    `Dir::State::status "${d('dpkg/status')}";`,
    `Dir::Cache "${d('cache')}";`,
    `Dir::Log "${d('log')}";`,
    'Acquire::Languages "none";',
    // The private dirs are not the _apt user's to write: fetch as whoever runs the test.
    'APT::Sandbox::User "root";',
  ];
  writeFileSync(d('apt.conf'), `${config.join('\n')}\n`);
  const env = { APT_CONFIG: d('apt.conf'), DPKG_ADMINDIR: d('dpkg') };
  if (sourceLine) {
    // Not spawnSync: the repository's server runs in this process and must answer meanwhile.
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile('apt-get', ['update'], { encoding: 'utf8', env: { PATH: process.env.PATH, LC_ALL: 'C', ...env }, timeout: 30_000 }, (e, out, err) =>
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, out, err }),
      );
    });
    // apt-get update exits 0 with a `W:` for a source it could not read: either is a failure here.
    if (r.code !== 0 || /^(W|E): /m.test(r.err)) throw new Error(`apt-get update exited ${r.code}:\n${r.out}\n${r.err}`);
  }
  return { env, dpkgDir: d('dpkg') };
}

/** Record a package as installed in a private dpkg database (as if a real install had put it there). */
export function markInstalled(dpkgDir: string, p: { name: string; version: string; arch: string }): void {
  appendFileSync(
    join(dpkgDir, 'status'),
    `Package: ${p.name}\nStatus: install ok installed\nVersion: ${p.version}\nArchitecture: ${p.arch}\nMaintainer: kdebuginfo tests <tests@kdebuginfo.invalid>\nDescription: recorded by a kdebuginfo test\n\n`,
  );
}

export interface AptGetStandIn {
  /** Put first on PATH. */
  binDir: string;
  /** The argv of each `apt-get install` the stand-in took, oldest first. */
  calls(): string[][];
}

/**
 * A STAND-IN for `apt-get install` only, written into `work`: this machine is the CI host, and a
 * test must not install kernel packages into it. Every other apt-get call (update, download,
 * `install -s`, `install --print-uris`) goes to the real apt-get. For an install it records its
 * argv and marks each .deb argument installed in the private dpkg database ($DPKG_ADMINDIR),
 * which is what dpkg-query then reads; nothing is unpacked anywhere.
 */
export function writeAptGetStandIn(work: string): AptGetStandIn {
  const binDir = mkdtempSync(join(work, 'bin-standin-apt-get-'));
  const log = join(binDir, 'calls.jsonl');
  const realAptGet = run(['sh', '-c', 'command -v apt-get']).trim();
  const script = `#!${process.execPath}
// STAND-IN for \`apt-get install\` (test/support/apt-repo.ts). This is NOT apt: it installs nothing.
const { spawnSync } = require('node:child_process');
const { appendFileSync } = require('node:fs');
const args = process.argv.slice(2);
const isInstall = args.includes('install') && !args.some((a) => a === '-s' || a === '--simulate' || a === '--print-uris');
if (!isInstall) {
  const r = spawnSync(${JSON.stringify(realAptGet)}, args, { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const admindir = process.env.DPKG_ADMINDIR;
if (!admindir) { console.error('STAND-IN apt-get: refusing to run without DPKG_ADMINDIR (a private dpkg database)'); process.exit(100); }
appendFileSync(${JSON.stringify(log)}, JSON.stringify(args) + '\\n');
for (const a of args.filter((x) => /\\.d?deb$/.test(x))) {
  const r = spawnSync('dpkg-deb', ['-f', a, 'Package', 'Version', 'Architecture', 'Maintainer', 'Description'], { encoding: 'utf8' });
  if (r.status !== 0) { console.error(r.stderr); process.exit(100); }
  appendFileSync(admindir + '/status', r.stdout.trimEnd() + '\\nStatus: install ok installed\\n\\n');
}
console.log('STAND-IN apt-get: recorded the install; nothing was installed on this host');
`;
  writeFileSync(join(binDir, 'apt-get'), script);
  chmodSync(join(binDir, 'apt-get'), 0o755);
  return {
    binDir,
    calls: () => {
      try {
        return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
      } catch {
        return [];
      }
    },
  };
}
