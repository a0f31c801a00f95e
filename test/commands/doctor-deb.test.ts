/**
 * doctor for Debian and Ubuntu kernels (issue 7) on image roots and system snapshots made with
 * the real tools: .deb packages built by dpkg-deb in the layout of Debian's kernel packages,
 * installed by the real `dpkg --root` (test/support/deb-root.ts), a debug vmlinux that is a real
 * ELF with a chosen build-id, and for "running" roots stand-ins for /proc/sys/kernel/osrelease
 * and /sys/kernel/notes (what the kernel would show; nothing here can boot one).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctorExitCode, formatDoctor, runDoctor, type DoctorResult } from '../../src/commands/doctor.js';
import type { CheckId } from '../../src/core/doctor.js';
import { parseDpkgStatus } from '../../src/core/debian.js';
import { makeTestContext } from '../support/context.js';
import { kernelNotes } from '../support/kernel-notes.js';
import { buildDeb, dpkgInstall, kernelDebs } from '../support/deb-root.js';
import { runCli } from '../support/cli.js';
import { hasTool } from '../support/captured-output.js';
import { FIXTURE_MIRROR_ROOT } from '../support/fixture-mirror.js';

const R = '6.1.0-99-cloud-amd64';
const V = '6.1.500-1';
const V_OLD = '6.1.499-3';
const NEWER = '6.1.0-100-cloud-amd64';
const BUILD_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f9001122334';
const OLD_BUILD_ID = '00112233445566778899aabbccddeeff00112233';
const UR = '6.8.0-99-generic';
const UV = '6.8.0-99.99';
const HOME = '/home/tester';
const OS_RELEASE_DIR = join(FIXTURE_MIRROR_ROOT, '..', 'os-release');

const work = mkdtempSync(join(tmpdir(), 'kdebuginfo-doctor-deb-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const debs = join(work, 'debs');

interface DebRootSpec {
  osRelease?: string;
  packages: string[];
  running?: { release: string; buildId: string } | null;
  moreKernels?: string[];
}

function prepareDebRoot(name: string, spec: DebRootSpec): string {
  const root = join(work, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  copyFileSync(join(OS_RELEASE_DIR, spec.osRelease ?? 'debian-12'), join(root, 'etc/os-release'));
  dpkgInstall(root, spec.packages);
  for (const k of spec.moreKernels ?? []) mkdirSync(join(root, 'lib/modules', k), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  for (const tool of ['gcc', 'make']) {
    writeFileSync(join(root, 'usr/bin', tool), '#!/bin/sh\n# STAND-IN: doctor only checks that the image has this program\nexit 1\n');
    chmodSync(join(root, 'usr/bin', tool), 0o755);
  }
  if (spec.running) {
    mkdirSync(join(root, 'sys/kernel'), { recursive: true });
    writeFileSync(join(root, 'sys/kernel/notes'), kernelNotes(spec.running.buildId, spec.running.release));
    mkdirSync(join(root, 'proc/sys/kernel'), { recursive: true });
    writeFileSync(join(root, 'proc/sys/kernel/osrelease'), `${spec.running.release}\n`);
  }
  return root;
}

async function doctor(root: string, o: { kernel?: string; os?: string; offline?: boolean } = {}) {
  const t = makeTestContext({ env: { HOME }, isRoot: true });
  const r = await runDoctor(t.ctx, {
    root,
    ...(o.kernel ? { kernel: o.kernel } : {}),
    ...(o.os ? { os: o.os } : {}),
    offline: o.offline ?? true,
    rewrites: [],
    userAgent: 'kdebuginfo-test',
    groups: ['root'],
  });
  return { r, t };
}

const byId = (r: DoctorResult) => Object.fromEntries(r.checks.map((c) => [c.id, c])) as Record<CheckId, DoctorResult['checks'][number]>;
const failed = (r: DoctorResult) => r.checks.filter((c) => c.status === 'fail').map((c) => c.id);
const normaliseDisk = (text: string) => text.replace(/(Disk space\s+)\S.*$/m, '$1<free space>');

let roots: Record<'ready' | 'otherBuild' | 'headersMissing' | 'image' | 'rebootPending' | 'customKernel' | 'ubuntu', string>;
let pkg: Record<string, string>;

beforeAll(() => {
  const cur = kernelDebs(R, V, { buildId: BUILD_ID });
  const old = kernelDebs(R, V_OLD, { buildId: OLD_BUILD_ID });
  const ubuntu = kernelDebs(UR, UV, { buildId: BUILD_ID, family: 'ubuntu' });
  pkg = {
    image: buildDeb(join(debs, 'cur'), cur.image),
    debuginfo: buildDeb(join(debs, 'cur'), cur.debuginfo),
    headers: buildDeb(join(debs, 'cur'), cur.headers),
    oldDebuginfo: buildDeb(join(debs, 'old'), old.debuginfo),
    oldHeaders: buildDeb(join(debs, 'old'), old.headers),
    ubuntuDebuginfo: buildDeb(join(debs, 'ubuntu'), ubuntu.debuginfo),
    ubuntuHeaders: buildDeb(join(debs, 'ubuntu'), ubuntu.headers),
    // systemtap as Debian 12 ships it (4.8-2); its stap is a stand-in: an image's stap is never run.
    systemtap: buildDeb(join(debs, 'cur'), { name: 'systemtap', version: '4.8-2', files: { '/usr/bin/stap': { executable: '#!/bin/sh\n# STAND-IN: doctor reads the version from dpkg\nexit 1\n' } } }),
  };
  const running = { release: R, buildId: BUILD_ID };
  roots = {
    ready: prepareDebRoot('ready', { packages: [pkg.image, pkg.debuginfo, pkg.headers, pkg.systemtap] as string[], running }),
    otherBuild: prepareDebRoot('other-build', { packages: [pkg.image, pkg.oldDebuginfo, pkg.oldHeaders, pkg.systemtap] as string[], running }),
    headersMissing: prepareDebRoot('headers-missing', { packages: [pkg.image, pkg.debuginfo, pkg.systemtap] as string[], running }),
    image: prepareDebRoot('image', { packages: [pkg.image, pkg.debuginfo, pkg.headers] as string[] }),
    rebootPending: prepareDebRoot('reboot-pending', { packages: [pkg.image, pkg.debuginfo, pkg.headers, pkg.systemtap] as string[], running, moreKernels: [NEWER] }),
    customKernel: prepareDebRoot('custom-kernel', { packages: [], running: { release: '6.18.44-fc-v595', buildId: BUILD_ID } }),
    ubuntu: prepareDebRoot('ubuntu', { osRelease: 'ubuntu-24.04', packages: [pkg.ubuntuDebuginfo, pkg.ubuntuHeaders] as string[] }),
  };
});

describe('doctor on Debian and Ubuntu roots (real dpkg, real .debs)', () => {
  it('ready: the -dbg and headers packages of the running build, the build link, the build-id; no process run', async () => {
    const root = roots.ready;
    const { r, t } = await doctor(root);
    expect(r).toMatchObject({ ready: true, kernel: R, os: { id: 'debian', version: '12', name: 'Debian 12' } });
    expect(doctorExitCode(r)).toBe(0);
    // dpkg's status file is read, not dpkg-query run; apt is not asked for an image root.
    expect(t.commands).toEqual([]);
    expect(t.stderr()).toBe('');
    expect(normaliseDisk(formatDoctor(r))).toBe(
      [
        `kdebuginfo doctor: kernel ${R} on Debian 12 (root ${root})`,
        '',
        '  ok    Supported distro           Debian 12',
        `  ok    Target kernel              ${R} (cloud flavour, amd64), the running kernel`,
        `  ok    SystemTap                  SystemTap 4.8 at ${root}/usr/bin/stap`,
        `  ok    gcc and make               gcc (${root}/usr/bin/gcc), make (${root}/usr/bin/make)`,
        `  ok    linux-headers              linux-headers-${R} ${V} installed`,
        `  ok    Build tree link            ${root}/lib/modules/${R}/build -> ${root}/usr/src/linux-headers-${R} (UTS_RELEASE "${R}")`,
        `  ok    Debug symbols              linux-image-${R}-dbg ${V} installed (${root}/usr/lib/debug/boot/vmlinux-${R})`,
        `  ok    Build-id = running kernel  ${BUILD_ID} in ${root}/usr/lib/debug/boot/vmlinux-${R} and ${root}/sys/kernel/notes`,
        '  ok    Privileges                 running as root',
        '  ok    Lockdown / Secure Boot     no lockdown reported, not booted with EFI',
        '  ok    Container                  not in a container',
        `  ok    SystemTap module cache     no ${root}${HOME}/.systemtap/cache yet`,
        '  ok    Disk space                 <free space>',
        `  ok    Newest kernel running      ${R} is the newest installed cloud-amd64 kernel`,
        '  skip  apt sources                --offline',
        '',
        'Ready.',
        '',
      ].join('\n'),
    );
    expect(byId(r)['disk-space'].detail).toMatch(/free, needs 200\.0 MiB \(200\.0 MiB stap-cache\)$/);
  });

  it('debug package and headers from another build than the installed image: the debuginfo fails, the headers warn, the build-ids differ', async () => {
    const root = roots.otherBuild;
    const { r } = await doctor(root);
    expect(r.ready).toBe(false);
    const c = byId(r);
    expect(c.debuginfo).toEqual({
      id: 'debuginfo',
      title: 'Debug symbols',
      status: 'fail',
      detail: `linux-image-${R}-dbg ${V_OLD} is from another build than the kernel (${V}, the installed linux-image-${R}): its DWARF does not describe this kernel`,
      fix: `chroot ${root} apt-get install linux-image-${R}-dbg=${V} (kdebuginfo install --kernel ${R} --root ${root} pins it)`,
    });
    expect(c.devel).toEqual({
      id: 'devel',
      title: 'linux-headers',
      status: 'warn',
      detail: `linux-headers-${R} ${V_OLD} is installed, but the kernel is build ${V} (the installed linux-image-${R}): the same ABI, so modules compile, but not the same sources`,
      fix: `chroot ${root} apt-get install linux-headers-${R}=${V}`,
    });
    expect(c['build-id']).toMatchObject({
      status: 'fail',
      detail: `the debuginfo is from another build: ${root}/usr/lib/debug/boot/vmlinux-${R} has build-id ${OLD_BUILD_ID}, the running kernel (${root}/sys/kernel/notes) has ${BUILD_ID}`,
      fix: `install linux-image-${R}-dbg from the same build as the running kernel: kdebuginfo install --kernel ${R} pins the running build's version`,
    });
    expect(failed(r)).toEqual(['debuginfo', 'build-id']);
  });

  it('headers missing: the headers check and the build link fail, naming linux-headers-R at the build\'s version', async () => {
    const root = roots.headersMissing;
    const { r } = await doctor(root);
    const c = byId(r);
    expect(c.devel).toMatchObject({
      status: 'fail',
      detail: `linux-headers-${R} is not installed`,
      fix: `kdebuginfo install --kernel ${R} --root ${root} (or chroot ${root} apt-get install linux-headers-${R}=${V})`,
    });
    expect(c['build-link']).toMatchObject({
      status: 'fail',
      detail: `${root}/lib/modules/${R}/build does not exist`,
      fix: `install linux-headers-${R} first (see linux-headers), then: ln -sfn /usr/src/linux-headers-${R} ${root}/lib/modules/${R}/build (the link belongs to the headers package; apt-get install --reinstall linux-headers-${R} restores it)`,
    });
    expect(failed(r)).toEqual(['devel', 'build-link']);
    expect(c['disk-space'].detail).toMatch(/\(100\.0 MiB devel \+ 200\.0 MiB stap-cache\)$/);
  });

  it('an image root (no proc/, no sys/): the one kernel installed there, its image package naming the build', async () => {
    const root = roots.image;
    const { r } = await doctor(root);
    expect(r.kernel).toBe(R);
    const c = byId(r);
    expect(c.kernel.detail).toBe(`${R} (cloud flavour, amd64), in the image root ${root}`);
    expect(c.debuginfo.detail).toBe(`linux-image-${R}-dbg ${V} installed (${root}/usr/lib/debug/boot/vmlinux-${R})`);
    expect(c['build-id'].status).toBe('skip');
    expect(c['reboot-pending'].status).toBe('skip');
    // No systemtap in this image: the one failure, with apt's words for the fix.
    expect(c.stap).toMatchObject({ status: 'fail', detail: `stap is not installed in ${root}`, fix: `chroot ${root} apt-get install systemtap systemtap-runtime` });
    expect(failed(r)).toEqual(['stap']);
  });

  it('a newer kernel of the same flavour installed: the reboot-pending warning names it', async () => {
    const { r } = await doctor(roots.rebootPending);
    expect(byId(r)['reboot-pending']).toMatchObject({
      status: 'warn',
      detail: `kernel ${NEWER} is installed but ${R} is running: a reboot is pending`,
      fix: `after the reboot the probe needs packages for ${NEWER}: kdebuginfo install --kernel ${NEWER} (now, so they are there at boot)`,
    });
    expect(r.ready).toBe(true);
  });

  it('a Debian box running a kernel that is not Debian\'s: the target check fails naming the release and where it came from', async () => {
    const root = roots.customKernel;
    const { r } = await doctor(root);
    expect(r.kernel).toBeNull();
    const c = byId(r);
    expect(c.kernel.status).toBe('fail');
    expect(c.kernel.detail).toBe(
      `kernel release "6.18.44-fc-v595" does not end in a Debian flavour kdebuginfo knows ("fc-v595"; a Debian flavour ends in its architecture: amd64, cloud-amd64, rt-amd64, arm64, 686-pae, ...) (from ${root}/proc/sys/kernel/osrelease)`,
    );
    expect(c.kernel.fix).toBe('pass --kernel R (a uname -r string of a Debian or Ubuntu kernel)');
    expect(c.devel).toMatchObject({ title: 'linux-headers', status: 'skip' });
  });

  it('Ubuntu 24.04: the -dbgsym package of a signed kernel (linux-image-unsigned-R-dbgsym) counts as the debug symbols', async () => {
    const root = roots.ubuntu;
    const { r } = await doctor(root, { kernel: UR });
    expect(r).toMatchObject({ kernel: UR, os: { id: 'ubuntu', version: '24.04', name: 'Ubuntu 24.04' } });
    const c = byId(r);
    expect(c.distro).toMatchObject({ status: 'pass', detail: 'Ubuntu 24.04' });
    expect(c.debuginfo).toMatchObject({ status: 'pass', detail: `linux-image-unsigned-${UR}-dbgsym ${UV} installed (${root}/usr/lib/debug/boot/vmlinux-${UR})` });
    expect(c.devel).toMatchObject({ status: 'pass', detail: `linux-headers-${UR} ${UV} installed` });
    expect(c['build-link'].status).toBe('pass');
  });

  it('the status file dpkg wrote parses to exactly what was installed', () => {
    const text = readFileSync(join(roots.ready, 'var/lib/dpkg/status'), 'utf8');
    expect(parseDpkgStatus(text).map((p) => `${p.name} ${p.version} ${p.arch}`).sort()).toEqual([
      `linux-headers-${R} ${V} amd64`,
      `linux-image-${R} ${V} amd64`,
      `linux-image-${R}-dbg ${V} amd64`,
      'systemtap 4.8-2 amd64',
    ]);
  });

  it('the CLI: doctor --root --json is one document, exit 0 when ready and 1 when not', async () => {
    const ok = await runCli(['doctor', '--root', roots.ready, '--offline', '--json'], { isRoot: true, env: { HOME } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json()).toMatchObject({ ready: true, kernel: R, os: { id: 'debian' }, counts: { fail: 0 } });
    const bad = await runCli(['doctor', '--root', roots.headersMissing, '--offline', '--json'], { isRoot: true, env: { HOME } });
    expect(bad.code).toBe(1);
    const out = bad.json();
    expect(out.ready).toBe(false);
    expect(out.checks.filter((c: { status: string }) => c.status === 'fail').map((c: { id: string }) => c.id)).toEqual(['devel', 'build-link']);
  });
});

// This machine's real apt and dpkg (read-only: apt-cache reads the lists; nothing is installed).
const realApt = hasTool('apt-cache') && /^ID=debian$/m.test(readFileSync('/etc/os-release', 'utf8')) && /^VERSION_ID="?12"?$/m.test(readFileSync('/etc/os-release', 'utf8'));
describe.skipIf(!realApt)('doctor against this machine\'s real apt (read-only)', () => {
  it('--kernel <the archive\'s current cloud kernel>: the apt sources check finds both packages at one version', async () => {
    const deps = spawnSync('apt-cache', ['depends', 'linux-image-cloud-amd64'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).stdout;
    const release = /Depends: linux-image-(\d\S*-cloud-amd64)$/m.exec(deps)?.[1];
    expect(release, deps).toBeDefined();
    const t = makeTestContext({ env: { HOME }, isRoot: true });
    const r = await runDoctor(t.ctx, { kernel: release, offline: false, rewrites: [], userAgent: 'kdebuginfo-test', groups: ['root'] });
    expect(r).toMatchObject({ kernel: release, os: { id: 'debian', version: '12' } });
    const c = byId(r);
    expect(c.distro).toMatchObject({ status: 'pass', detail: 'Debian 12' });
    expect(c.mirrors.status, c.mirrors.detail).toBe('pass');
    const offered = new RegExp(`^apt offers linux-image-${release}-dbg (\\S+) and linux-headers-${release} (\\S+)$`).exec(c.mirrors.detail);
    expect(offered, c.mirrors.detail).not.toBeNull();
    expect(offered?.[1]).toBe(offered?.[2]);
    // The one process doctor ran for apt: apt-cache policy of the target's package names.
    expect(t.commands.filter((l) => l.startsWith('$ apt-cache'))).toEqual([
      `$ apt-cache policy linux-image-${release}-dbg linux-headers-${release} linux-image-${release} linux-image-${release}-unsigned`,
    ]);
  });
});
