import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestContext, type TestContext } from '../support/context.js';
import { parseMirrorRewrites } from '../../src/core/mirrors.js';
import { runBundle, formatBundle } from '../../src/commands/bundle.js';
import { runDownload, formatDownload } from '../../src/commands/download.js';
import { renderInstallScript, installScriptTemplate, type BundleManifest } from '../../src/io/bundle.js';
import { startFixtureMirror, FIXTURE_MIRROR_ROOT, type FixtureMirror } from '../support/fixture-mirror.js';
import { KdebuginfoError, ExitCode } from '../../src/errors.js';
import { OTHER_KEY, REPO_TOP, TEST_KEY } from '../support/scratch-root.js';

// The whole path a user takes: resolve on the fixture mirror (standing in for
// debuginfo.centos.org and vault.centos.org), fetch through the cache, pack, then install the
// bundle into an empty root with real rpm through its own install.sh.
const KERNEL = '4.18.0-348.7.1.el8_5.x86_64';
const FILES = {
  debuginfo: '/debuginfo.centos.org/8/x86_64/Packages/kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm',
  'debuginfo-common': '/debuginfo.centos.org/8/x86_64/Packages/kernel-debuginfo-common-x86_64-4.18.0-348.7.1.el8_5.x86_64.rpm',
  devel: '/vault.centos.org/8.5.2111/BaseOS/x86_64/os/Packages/kernel-devel-4.18.0-348.7.1.el8_5.x86_64.rpm',
} as const;
const NEVRAS = ['kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64', 'kernel-debuginfo-common-x86_64-4.18.0-348.7.1.el8_5.x86_64', 'kernel-devel-4.18.0-348.7.1.el8_5.x86_64'];
const CREATED = new Date('2026-01-02T03:04:05.000Z');

let mirror: FixtureMirror;
let work: string;

beforeAll(async () => {
  mirror = await startFixtureMirror();
  work = await mkdtemp(join(tmpdir(), 'kdebuginfo-bundle-'));
  await mkdir(join(work, 'home'));
});
afterAll(async () => {
  await mirror.close();
  await rm(work, { recursive: true, force: true });
});

/** The shared test Context (no terminal), run from `cwd` with its own HOME. */
function testContext(opts: { cwd: string; dryRun?: boolean }): TestContext {
  const t = makeTestContext({ dryRun: Boolean(opts.dryRun), env: { HOME: join(opts.cwd, 'home') } });
  return { ...t, ctx: { ...t.ctx, cwd: opts.cwd } };
}

const rewrites = () => parseMirrorRewrites(mirror.mirrorEnv.split(','), 'test');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fixture = (p: string) => readFile(join(FIXTURE_MIRROR_ROOT, p));

/**
 * The environment install.sh and every rpm call below run with. The HOME matters: Debian's rpm
 * keeps a root's database at <root>/~/.rpmdb (%_dbpath, HOME expanded), so the key import, the
 * install and the queries must agree on it (docs/test-tools.md).
 */
const rpmEnv = () => ({ PATH: process.env.PATH, LC_ALL: 'C', HOME: join(work, 'home') });

function sh(args: string[], cwd: string) {
  const r = spawnSync('sh', args, { cwd, encoding: 'utf8', env: rpmEnv() });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function rpmQuery(root: string, names: string[]) {
  const r = spawnSync('rpm', ['--root', root, '-q', ...names], { encoding: 'utf8', env: rpmEnv() });
  return { code: r.status, stdout: r.stdout.trim().split('\n') };
}

/** Everything in the root's rpm database but the imported keys (gpg-pubkey-*). */
function rpmPackages(root: string): string[] {
  const r = spawnSync('rpm', ['--root', root, '-qa'], { encoding: 'utf8', env: rpmEnv() });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((n) => n !== '' && !n.startsWith('gpg-pubkey-')).sort();
}

/** A root whose rpm database trusts `key`, as a system that installed from its distro's repos does. */
async function rootTrusting(key: string): Promise<string> {
  const root = await mkdtemp(join(work, 'root-'));
  const r = spawnSync('rpm', ['--root', root, '--import', key], { encoding: 'utf8', env: rpmEnv() });
  expect(r.status, r.stderr).toBe(0);
  return root;
}

/** The test key's and the other key's IDs, as rpm prints them (the low 32 bits of the fingerprint). */
const TEST_KEY_ID = 'bbdfec8a';
const OTHER_KEY_ID = 'dd78d1b8';
const fileOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const hasRpmsign = spawnSync('sh', ['-c', 'command -v rpmsign && command -v gpg'], { stdio: 'ignore' }).status === 0;

describe('bundle', () => {
  let bundlePath: string;
  let extracted: string;
  let manifest: BundleManifest;

  beforeAll(async () => {
    const { ctx } = testContext({ cwd: work });
    const r = await runBundle(ctx, {
      kernel: KERNEL,
      os: 'centos:8',
      root: undefined,
      rewrites: rewrites(),
      userAgent: 'kdebuginfo-test/1',
      cacheDir: join(work, 'cache'),
      output: 'out/bundle.tar.gz',
      toolVersion: '0.1.0',
      now: () => CREATED,
    });
    bundlePath = r.output;
    manifest = r.manifest!;
    extracted = join(work, 'extracted');
    await rm(extracted, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(extracted));
    const untar = spawnSync('tar', ['xzf', bundlePath, '-C', extracted], { encoding: 'utf8' });
    expect(untar.status, untar.stderr).toBe(0);
  });

  it('writes FILE.tar.gz with one directory: the three RPMs, manifest.json and install.sh', async () => {
    expect(bundlePath).toBe(join(work, 'out', 'bundle.tar.gz'));
    expect(await readdir(extracted)).toEqual([`kdebuginfo-${KERNEL}`]);
    const dir = join(extracted, `kdebuginfo-${KERNEL}`);
    expect((await readdir(dir)).sort()).toEqual(
      ['install.sh', 'manifest.json', ...Object.values(FILES).map((p) => p.slice(p.lastIndexOf('/') + 1))].sort(),
    );
    expect((await stat(join(dir, 'install.sh'))).mode & 0o111).not.toBe(0);
    // Real files in the archive, not the symlinks it was staged with.
    for (const p of Object.values(FILES)) {
      const name = p.slice(p.lastIndexOf('/') + 1);
      expect(sha256(await readFile(join(dir, name)))).toBe(sha256(await fixture(p)));
    }
    // No temp files left beside the output.
    expect(await readdir(join(work, 'out'))).toEqual(['bundle.tar.gz']);
  });

  it('describes kernel, os, packages (file, size, sha256), tool version and creation time in manifest.json', async () => {
    const onDisk = JSON.parse(await readFile(join(extracted, `kdebuginfo-${KERNEL}`, 'manifest.json'), 'utf8')) as BundleManifest;
    expect(onDisk).toEqual(manifest);
    expect(onDisk.format).toBe(1);
    expect(onDisk.tool).toEqual({ name: 'kdebuginfo', version: '0.1.0' });
    expect(onDisk.created).toBe('2026-01-02T03:04:05.000Z');
    expect(onDisk.kernel).toMatchObject({ uname: KERNEL, version: '4.18.0', release: '348.7.1.el8_5', arch: 'x86_64', flavor: 'default' });
    expect(onDisk.os).toMatchObject({ id: 'centos', version: '8' });
    expect(onDisk.installer).toBe('install.sh');
    for (const [role, p] of Object.entries(FILES)) {
      const body = await fixture(p);
      expect(onDisk.packages.find((x) => x.role === role)).toMatchObject({
        file: p.slice(p.lastIndexOf('/') + 1),
        size: body.length,
        sha256: sha256(body),
      });
    }
  });

  it('installs into a root that trusts the signing key with real rpm through its own install.sh (--root DIR --nodeps)', async () => {
    const root = await rootTrusting(TEST_KEY);
    const dir = join(extracted, `kdebuginfo-${KERNEL}`);
    const r = sh(['install.sh', '--root', root, '--nodeps'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: OK$/m); // sha256sum -c
    for (const p of Object.values(FILES)) expect(r.stderr).toContain(`install.sh: ${fileOf(p)}: signature OK (key ID ${TEST_KEY_ID})\n`);
    expect(r.stderr).toContain(`install.sh: installed: ${NEVRAS.join(' ')}\n`);
    expect(r.stderr).toContain('install.sh: rpm -ivh --oldpackage --nodeps ./kernel-debuginfo-4');
    expect(r.stderr).toContain('--root given: the probe needs the running system; not verified');
    const q = rpmQuery(root, NEVRAS);
    expect(q.code).toBe(0);
    expect(q.stdout).toEqual(NEVRAS);

    // Again: everything is there already, nothing is installed twice.
    const again = sh(['install.sh', '--root', root, '--nodeps'], dir);
    expect(again.code, again.stderr).toBe(0);
    for (const n of NEVRAS) expect(again.stderr).toContain(`already installed: ${n}`);
    expect(again.stderr).toContain('nothing to install');
  });

  it.skipIf(spawnSync('sh', ['-c', 'command -v dnf']).status !== 0)('installs with dnf when there is one (dnf --installroot), then checks with rpm -q', async () => {
    // This machine has dnf 4; the fixture packages need nothing outside the three, so dnf can
    // resolve the transaction even in an empty root.
    const root = await rootTrusting(TEST_KEY);
    const r = sh(['install.sh', '--root', root], join(extracted, `kdebuginfo-${KERNEL}`));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/install\.sh: dnf install \.\/kernel-debuginfo-4/);
    expect(r.stdout).toContain('Complete!');
    expect(rpmQuery(root, NEVRAS)).toEqual({ code: 0, stdout: NEVRAS });
  });

  it('--check-only verifies checksums and signatures and says what it would install, changing nothing', async () => {
    const root = await rootTrusting(TEST_KEY);
    const r = sh(['install.sh', '--root', root, '--check-only'], join(extracted, `kdebuginfo-${KERNEL}`));
    expect(r.code, r.stderr).toBe(0);
    for (const p of Object.values(FILES)) expect(r.stderr).toContain(`install.sh: ${fileOf(p)}: signature OK (key ID ${TEST_KEY_ID})\n`);
    expect(r.stderr).toMatch(/would install: \.\/kernel-\S+\.rpm \.\/kernel-\S+\.rpm \.\/kernel-\S+\.rpm into /);
    expect(rpmQuery(root, NEVRAS).code).not.toBe(0);
    expect(rpmPackages(root)).toEqual([]);
  });

  it('refuses (exit 1) a root whose rpm database lacks the signing key, naming every file, installing nothing', async () => {
    const root = await mkdtemp(join(work, 'root-'));
    const r = sh(['install.sh', '--root', root], join(extracted, `kdebuginfo-${KERNEL}`));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/: OK$/m); // the checksums were fine: it is the signatures
    // rpm 4.18's own line, after the verdict that reads the same on every rpm.
    for (const p of Object.values(FILES)) {
      expect(r.stderr).toContain(`install.sh: ${fileOf(p)}: NOT OK (MISSING KEYS: ${TEST_KEY_ID}); rpmkeys --checksig says: digests SIGNATURES NOT OK\n`);
    }
    expect(r.stderr).toContain(`install.sh: refusing to install: 3 of 3 package(s) failed the signature check against the keys in the rpm database of ${root}; nothing was installed\n`);
    expect(r.stderr).toContain(`install.sh: hint: import the distribution's key, then run this again: rpm --root ${root} --import ${root}/etc/pki/rpm-gpg/RPM-GPG-KEY-...\n`);
    expect(r.stderr).toMatch(/install\.sh: hint: or pass --nogpgcheck to install them anyway\n$/);
    expect(r.stderr).not.toContain('dnf install');
    expect(rpmPackages(root)).toEqual([]);
  });

  it('names the key files the root has in the hint', async () => {
    const root = await mkdtemp(join(work, 'root-'));
    await mkdir(join(root, 'etc/pki/rpm-gpg'), { recursive: true });
    await writeFile(join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-kdebuginfo-test'), await readFile(TEST_KEY));
    const r = sh(['install.sh', '--root', root, '--nodeps'], join(extracted, `kdebuginfo-${KERNEL}`));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`--import ${root}/etc/pki/rpm-gpg/RPM-GPG-KEY-... (here: ${root}/etc/pki/rpm-gpg/RPM-GPG-KEY-kdebuginfo-test)\n`);
    // Doing what the hint says makes the install go through.
    const imported = spawnSync('rpm', ['--root', root, '--import', join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-kdebuginfo-test')], { encoding: 'utf8', env: rpmEnv() });
    expect(imported.status, imported.stderr).toBe(0);
    const again = sh(['install.sh', '--root', root, '--nodeps'], join(extracted, `kdebuginfo-${KERNEL}`));
    expect(again.code, again.stderr).toBe(0);
    expect(rpmPackages(root)).toEqual([...NEVRAS].sort());
  });

  it('--check-only reports the signature failures too (exit 1)', async () => {
    const root = await mkdtemp(join(work, 'root-'));
    const r = sh(['install.sh', '--root', root, '--check-only'], join(extracted, `kdebuginfo-${KERNEL}`));
    expect(r.code, r.stderr).toBe(1);
    for (const p of Object.values(FILES)) expect(r.stderr).toContain(`install.sh: ${fileOf(p)}: NOT OK (MISSING KEYS: ${TEST_KEY_ID});`);
    expect(r.stderr).toContain('install.sh: --check-only: the install would be refused: 3 of 3 package(s) failed the signature check');
    expect(r.stderr).not.toContain('would install:');
    expect(rpmPackages(root)).toEqual([]);
  });

  it('--nogpgcheck installs without the key, saying that it did not check', async () => {
    const root = await mkdtemp(join(work, 'root-'));
    const r = sh(['install.sh', '--root', root, '--nodeps', '--nogpgcheck'], join(extracted, `kdebuginfo-${KERNEL}`));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('install.sh: --nogpgcheck: the RPM signatures were NOT checked\n');
    expect(r.stderr).not.toContain('signature OK');
    expect(rpmPackages(root)).toEqual([...NEVRAS].sort());
  });

  it('checks only what it would install: a second run after --nogpgcheck finds everything there', async () => {
    const root = await mkdtemp(join(work, 'root-'));
    const dir = join(extracted, `kdebuginfo-${KERNEL}`);
    expect(sh(['install.sh', '--root', root, '--nodeps', '--nogpgcheck'], dir).code).toBe(0);
    const again = sh(['install.sh', '--root', root, '--nodeps'], dir);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('nothing to install');
    expect(again.stderr).not.toContain('signature');
  });

  it('refuses a damaged bundle (exit 1) before installing anything', async () => {
    const copy = join(work, 'damaged');
    await rm(copy, { recursive: true, force: true });
    spawnSync('cp', ['-r', extracted, copy]);
    const dir = join(copy, `kdebuginfo-${KERNEL}`);
    const victim = join(dir, FILES.devel.slice(FILES.devel.lastIndexOf('/') + 1));
    const body = await readFile(victim);
    body[body.length - 10] = body[body.length - 10]! ^ 0xff;
    await writeFile(victim, body);
    const root = await mkdtemp(join(work, 'root-'));
    const r = sh(['install.sh', '--root', root, '--nodeps'], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/kernel-devel-\S+\.rpm: FAILED/);
    expect(r.stderr).toContain('checksum mismatch: this bundle is damaged; copy it again');
    expect(rpmQuery(root, NEVRAS).code).not.toBe(0);
  });

  /**
   * The bundle as someone who can rewrite the tarball would pass it on: `change` alters the
   * kernel-devel RPM, install.sh's sums and manifest.json are made to match, and the tarball is
   * packed again. Returns the bundle directory of a fresh extraction of that tarball.
   */
  async function tamperedBundle(name: string, change: (rpm: string) => void): Promise<string> {
    const unpacked = join(work, `${name}-unpacked`);
    const extractedAgain = join(work, `${name}-extracted`);
    for (const d of [unpacked, extractedAgain]) {
      await rm(d, { recursive: true, force: true });
      await mkdir(d);
    }
    const untar = (file: string, into: string) => spawnSync('tar', ['xzf', file, '-C', into], { encoding: 'utf8' });
    expect(untar(bundlePath, unpacked).status).toBe(0);
    const dir = join(unpacked, `kdebuginfo-${KERNEL}`);
    const rpm = join(dir, fileOf(FILES.devel));
    const before = sha256(await readFile(rpm));
    change(rpm);
    const body = await readFile(rpm);
    const after = sha256(body);
    expect(after).not.toBe(before);
    const script = await readFile(join(dir, 'install.sh'), 'utf8');
    expect(script).toContain(`${before} ${fileOf(FILES.devel)} `);
    await writeFile(join(dir, 'install.sh'), script.split(before).join(after));
    const onDisk = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as BundleManifest;
    const entry = onDisk.packages.find((p) => p.role === 'devel')!;
    Object.assign(entry, { sha256: after, size: body.length });
    await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(onDisk, null, 2)}\n`);
    const tarball = join(work, `${name}.tar.gz`);
    const pack = spawnSync('tar', ['czf', tarball, '-C', unpacked, `kdebuginfo-${KERNEL}`], { encoding: 'utf8' });
    expect(pack.status, pack.stderr).toBe(0);
    expect(untar(tarball, extractedAgain).status).toBe(0);
    return join(extractedAgain, `kdebuginfo-${KERNEL}`);
  }

  /** rpmsign as fixtures/build-mirror.sh runs it, with the other test key: the same package, another signer. */
  function resignWithOtherKey(rpm: string): void {
    // In /tmp, not under `work`: gpg-agent's socket path must stay short (sun_path is 108 bytes).
    const gnupghome = spawnSync('mktemp', ['-d', '/tmp/kdebuginfo-gpg.XXXXXX'], { encoding: 'utf8' }).stdout.trim();
    const gpg = (args: string[]) => spawnSync('gpg', ['--homedir', gnupghome, '--batch', '--quiet', ...args], { encoding: 'utf8', env: rpmEnv() });
    try {
      expect(gpg(['--import', join(REPO_TOP, 'fixtures/keys/kdebuginfo-other.secret.asc')]).status).toBe(0);
      const listed = gpg(['--with-colons', '--import-options', 'show-only', '--import', OTHER_KEY]).stdout;
      const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(listed)![1]!;
      expect(fingerprint.toLowerCase().endsWith(OTHER_KEY_ID)).toBe(true);
      const signed = spawnSync(
        'rpmsign',
        [
          '--addsign',
          '--define', `__gpg ${spawnSync('sh', ['-c', 'command -v gpg'], { encoding: 'utf8' }).stdout.trim()}`,
          '--define', `_gpg_path ${gnupghome}`,
          '--define', `_gpg_name ${fingerprint}`,
          '--define', '_gpg_digest_algo sha256',
          '--define', "_gpg_sign_cmd_extra_args --batch --pinentry-mode loopback --passphrase ''",
          rpm,
        ],
        { encoding: 'utf8', env: rpmEnv() },
      );
      expect(signed.status, signed.stderr).toBe(0);
    } finally {
      spawnSync('gpgconf', ['--homedir', gnupghome, '--kill', 'all']);
      spawnSync('rm', ['-rf', gnupghome]);
    }
  }

  it.skipIf(!hasRpmsign)('refuses a package re-signed with another key even when the sums in the bundle were made to match (exit 1)', async () => {
    const dir = await tamperedBundle('resigned', resignWithOtherKey);
    const root = await rootTrusting(TEST_KEY);
    const r = sh(['install.sh', '--root', root, '--nodeps'], dir);
    expect(r.code, r.stderr).toBe(1);
    // The sums match: only the signature check stands between this and the install.
    expect(r.stdout.match(/: OK$/gm)).toHaveLength(3);
    expect(r.stderr).toContain(`install.sh: ${fileOf(FILES.devel)}: NOT OK (MISSING KEYS: ${OTHER_KEY_ID}); rpmkeys --checksig says: digests SIGNATURES NOT OK\n`);
    for (const p of [FILES.debuginfo, FILES['debuginfo-common']]) expect(r.stderr).toContain(`install.sh: ${fileOf(p)}: signature OK (key ID ${TEST_KEY_ID})\n`);
    expect(r.stderr).toContain('install.sh: refusing to install: 1 of 3 package(s) failed the signature check');
    expect(r.stderr).not.toContain('rpm -ivh');
    expect(rpmPackages(root)).toEqual([]);
  });

  it('refuses a package changed after it was signed, sums made to match: BAD (exit 1)', async () => {
    const dir = await tamperedBundle('changed', (rpm) => {
      const body = readFileSync(rpm);
      body[body.length - 10] = body[body.length - 10]! ^ 0xff; // in the payload, which the signed header's digest covers
      writeFileSync(rpm, body);
    });
    const root = await rootTrusting(TEST_KEY);
    const r = sh(['install.sh', '--root', root, '--nodeps'], dir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`install\\.sh: ${fileOf(FILES.devel).replace(/\./g, '\\.')}: BAD \\(changed after it was signed\\); rpmkeys --checksig says: \\S.* NOT OK\\n`));
    expect(r.stderr).toMatch(/install\.sh: hint: make the bundle again from the distribution's mirrors, or pass --nogpgcheck to install them anyway\n$/);
    expect(rpmPackages(root)).toEqual([]);
  });

  it.skipIf(!hasRpmsign)('refuses a package whose signature was removed, though rpm -K passes it (exit 1)', async () => {
    const dir = await tamperedBundle('unsigned', (rpm) => {
      const r = spawnSync('rpmsign', ['--delsign', rpm], { encoding: 'utf8', env: rpmEnv() });
      expect(r.status, r.stderr).toBe(0);
    });
    // rpm's own verdict on an unsigned package is a pass: "digests OK", exit 0.
    const plain = spawnSync('rpmkeys', ['--checksig', join(dir, fileOf(FILES.devel))], { encoding: 'utf8', env: rpmEnv() });
    expect(plain.status).toBe(0);
    const root = await rootTrusting(TEST_KEY);
    const r = sh(['install.sh', '--root', root, '--nodeps'], dir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`install.sh: ${fileOf(FILES.devel)}: no signature; rpmkeys --checksig says: digests OK\n`);
    expect(rpmPackages(root)).toEqual([]);
  });

  it('answers bad usage with exit 2 and the usage text', () => {
    const r = sh(['install.sh', '--bogus'], join(extracted, `kdebuginfo-${KERNEL}`));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: sh install.sh [--root DIR] [--nodeps] [--nogpgcheck] [--no-probe] [--check-only]');
    expect(r.stderr).toContain('unknown option: --bogus');
  });

  it('--help prints the header: every option, ending with --check-only', () => {
    const r = sh(['install.sh', '--help'], join(extracted, `kdebuginfo-${KERNEL}`));
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Usage: sh install.sh [--root DIR] [--nodeps] [--nogpgcheck] [--no-probe] [--check-only]');
    for (const flag of ['--root DIR', '--nodeps', '--nogpgcheck', '--no-probe']) expect(r.stdout).toMatch(new RegExp(`^  ${flag} `, 'm'));
    expect(lines.at(-1)).toMatch(/^ {2}--check-only {2}verify the checksums and signatures/);
  });

  it('formats a human summary with the command to run on the target', async () => {
    const { ctx } = testContext({ cwd: work });
    const r = await runBundle(ctx, {
      kernel: KERNEL,
      os: 'centos:8',
      root: undefined,
      rewrites: rewrites(),
      userAgent: 'kdebuginfo-test/1',
      cacheDir: join(work, 'cache'),
      output: join(work, 'out2', 'b.tgz'),
      toolVersion: '0.1.0',
    });
    const text = formatBundle(r);
    expect(text).toContain(`Bundle   ${join(work, 'out2', 'b.tgz')}`);
    expect(text).toContain(`tar xzf b.tgz && sudo sh kdebuginfo-${KERNEL}/install.sh`);
  });

  it('refuses an output name that is not .tar.gz (exit 2)', async () => {
    const { ctx } = testContext({ cwd: work });
    const err = await runBundle(ctx, { kernel: KERNEL, os: 'centos:8', root: undefined, rewrites: rewrites(), userAgent: 'x', output: 'b.zip', toolVersion: '0' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KdebuginfoError);
    expect((err as KdebuginfoError).exitCode).toBe(ExitCode.usage);
  });
});

describe('install.sh rendering', () => {
  const manifest: BundleManifest = {
    format: 1,
    tool: { name: 'kdebuginfo', version: '0.1.0' },
    created: CREATED.toISOString(),
    kernel: { uname: KERNEL, version: '4.18.0', release: '348.7.1.el8_5', arch: 'x86_64', flavor: 'default' },
    os: { id: 'centos', version: '8', name: 'CentOS Linux 8' },
    packages: [{ role: 'devel', name: 'kernel-devel', version: '4.18.0', release: '348.7.1.el8_5', arch: 'x86_64', file: 'kernel-devel-4.18.0-348.7.1.el8_5.x86_64.rpm', size: 1, sha256: 'a'.repeat(64) }],
    installer: 'install.sh',
  };

  it('fills in every field and is valid sh', async () => {
    const text = renderInstallScript(await installScriptTemplate(), manifest, { script: 'probe begin { exit() }\n', workload: '#!/bin/sh\nsleep 1\n' });
    expect(text).not.toMatch(/@@[A-Z_]+@@/);
    expect(text).toContain(`KERNEL='${KERNEL}'`);
    expect(text).toContain(`${'a'.repeat(64)} kernel-devel-4.18.0-348.7.1.el8_5.x86_64.rpm kernel-devel-4.18.0-348.7.1.el8_5.x86_64`);
    expect(text).toContain("cat >\"$script\" <<'KDEBUGINFO_PROBE_END'\nprobe begin { exit() }\nKDEBUGINFO_PROBE_END\n");
    expect(text).toContain("cat >\"$workload\" <<'KDEBUGINFO_WORKLOAD_END'\n#!/bin/sh\nsleep 1\nKDEBUGINFO_WORKLOAD_END\n");
    const file = join(work, 'rendered.sh');
    await writeFile(file, text);
    expect(spawnSync('sh', ['-n', file]).status).toBe(0);
  });

  it('refuses values that could break out of the quoting', async () => {
    const t = await installScriptTemplate();
    expect(() => renderInstallScript(t, { ...manifest, kernel: { ...manifest.kernel, uname: "x'; rm -rf /; '" } })).toThrow(/kernel release/);
    expect(() => renderInstallScript(t, { ...manifest, packages: [{ ...manifest.packages[0]!, file: 'a b.rpm' }] })).toThrow(/file name/);
    const workload = '#!/bin/sh\n';
    expect(() => renderInstallScript(t, manifest, { script: 'x\nKDEBUGINFO_PROBE_END\nrm -rf /', workload })).toThrow('the probe script contains the here-document terminator KDEBUGINFO_PROBE_END');
    expect(() => renderInstallScript(t, manifest, { script: 'x', workload: `${workload}KDEBUGINFO_WORKLOAD_END\nrm -rf /\n` })).toThrow(
      'the probe workload contains the here-document terminator KDEBUGINFO_WORKLOAD_END',
    );
  });
});

describe('download command', () => {
  it('fetches the three packages into the cache and places them in --dest; a second run fetches nothing', async () => {
    const cwd = await mkdtemp(join(work, 'dl-'));
    const opts = { kernel: KERNEL, os: 'centos:8', root: undefined, rewrites: rewrites(), userAgent: 'kdebuginfo-test/1', cacheDir: 'cache', dest: 'rpms' };
    const first = testContext({ cwd });
    const r = await runDownload(first.ctx, opts);
    expect(r.cacheDir).toBe(join(cwd, 'cache'));
    expect(r.dest).toBe(join(cwd, 'rpms'));
    expect(r.packages.map((p) => [p.role, p.status, p.verifiedBy])).toEqual([
      ['debuginfo', 'downloaded', 'sha256'],
      ['debuginfo-common', 'downloaded', 'sha256'],
      ['devel', 'downloaded', 'sha256'],
    ]);
    for (const p of r.packages) {
      const body = await fixture(FILES[p.role]);
      expect(p.path).toBe(join(cwd, 'rpms', p.file));
      expect(sha256(await readFile(p.path!))).toBe(sha256(body));
      expect(p.sha256).toBe(sha256(body));
      expect(p.fetchedBytes).toBe(body.length);
      // A hard link to the cached copy: no second copy of 1 GB.
      expect((await stat(p.path!)).ino).toBe((await stat(join(cwd, 'cache', p.file))).ino);
    }
    expect(first.stdout()).toBe(''); // stdout is the caller's, for the result only
    expect(first.stderr()).toMatch(/kernel-debuginfo-4\.18\.0-348\.7\.1\.el8_5\.x86_64\.rpm: done, /);
    expect(formatDownload(r)).toContain('downloaded, sha256 ok');

    mirror.server.resetLog();
    const second = await runDownload(testContext({ cwd }).ctx, opts);
    expect(second.packages.map((p) => p.status)).toEqual(['cached', 'cached', 'cached']);
    expect(second.fetchedBytes).toBe(0);
    expect(mirror.server.requests.filter((q) => q.path.endsWith('.rpm'))).toEqual([]);
  });

  it('--dry-run resolves and reports, but fetches and writes nothing', async () => {
    const cwd = await mkdtemp(join(work, 'dry-'));
    mirror.server.resetLog();
    const t = testContext({ cwd, dryRun: true });
    const r = await runDownload(t.ctx, { kernel: KERNEL, os: 'centos:8', root: undefined, rewrites: rewrites(), userAgent: 'x', cacheDir: 'cache', dest: 'rpms' });
    expect(r.dryRun).toBe(true);
    expect(r.packages.map((p) => p.status)).toEqual(['would-download', 'would-download', 'would-download']);
    expect(mirror.server.requests.filter((q) => q.path.endsWith('.rpm'))).toEqual([]);
    expect(await readdir(cwd)).toEqual([]);
    expect(t.stderr()).toContain('would download http://');
  });
});
