/**
 * `kdebuginfo bundle` and `install --from-bundle` for a Debian 12 kernel, end to end with real
 * parts: .debs built by dpkg-deb in a signed flat apt repository (test/support/apt-repo.ts)
 * served by the fixture HTTP server, and the real apt-get update / apt-cache / apt-get download
 * against it under a private APT_CONFIG and dpkg database, so the host's apt sources and package
 * state are neither used nor touched. The kernel, 6.1.0-99-cloud-amd64 at 6.1.500-1, is made up.
 *
 * Nothing is installed into this machine: where apt-get install would run, a STAND-IN apt-get
 * (apt-repo.ts: writeAptGetStandIn) records its argv and marks the packages installed in the
 * private dpkg database; every other apt-get call is the real one.
 *
 * The Debian flow asks this host's apt only when the host is the target's release (Debian 12):
 * on any other host these tests cannot run and are skipped.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleManifest } from '../../src/io/bundle.js';
import { runBundle } from '../../src/commands/bundle.js';
import { runCli, type CliRun } from '../support/cli.js';
import { makeTestContext } from '../support/context.js';
import { makeAptEnv, markInstalled, startAptRepo, writeAptGetStandIn, type AptEnv, type AptRepo } from '../support/apt-repo.js';

const R = '6.1.0-99-cloud-amd64';
const V = '6.1.500-1';
const DIR = `kdebuginfo-${R}`;
const CREATED_BY = /^\d{4}-\d\d-\d\dT/;
const DEB_NAMES = [`linux-image-${R}-dbg`, `linux-headers-${R}`, 'linux-headers-6.1.0-99-common', 'linux-kbuild-6.1', 'linux-compiler-gcc-12-x86'];

const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
const isDebian12Host = /^ID=debian$/m.test(osRelease) && /^VERSION_ID="?12"?$/m.test(osRelease);

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let work: string;
let repo: AptRepo;
/** apt with the fixture repository as its only source (lists fetched) and an empty dpkg database. */
let online: AptEnv;
let cache: string;
let bundle: string;
let made: CliRun;
let debRequestsOfFirstRun: string[];
let extracted: string;

function sh(args: string[], cwd: string, env: Record<string, string>) {
  const r = spawnSync('sh', args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, LC_ALL: 'C', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the bundle with its manifest (and files) changed by `change`, tarred again as the bundle command does (manifest.json first). */
function repackBundle(change: (dir: string, manifest: BundleManifest) => void): string {
  const to = mkdtempSync(join(work, 'repack-'));
  spawnSync('cp', ['-r', join(extracted, DIR), to]);
  const manifestPath = join(to, DIR, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BundleManifest;
  change(join(to, DIR), manifest);
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  const out = join(to, 'k.tar.gz');
  const rest = readdirSync(join(to, DIR)).filter((f) => f !== 'manifest.json' && f !== 'install.sh');
  const members = ['manifest.json', 'install.sh', ...rest].map((f) => `${DIR}/${f}`);
  const tar = spawnSync('tar', ['czf', out, '-C', to, ...members], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar czf: ${tar.stderr}`);
  return out;
}

const debRequests = () => repo.server.requests.filter((q) => q.path.endsWith('.deb')).map((q) => `${q.method} ${q.path.replace(/^\/(\.\/)?/, '')} ${q.status}`);

describe.skipIf(!isDebian12Host)('bundle and install --from-bundle for a Debian 12 kernel (real apt, local signed repository)', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kdebuginfo-bundle-deb-'));
    repo = await startAptRepo({ release: R, version: V, work });
    online = await makeAptEnv(work, repo.sourceLine);
    cache = join(work, 'cache');
    bundle = join(work, 'out', 'k.tar.gz');
    repo.server.resetLog();
    made = await runCli(['bundle', '--kernel', R, '--os', 'debian:12', '-o', bundle, '--cache-dir', cache, '--json'], { env: online.env });
    debRequestsOfFirstRun = debRequests();
    extracted = join(work, 'extracted');
    mkdirSync(extracted);
    const untar = spawnSync('tar', ['xzf', bundle, '-C', extracted], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`tar xzf: ${untar.stderr}\n${made.stderr}`);
  });
  afterAll(async () => {
    await repo?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('bundle', () => {
    it('writes one kdebuginfo-<R>/ directory: the five .debs as served, manifest.json and install.sh', () => {
      expect(made.code, made.stderr).toBe(0);
      const listing = spawnSync('tar', ['tzf', bundle], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
      expect(listing).toEqual([`${DIR}/`, ...[...repo.debs.map((d) => d.file), 'install.sh', 'manifest.json'].map((f) => `${DIR}/${f}`)].sort());
      for (const d of repo.debs) expect(sha256(join(extracted, DIR, d.file)), d.file).toBe(d.sha256);
      expect(statSync(join(extracted, DIR, 'install.sh')).mode & 0o111).not.toBe(0);
      // Fetched with apt-get download from the repository: each .deb once.
      expect(debRequestsOfFirstRun.sort()).toEqual(repo.debs.map((d) => `GET ${d.file} 200`).sort());
    });

    it('reports kernel, os, output, size, sha256 and the manifest in its JSON, as the RPM bundle does', () => {
      const r = made.json();
      expect(r).toMatchObject({
        kernel: { uname: R, version: '6.1.0', release: '99', arch: 'amd64', flavor: 'cloud' },
        os: { id: 'debian', version: '12', name: 'Debian 12' },
        output: bundle,
        dryRun: false,
        directory: DIR,
        size: statSync(bundle).size,
        sha256: sha256(bundle),
      });
      expect(r.packages.map((p: { file: string }) => p.file)).toEqual(repo.debs.map((d) => d.file));
      expect(r.notes).toEqual([`version ${V}: apt's candidate (the kernel image is not installed here)`]);
      expect(r.manifest).toEqual(JSON.parse(readFileSync(join(extracted, DIR, 'manifest.json'), 'utf8')));
    });

    it('manifest.json: packaging deb (format 1), each package with version, size and sha256; the headers\' dependencies marked', () => {
      const m = JSON.parse(readFileSync(join(extracted, DIR, 'manifest.json'), 'utf8')) as BundleManifest;
      expect(m).toMatchObject({ format: 1, packaging: 'deb', installer: 'install.sh', tool: { name: 'kdebuginfo' }, kernel: { uname: R }, os: { id: 'debian', version: '12' } });
      expect(m.created).toMatch(CREATED_BY);
      expect(m.packages).toEqual(
        repo.debs.map((d, i) => ({
          role: i === 0 ? 'debuginfo' : 'devel',
          name: d.name,
          version: '6.1.500',
          release: '1',
          arch: d.arch,
          file: d.file,
          size: d.size,
          sha256: d.sha256,
          ...(i >= 2 ? { dependencyOf: `linux-headers-${R}` } : {}),
        })),
      );
    });

    it('a second bundle fetches nothing: the .debs wait in the cache, as RPMs do', async () => {
      expect(readdirSync(cache).filter((f) => f.endsWith('.deb')).sort()).toEqual(repo.debs.map((d) => d.file).sort());
      repo.server.resetLog();
      const again = await runCli(['bundle', '--kernel', R, '--os', 'debian:12', '-o', join(work, 'out', 'again.tar.gz'), '--cache-dir', cache, '--json'], { env: online.env });
      expect(again.code, again.stderr).toBe(0);
      expect(debRequests()).toEqual([]);
      expect(again.json().manifest.packages.map((p: { sha256: string }) => p.sha256)).toEqual(repo.debs.map((d) => d.sha256));
    });

    // In-process: the CLI's bundle command has no --dry-run flag (yet); the command honours ctx.dryRun.
    it('dry run lists what would go in and writes nothing: no bundle, no cache', async () => {
      const dryCache = join(work, 'dry-cache');
      const out = join(work, 'dry', 'k.tar.gz');
      repo.server.resetLog();
      const t = makeTestContext({ env: online.env, dryRun: true });
      const r = await runBundle(t.ctx, { kernel: R, os: 'debian:12', root: undefined, rewrites: [], userAgent: 'kdebuginfo-test', cacheDir: dryCache, output: out, toolVersion: '0.1.0' });
      expect(r).toMatchObject({ dryRun: true, output: out, size: null, sha256: null, manifest: null, kernel: { uname: R }, os: { id: 'debian' } });
      expect(r.packages).toEqual(
        repo.debs.map((d, i) => ({ role: i === 0 ? 'debuginfo' : 'devel', file: d.file, url: `${repo.server.url}/./${d.file}`, size: d.size })),
      );
      expect(t.stderr()).toContain(`would fetch 5 of 5 packages into ${dryCache} and write ${out}`);
      // Only the read-only apt queries ran: no apt-get download, no fetch by kdebuginfo.
      expect(t.commands.filter((c) => c.startsWith('$ apt-get download') && !c.includes('--print-uris'))).toEqual([]);
      expect(existsSync(out)).toBe(false);
      expect(existsSync(join(work, 'dry'))).toBe(false);
      expect(existsSync(dryCache)).toBe(false);
      expect(debRequests()).toEqual([]);
    });
  });

  describe('its install.sh (POSIX sh, no Node)', () => {
    /** A copy of the extracted bundle directory to run (or damage) on its own. */
    function copyOfBundle(): string {
      const to = mkdtempSync(join(work, 'copy-'));
      spawnSync('cp', ['-r', join(extracted, DIR), to]);
      return join(to, DIR);
    }

    it('--check-only: every checksum OK, apt\'s signed lists vouch for every file, names what it would install, changes nothing', async () => {
      const apt = await makeAptEnv(work, repo.sourceLine);
      const r = sh(['install.sh', '--check-only'], join(extracted, DIR), apt.env);
      expect(r.code, r.stderr).toBe(0);
      for (const d of repo.debs) expect(r.stdout).toContain(`${d.file}: OK`);
      expect(r.stderr).toContain(`install.sh: kdebuginfo 0.1.0 bundle for kernel ${R}\n`);
      expect(r.stderr).toContain(`install.sh: would install: ${repo.debs.map((d) => `./${d.file}`).join(' ')}\n`);
      expect(readFileSync(join(apt.dpkgDir, 'status'), 'utf8')).toBe('');
      expect(r.stderr).not.toContain('vouch');
    });

    it('a host whose apt does not list the packages: refused with exit 1, one line per file; --nogpgcheck goes on, saying so', async () => {
      const offline = await makeAptEnv(work);
      const r = sh(['install.sh', '--check-only'], join(extracted, DIR), offline.env);
      expect(r.code).toBe(1);
      for (const d of repo.debs) expect(r.stderr).toContain(`install.sh: ${d.file}: apt on this host does not list ${d.name}=${V}, so nothing vouches for it\n`);
      expect(r.stderr).toContain(
        "install.sh: refusing 5 file(s) apt's signed lists do not vouch for: refresh apt's lists (apt-get update) where this host reaches its mirror, or pass --nogpgcheck to install on the bundle's sums alone\n",
      );
      expect(r.stderr).not.toContain('would install');
      const forced = sh(['install.sh', '--check-only', '--nogpgcheck'], join(extracted, DIR), offline.env);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stderr).toContain("install.sh: --nogpgcheck: installing on the bundle's own sha256 sums; apt's lists do not vouch for 5 file(s)\n");
      expect(forced.stderr).toContain('install.sh: would install: ');
    });

    it('a .deb swapped for another with the sums rewritten to match: the sha256 check passes, apt\'s lists refuse it', async () => {
      const to = mkdtempSync(join(work, 'swap-'));
      spawnSync('cp', ['-r', join(extracted, DIR), to]);
      const dir = join(to, DIR);
      const [dbg, other] = [repo.debs[0]!, repo.debs[1]!];
      writeFileSync(join(dir, dbg.file), readFileSync(join(dir, other.file)));
      const script = readFileSync(join(dir, 'install.sh'), 'utf8');
      expect(script).toContain(`${dbg.sha256} ${dbg.file}`);
      writeFileSync(join(dir, 'install.sh'), script.replace(`${dbg.sha256} ${dbg.file}`, `${other.sha256} ${dbg.file}`));
      const r = sh(['install.sh', '--check-only'], dir, (await makeAptEnv(work, repo.sourceLine)).env);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`${dbg.file}: OK`);
      expect(r.stderr).toContain(`install.sh: ${dbg.file}: its sha256 ${other.sha256} is not the ${dbg.sha256} apt's signed lists give for ${dbg.name}=${V}\n`);
    });

    it('installs with apt-get install -y --no-install-recommends ./FILE.deb ... (STAND-IN apt-get); a second run installs nothing', async () => {
      const apt = await makeAptEnv(work, repo.sourceLine);
      const standIn = writeAptGetStandIn(work);
      const env = { ...apt.env, PATH: `${standIn.binDir}:${process.env.PATH}` };
      const r = sh(['install.sh', '--no-probe'], join(extracted, DIR), env);
      expect(r.code, r.stderr).toBe(0);
      expect(standIn.calls()).toEqual([['install', '-y', '--no-install-recommends', '--allow-downgrades', ...repo.debs.map((d) => `./${d.file}`)]]);
      expect(r.stderr).toContain(`install.sh: installed: ${repo.debs.map((d) => `${d.name}=${V}`).join(' ')}\n`);

      const again = sh(['install.sh', '--no-probe'], join(extracted, DIR), env);
      expect(again.code, again.stderr).toBe(0);
      for (const d of repo.debs) expect(again.stderr).toContain(`install.sh: already installed: ${d.name} ${V}\n`);
      expect(again.stderr).toContain('install.sh: nothing to install\n');
      expect(standIn.calls()).toHaveLength(1);
    });

    it('install (no bundle) is the same flow: the engine fetches the two pinned .debs from the repository into the cache, apt-get installs the local files (STAND-IN); a second run changes nothing', async () => {
      const apt = await makeAptEnv(work, repo.sourceLine);
      const standIn = writeAptGetStandIn(work);
      const env = { ...apt.env, PATH: `${standIn.binDir}:${process.env.PATH}` };
      const installCache = join(work, 'install-cache');
      const args = ['install', '--kernel', R, '--os', 'debian:12', '--yes', '--no-systemtap', '--verify', 'none', '--cache-dir', installCache, '--json'];
      repo.server.resetLog();
      const first = await runCli(args, { env, isRoot: true });
      expect(first.code, first.stderr).toBe(0);
      const main = repo.debs.slice(0, 2);
      expect(debRequests().sort()).toEqual(main.map((d) => `GET ${d.file} 200`).sort());
      for (const d of main) expect(sha256(join(installCache, d.file)), d.file).toBe(d.sha256);
      const installs = standIn.calls();
      expect(installs).toHaveLength(1);
      expect(installs[0]!.slice(-2)).toEqual(main.map((d) => join(installCache, d.file)));
      expect(first.json()).toMatchObject({ changed: true, failed: false, kernel: { uname: R }, os: { id: 'debian' } });
      expect(first.json().packages.map((p: { action: string }) => p.action)).toEqual(['installed', 'installed']);

      repo.server.resetLog();
      const again = await runCli(args, { env, isRoot: true });
      expect(again.code, again.stderr).toBe(0);
      expect(again.json()).toMatchObject({ changed: false, msg: `all 2 packages for ${R} are already installed (build ${V})` });
      expect(debRequests()).toEqual([]);
      expect(standIn.calls()).toHaveLength(1);
    });

    it('leaves alone a dependency installed at a newer version (apt-get -y would refuse the downgrade); not a main package', async () => {
      const apt = await makeAptEnv(work, repo.sourceLine);
      markInstalled(apt.dpkgDir, { name: 'linux-kbuild-6.1', version: '6.1.510-1', arch: 'amd64' });
      markInstalled(apt.dpkgDir, { name: `linux-image-${R}-dbg`, version: '6.1.510-1', arch: 'amd64' });
      const r = sh(['install.sh', '--check-only'], join(extracted, DIR), apt.env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`install.sh: already installed: linux-kbuild-6.1 6.1.510-1 (the bundle has ${V})\n`);
      const wouldInstall = /would install: (.*)\n/.exec(r.stderr)?.[1]?.split(' ');
      expect(wouldInstall).toEqual(repo.debs.filter((d) => d.name !== 'linux-kbuild-6.1').map((d) => `./${d.file}`));
    });

    it('refuses a damaged bundle with exit 1 before installing anything', async () => {
      const dir = copyOfBundle();
      const victim = join(dir, repo.debs[1]!.file);
      const bytes = readFileSync(victim);
      bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
      writeFileSync(victim, bytes);
      const apt = await makeAptEnv(work);
      const standIn = writeAptGetStandIn(work);
      const r = sh(['install.sh', '--no-probe'], dir, { ...apt.env, PATH: `${standIn.binDir}:${process.env.PATH}` });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`${repo.debs[1]!.file}: FAILED`);
      expect(r.stderr).toContain('install.sh: checksum mismatch: this bundle is damaged; copy it again\n');
      expect(standIn.calls()).toEqual([]);
    });

    it('--root: exit 2 with one line (apt cannot install into an image root); --help says so', async () => {
      for (const args of [['--root', '/mnt/image'], ['--root=/mnt/image']]) {
        const r = sh(['install.sh', ...args], join(extracted, DIR), (await makeAptEnv(work)).env);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(
          'install.sh: --root: a Debian/Ubuntu bundle cannot install into an image root (apt installs into the running system); run install.sh inside the image instead\n',
        );
      }
      const help = sh(['install.sh', '--help'], join(extracted, DIR), {});
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Usage: sh install.sh [--no-probe] [--check-only] [--nogpgcheck]\n');
      expect(help.stdout).toContain('  --root DIR    not supported: apt installs into the running system only (exit 2);\n');
      const bad = sh(['install.sh', '--nodeps'], join(extracted, DIR), {});
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('install.sh: unknown option: --nodeps\n');
    });
  });

  describe('install --from-bundle', () => {
    const flags = ['--verify', 'none', '--no-systemtap', '--json'];

    it('a host whose apt lists none of the bundle\'s packages: refused (nothing vouches for them), exit 1 naming each file', async () => {
      const offline = await makeAptEnv(work);
      const r = await runCli(['install', '--from-bundle', bundle, '--dry-run', ...flags], { env: offline.env });
      expect(r.code).toBe(1);
      const out = r.json();
      expect(out).toMatchObject({ failed: true, rc: 1, error: { hint: "refresh apt's lists (apt-get update) where the host reaches its mirror, or pass --no-gpgcheck to install on the bundle's sha256 sums alone" } });
      expect(out.msg.split('\n')).toEqual([
        "the bundle's packages are not the ones apt's signed lists describe:",
        ...repo.debs.map((d) => `  ${d.file}: apt on this host does not list ${d.name}=${V}, so nothing vouches for it`),
      ]);
    });

    it('--no-gpgcheck on that host: would install the five .debs on the bundle\'s sums alone, saying so; apt-get install is not run', async () => {
      const offline = await makeAptEnv(work);
      const standIn = writeAptGetStandIn(work);
      const r = await runCli(['install', '--from-bundle', bundle, '--dry-run', '--no-gpgcheck', ...flags], { env: { ...offline.env, PATH: `${standIn.binDir}:${process.env.PATH}` } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()).toMatchObject({
        changed: true,
        failed: false,
        rc: 0,
        msg: `would install 5 package(s) for ${R} from the bundle with apt`,
        kernel: { uname: R, flavor: 'cloud' },
        os: { id: 'debian', version: '12' },
        verify: null,
        warnings: ["--no-gpgcheck: installing on the bundle's own sha256 sums; apt's lists do not vouch for 5 file(s)"],
      });
      expect(r.json().packages).toEqual(
        repo.debs.map((d, i) => ({ role: i === 0 ? 'debuginfo' : 'devel', name: d.name, file: d.file, action: 'would-install', size: d.size })),
      );
      // The real `apt-get install -s` resolved the headers' dependencies from the bundle alone.
      expect(standIn.calls()).toEqual([]);
    });

    it('installs the bundle\'s files with apt-get (STAND-IN) once apt\'s signed lists vouch for each; a second run finds all present and changes nothing', async () => {
      const apt = await makeAptEnv(work, repo.sourceLine);
      const standIn = writeAptGetStandIn(work);
      const env = { ...apt.env, PATH: `${standIn.binDir}:${process.env.PATH}` };
      const first = await runCli(['install', '--from-bundle', bundle, ...flags], { env, isRoot: true });
      expect(first.code, first.stderr).toBe(0);
      const [argv, ...more] = standIn.calls();
      expect(more).toEqual([]);
      expect(argv?.slice(0, 10)).toEqual(['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', '--allow-downgrades', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold']);
      const files = argv?.slice(10) ?? [];
      expect(files.map((f) => f.slice(f.lastIndexOf(`/${DIR}/`) + DIR.length + 2))).toEqual(repo.debs.map((d) => d.file));
      expect(files.every((f) => f.startsWith('/'))).toBe(true);
      expect(first.json()).toMatchObject({ changed: true, failed: false, msg: `installed 5 package(s) for ${R} from the bundle` });
      expect(first.json().packages.map((p: { action: string }) => p.action)).toEqual(['installed', 'installed', 'installed', 'installed', 'installed']);

      const again = await runCli(['install', '--from-bundle', bundle, ...flags], { env, isRoot: true });
      expect(again.code, again.stderr).toBe(0);
      expect(again.json()).toMatchObject({ changed: false, msg: `all 5 packages of the bundle for ${R} are already installed (build ${V})` });
      expect(again.json().packages.map((p: { action: string }) => p.action)).toEqual(['present', 'present', 'present', 'present', 'present']);
      expect(standIn.calls()).toHaveLength(1);
    });

    it('a dependency already there at a newer version is present, not downgraded', async () => {
      const apt = await makeAptEnv(work, repo.sourceLine);
      markInstalled(apt.dpkgDir, { name: 'linux-kbuild-6.1', version: '6.1.510-1', arch: 'amd64' });
      const r = await runCli(['install', '--from-bundle', bundle, '--dry-run', ...flags], { env: apt.env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json().packages.map((p: { name: string; action: string }) => [p.name, p.action])).toEqual(
        DEB_NAMES.map((n) => [n, n === 'linux-kbuild-6.1' ? 'present' : 'would-install']),
      );
      expect(r.json().msg).toBe(`would install 4 package(s) for ${R} from the bundle with apt`);
    });

    it('a bundle whose .deb was swapped and whose sums were rewritten to match: refused, apt\'s signed lists give another sha256', async () => {
      const swapped = repackBundle((dir, manifest) => {
        // The headers package's bytes under the -dbg package's name: a consistent, but false, bundle.
        const dbg = manifest.packages[0]!;
        const other = manifest.packages[1]!;
        writeFileSync(join(dir, dbg.file), readFileSync(join(dir, other.file)));
        dbg.sha256 = other.sha256;
        dbg.size = other.size;
      });
      const r = await runCli(['install', '--from-bundle', swapped, '--dry-run', ...flags], { env: (await makeAptEnv(work, repo.sourceLine)).env });
      expect(r.code).toBe(1);
      const dbg = repo.debs[0]!;
      expect(r.json().msg.split('\n')).toEqual([
        "the bundle's packages are not the ones apt's signed lists describe:",
        `  ${dbg.file}: its sha256 ${repo.debs[1]!.sha256} is not the ${dbg.sha256} apt's signed lists give for ${dbg.name}=${V}`,
      ]);
    });

    it('a bundle for another architecture, and a manifest naming a package "-oAPT::x": exit 2 before apt is asked', async () => {
      const arm = repackBundle((_dir, manifest) => {
        for (const p of manifest.packages) if (p.arch !== 'all') p.arch = 'arm64';
      });
      const a = await runCli(['install', '--from-bundle', arm, '--dry-run', ...flags], { env: (await makeAptEnv(work, repo.sourceLine)).env });
      expect(a.code).toBe(2);
      expect(a.json().msg).toBe("the bundle's packages are for arm64, this host is amd64");
      const evil = repackBundle((_dir, manifest) => {
        manifest.packages[0]!.name = '-oAPT::x';
      });
      const e = await runCli(['install', '--from-bundle', evil, '--dry-run', ...flags], { env: (await makeAptEnv(work)).env });
      expect(e.code).toBe(2);
      expect(e.json().msg).toBe(`--from-bundle ${evil}: manifest.json package name "-oAPT::x" is not one a package can have`);
    });

    it('the -dbg package at a later upload of the same ABI is taken back to the bundle\'s build (the real apt-get -s allows the downgrade)', async () => {
      const apt = await makeAptEnv(work, repo.sourceLine);
      markInstalled(apt.dpkgDir, { name: `linux-image-${R}-dbg`, version: '6.1.510-1', arch: 'amd64' });
      const r = await runCli(['install', '--from-bundle', bundle, '--dry-run', ...flags], { env: apt.env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json().packages[0]).toMatchObject({ name: `linux-image-${R}-dbg`, action: 'would-install' });
    });

    it('refuses a --kernel the bundle was not made for, and --root (exit 2)', async () => {
      const env = (await makeAptEnv(work)).env;
      const k = await runCli(['install', '--from-bundle', bundle, '--kernel', '6.1.0-98-cloud-amd64', '--dry-run'], { env });
      expect(k.code).toBe(2);
      expect(k.stderr).toBe(`kdebuginfo: --kernel 6.1.0-98-cloud-amd64 does not match the bundle, which was made for ${R}\n`);
      const root = await runCli(['install', '--from-bundle', bundle, '--root', work, '--dry-run'], { env });
      expect(root.code).toBe(2);
      expect(root.stderr.split('\n')[0]).toBe('kdebuginfo: --root is not supported for Debian 12 targets: apt installs into the running system');
    });

    it('needs root to install (exit 4); --dry-run does not', async () => {
      const r = await runCli(['install', '--from-bundle', bundle, ...flags], { env: (await makeAptEnv(work)).env, isRoot: false });
      expect(r.code).toBe(4);
      expect(r.json()).toMatchObject({ failed: true, rc: 4, msg: 'installing packages on this host needs root' });
    });
  });
});
