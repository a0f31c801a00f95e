import { TEST_KEY } from '../support/scratch-root.js';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';

// Host installs (no --root) only in --dry-run here: this test machine's / is Debian's.
const fedoraFixture = fileURLToPath(new URL('../../fixtures/os-release/fedora-39', import.meta.url));
// stap-prep runs as nobody, who may not be able to read the checkout (a clone under a 0700 temp
// dir): hand it a world-readable copy.
let fedoraOsRelease: string;

let mirror: FixtureMirror;
let bin: string;
beforeAll(async () => {
  mirror = await startFixtureMirror();
  // A PATH with rpm but without stap or stap-prep: a host where SystemTap is not installed.
  bin = mkdtempSync(join(tmpdir(), 'kdebuginfo-nostap-'));
  chmodSync(bin, 0o755);
  fedoraOsRelease = join(bin, 'os-release-fedora');
  copyFileSync(fedoraFixture, fedoraOsRelease);
  chmodSync(fedoraOsRelease, 0o644);
  for (const tool of ['rpm', 'rpmkeys']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
});
afterAll(async () => {
  await mirror?.close();
  rmSync(bin, { recursive: true, force: true });
});

// --gpg-key: this Debian host's / trusts no RPM key, which install now checks before anything is fetched.
const dryRun = (args: string[], env: Record<string, string> = {}) =>
  runCli(['install', '--dry-run', '--json', '--os', 'centos-stream:9', '--gpg-key', TEST_KEY, ...args], {
    isRoot: true,
    env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv, ...env },
  });

/** This test machine's / is Debian's: the dry run says that a real run here would be refused. */
const DEBIAN_HOST_WARNING = / is a CentOS Stream 9 kernel, and this host is (debian|ubuntu): its RPMs cannot be installed into \/ here; this dry run shows what a CentOS Stream 9 host would do$/;
const hostWarnings = (warnings: string[]) => warnings.filter((w) => !DEBIAN_HOST_WARNING.test(w));

describe('install on the host', () => {
  it('runs the real stap-prep without letting it install, and names where its list is wrong (+rt)', async () => {
    // Debian's lsb_release honours LSB_OS_RELEASE: stap-prep then takes its rpm branch, with real rpm -q.
    const r = await dryRun(['--kernel', '5.14.0-362.el9.x86_64+rt'], { LSB_OS_RELEASE: fedoraOsRelease });
    expect(r.code).toBe(0);
    const out = r.json();
    expect(hostWarnings(out.warnings)).toEqual([
      'stap-prep asks for kernel-5.14.0-362.el9+rt.x86_64, kernel-devel-5.14.0-362.el9+rt.x86_64, kernel-debuginfo-5.14.0-362.el9+rt.x86_64, which kdebuginfo does not install (its name for this kernel differs)',
      'stap-prep does not list kernel-rt-debuginfo-5.14.0-362.el9.x86_64, kernel-rt-devel-5.14.0-362.el9.x86_64, which this kernel needs',
    ]);
    expect(out.packages.map((p: any) => `${p.action} ${p.file}`)).toEqual([
      'would-install kernel-rt-debuginfo-5.14.0-362.el9.x86_64.rpm',
      'would-install kernel-debuginfo-common-x86_64-5.14.0-362.el9.x86_64.rpm',
      'would-install kernel-rt-devel-5.14.0-362.el9.x86_64.rpm',
    ]);
    expect(r.stderr).toContain('warning: stap-prep asks for kernel-5.14.0-362.el9+rt.x86_64');
  });

  it('agrees with stap-prep for a plain kernel: no warning', async () => {
    const r = await dryRun(['--kernel', '5.14.0-362.el9.x86_64'], { LSB_OS_RELEASE: fedoraOsRelease });
    expect(r.code).toBe(0);
    expect(hostWarnings(r.json().warnings)).toEqual([]);
  });

  it('without a terminal and without --yes, a missing SystemTap is exit 2 naming --yes and --no-systemtap', async () => {
    const r = await dryRun(['--kernel', '5.14.0-362.el9.x86_64'], { PATH: bin });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter((l) => !l.startsWith('warning: ')).join('\n')).toBe(
      'kdebuginfo: SystemTap (stap) is not installed: pass --yes to install systemtap too, or --no-systemtap to leave it out\n',
    );
    expect(r.json()).toMatchObject({ failed: true, rc: 2 });
  });

  it('--no-systemtap goes on without it', async () => {
    const r = await dryRun(['--kernel', '5.14.0-362.el9.x86_64', '--no-systemtap'], { PATH: bin });
    expect(r.code).toBe(0);
    expect(r.json().changed).toBe(true);
  });

  it('needs root to install on the host', async () => {
    const r = await runCli(['install', '--kernel', '5.14.0-362.el9.x86_64', '--os', 'centos-stream:9'], {
      isRoot: false,
      env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv },
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      'kdebuginfo: installing packages on this host needs root\nhint: run it with sudo, or use --dry-run to see what would change\n',
    );
  });
});
