/**
 * doctor's Debian/Ubuntu verdicts (src/core/doctor-deb.ts) from hand-written facts: one fact
 * changed per test from a ready Debian 12 box running 6.1.0-56-cloud-amd64 (build 6.1.192-2,
 * the versions and sources apt showed on this machine: fixtures/captured/apt/policy-kernel.txt).
 */
import { describe, expect, it } from 'vitest';
import { evaluateDoctor, isReady, type CheckId, type DebDoctorTarget, type DoctorFacts } from '../../src/core/doctor.js';
import { debImagePackages, debOsInfo, debPackagesFor, parseDebKernelRelease, parseDpkgStatus, runningBuildVersion } from '../../src/core/debian.js';
import { readCaptured } from '../support/captured-output.js';

const R = '6.1.0-56-cloud-amd64';
const V = '6.1.192-2';
const ID = '120444bfab808ef5e2290cc8e0f2cb5c2950589a';
const GiB = 1024 ** 3;
const SECURITY = 'http://deb.debian.org/debian-security bookworm-security/main amd64 Packages';

function target(uname = R, family: 'debian' | 'ubuntu' = 'debian', change: Partial<DebDoctorTarget> = {}): DebDoctorTarget {
  const kernel = parseDebKernelRelease(uname, family);
  return {
    packaging: 'deb',
    kernel,
    os: family === 'debian' ? debOsInfo('debian', '12') : debOsInfo('ubuntu', '24.04'),
    arch: 'amd64',
    notes: [],
    packages: debPackagesFor(kernel),
    images: debImagePackages(kernel),
    runningBuild: V,
    aptIsTarget: true,
    ...change,
  };
}

function readyFacts(change: (f: DoctorFacts) => void = () => {}): DoctorFacts {
  const t = target();
  const os = t.os;
  const f: DoctorFacts = {
    root: '/',
    isLiveSystem: true,
    osRelease: { path: '/etc/os-release', text: 'ID=debian\nVERSION_ID="12"\n' },
    hostOs: { ok: true, os },
    target: t,
    targetError: undefined,
    running: { release: R, releaseSource: 'uname -r', buildId: ID, notesPath: '/sys/kernel/notes', notesProblem: undefined },
    user: { isRoot: true, groups: ['root'] },
    stap: { path: '/usr/bin/stap', version: '5.2', testedKernels: { min: '3.10', max: '6.12' }, versionSource: 'stap -V' },
    gcc: '/usr/bin/gcc',
    make: '/usr/bin/make',
    rpm: { ok: false, problem: 'not queried: a Debian/Ubuntu target' },
    dpkg: {
      ok: true,
      packages: [
        { name: `linux-image-${R}`, version: V, arch: 'amd64' },
        { name: `linux-image-${R}-dbg`, version: V, arch: 'amd64' },
        { name: `linux-headers-${R}`, version: V, arch: 'amd64' },
        { name: 'systemtap', version: '5.2-1', arch: 'amd64' },
      ],
    },
    apt: {
      ok: true,
      offers: [
        { name: `linux-image-${R}-dbg`, versions: [V], sources: [SECURITY] },
        { name: `linux-headers-${R}`, versions: [V], sources: [SECURITY] },
        { name: `linux-image-${R}`, versions: [V], sources: [SECURITY] },
      ],
    },
    devel: {
      treeDir: `/usr/src/linux-headers-${R}`,
      treeExists: true,
      linkPath: `/lib/modules/${R}/build`,
      link: 'symlink',
      linkTarget: `/usr/src/linux-headers-${R}`,
      resolvedDir: `/usr/src/linux-headers-${R}`,
      utsRelease: R,
      utsProblem: undefined,
    },
    debuginfo: { vmlinuxPath: `/usr/lib/debug/boot/vmlinux-${R}`, exists: true, buildId: ID, problem: undefined },
    security: { lockdown: 'none', lockdownPath: '/sys/kernel/security/lockdown', efi: false, secureBoot: undefined, sigEnforce: undefined },
    container: { kind: undefined, evidence: [] },
    cache: { dir: '/root/.systemtap/cache', exists: false, modules: [], kernelTimeMs: undefined },
    disk: [
      { purpose: 'debuginfo', path: '/usr/lib/debug', device: 1, freeBytes: 50 * GiB },
      { purpose: 'devel', path: '/usr/src', device: 1, freeBytes: 50 * GiB },
      { purpose: 'downloads', path: '/var/cache/kdebuginfo', device: 1, freeBytes: 50 * GiB },
      { purpose: 'stap-cache', path: '/root/.systemtap/cache', device: 1, freeBytes: 50 * GiB },
    ],
    installedKernels: [R],
    mirrors: undefined,
    offline: false,
  };
  change(f);
  return f;
}

const check = (f: DoctorFacts, id: CheckId) => evaluateDoctor(f).find((c) => c.id === id) as ReturnType<typeof evaluateDoctor>[number];
const dpkgWithout = (f: DoctorFacts, name: string) => {
  if (f.dpkg?.ok) f.dpkg.packages = f.dpkg.packages.filter((p) => p.name !== name);
};

describe('Debian and Ubuntu package checks', () => {
  it('a ready box: every check passes, with apt\'s words in the titles', () => {
    const checks = evaluateDoctor(readyFacts());
    expect(isReady(checks)).toBe(true);
    expect(checks.filter((c) => c.status !== 'pass').map((c) => c.id)).toEqual([]);
    expect(checks.find((c) => c.id === 'devel')).toMatchObject({ title: 'linux-headers', detail: `linux-headers-${R} ${V} installed` });
    expect(checks.find((c) => c.id === 'debuginfo')).toMatchObject({ title: 'Debug symbols', detail: `linux-image-${R}-dbg ${V} installed (/usr/lib/debug/boot/vmlinux-${R})` });
    expect(checks.find((c) => c.id === 'mirrors')).toMatchObject({ title: 'apt sources', detail: `apt offers linux-image-${R}-dbg ${V} and linux-headers-${R} ${V}` });
  });

  it('the running build (uname -v) decides, not the installed image: a -dbg of another upload fails', () => {
    const f = readyFacts((x) => {
      (x.target as DebDoctorTarget).runningBuild = '6.1.192-3';
    });
    expect(check(f, 'debuginfo')).toMatchObject({
      status: 'fail',
      detail: `linux-image-${R}-dbg ${V} is from another build than the kernel (6.1.192-3, the running kernel, uname -v): its DWARF does not describe this kernel`,
      fix: `apt-get install linux-image-${R}-dbg=6.1.192-3 (kdebuginfo install --kernel ${R} pins it)`,
    });
  });

  it('the debug package missing: the fix names kdebuginfo and the pinned apt-get line; disk space counts it', () => {
    const f = readyFacts((x) => dpkgWithout(x, `linux-image-${R}-dbg`));
    expect(check(f, 'debuginfo')).toMatchObject({
      status: 'fail',
      detail: `linux-image-${R}-dbg is not installed`,
      fix: `kdebuginfo install --kernel ${R} (or apt-get install linux-image-${R}-dbg=${V})`,
    });
    expect(check(f, 'disk-space').detail).toContain('4.0 GiB debuginfo + 1.0 GiB downloads');
  });

  it('installed but the vmlinux is gone: reinstall it', () => {
    const f = readyFacts((x) => {
      x.debuginfo = { vmlinuxPath: `/usr/lib/debug/boot/vmlinux-${R}`, exists: false, buildId: undefined, problem: undefined };
    });
    expect(check(f, 'debuginfo')).toMatchObject({ status: 'fail', fix: `reinstall it: apt-get install --reinstall linux-image-${R}-dbg` });
  });

  it('dpkg\'s status unreadable: a failure naming the file problem, or a warning when the files are there anyway', () => {
    const f = readyFacts((x) => {
      x.dpkg = { ok: false, problem: 'cannot read /var/lib/dpkg/status: EACCES' };
    });
    expect(check(f, 'debuginfo')).toMatchObject({ status: 'warn', detail: `/usr/lib/debug/boot/vmlinux-${R} exists, but dpkg's status could not be read (cannot read /var/lib/dpkg/status: EACCES)` });
    expect(check(f, 'devel').status).toBe('warn');
  });

  it('SystemTap older than the kernel: Debian\'s ABI release (6.1.0-56) hides Linux 6.1.192, the build version says it', () => {
    const f = readyFacts((x) => {
      x.stap = { path: '/usr/bin/stap', version: '4.8', testedKernels: { min: '2.6.32', max: '6.1.0-rc3' }, versionSource: 'stap -V' };
    });
    expect(check(f, 'stap')).toMatchObject({
      status: 'warn',
      detail: `SystemTap 4.8 at /usr/bin/stap (tested with kernels 2.6.32 ... 6.1.0-rc3); kernel ${R} (Linux 6.1.192) is newer than any it was tested with, so pass 4 may fail inside SystemTap's own runtime`,
      fix: 'upgrade systemtap and systemtap-runtime from 4.8 to a release that supports Linux 6.1.192',
    });
  });

  it('apt sources: offline skipped, another release skipped, the build missing from apt a warning', () => {
    expect(check(readyFacts((x) => (x.offline = true)), 'mirrors')).toMatchObject({ status: 'skip', detail: '--offline' });
    expect(check(readyFacts((x) => ((x.target as DebDoctorTarget).aptIsTarget = false)), 'mirrors')).toMatchObject({
      status: 'skip',
      detail: 'apt on this machine does not serve Debian 12: run doctor on the target itself',
    });
    const moved = readyFacts((x) => {
      x.apt = {
        ok: true,
        offers: [
          { name: `linux-image-${R}-dbg`, versions: ['6.1.199-1'], sources: [SECURITY] },
          { name: `linux-headers-${R}`, versions: ['6.1.199-1'], sources: [SECURITY] },
        ],
      };
    });
    expect(check(moved, 'mirrors')).toMatchObject({
      status: 'warn',
      detail: `apt offers linux-image-${R}-dbg only at 6.1.199-1, not build ${V}; apt offers linux-headers-${R} only at 6.1.199-1, not build ${V}`,
      fix: 'apt-get update; builds that have left the archive are on snapshot.debian.org',
    });
  });

  it('apt sources: an ABI that has left the archive, and apt-cache failing, each say so', () => {
    const gone = readyFacts((x) => {
      x.apt = { ok: true, offers: [{ name: `linux-image-${R}-dbg`, versions: [], sources: [] }, { name: `linux-headers-${R}`, versions: [V], sources: [SECURITY] }] };
    });
    expect(check(gone, 'mirrors')).toMatchObject({ status: 'warn', detail: `apt's sources no longer offer linux-image-${R}-dbg (only the installed copy)` });
    const broken = readyFacts((x) => {
      x.apt = { ok: false, problem: 'apt-cache policy exited with 100: E: The package lists or status file could not be parsed or opened.' };
    });
    expect(check(broken, 'mirrors')).toMatchObject({
      status: 'warn',
      detail: 'apt-cache policy failed: apt-cache policy exited with 100: E: The package lists or status file could not be parsed or opened.',
    });
  });

  it('an Ubuntu HWE kernel: the build from /proc/version_signature keeps its ~22.04.N, which is the package version', () => {
    const HR = '6.8.0-40-generic';
    const HV = '6.8.0-40.40~22.04.3';
    const f = readyFacts((x) => {
      const t = target(HR, 'ubuntu', { runningBuild: runningBuildVersion('ubuntu', { versionSignature: `Ubuntu ${HV}-generic 6.8.12` }), os: debOsInfo('ubuntu', '22.04') });
      x.target = t;
      x.hostOs = { ok: true, os: t.os };
      x.running.release = HR;
      x.installedKernels = [HR];
      x.dpkg = {
        ok: true,
        packages: [
          { name: `linux-image-${HR}`, version: HV, arch: 'amd64' },
          { name: `linux-image-unsigned-${HR}-dbgsym`, version: HV, arch: 'amd64' },
          { name: `linux-headers-${HR}`, version: HV, arch: 'amd64' },
        ],
      };
      x.apt = { ok: true, offers: [{ name: `linux-image-unsigned-${HR}-dbgsym`, versions: [HV], sources: [] }, { name: `linux-headers-${HR}`, versions: [HV], sources: [] }] };
      x.debuginfo = { vmlinuxPath: `/usr/lib/debug/boot/vmlinux-${HR}`, exists: true, buildId: ID, problem: undefined };
    });
    expect(check(f, 'debuginfo')).toMatchObject({ status: 'pass', detail: `linux-image-unsigned-${HR}-dbgsym ${HV} installed (/usr/lib/debug/boot/vmlinux-${HR})` });
    expect(check(f, 'devel')).toMatchObject({ status: 'pass' });
    expect(check(f, 'mirrors')).toMatchObject({ status: 'pass' });
  });

  it('Ubuntu without the ddebs source: apt knows no -dbgsym package, and the fix says where they are', () => {
    const UR = '6.8.0-45-generic';
    const f = readyFacts((x) => {
      x.target = target(UR, 'ubuntu', { runningBuild: '6.8.0-45.45' });
      x.hostOs = { ok: true, os: x.target.os };
      x.running.release = UR;
      x.installedKernels = [UR];
      x.dpkg = { ok: true, packages: [{ name: `linux-headers-${UR}`, version: '6.8.0-45.45', arch: 'amd64' }] };
      x.apt = { ok: true, offers: [{ name: `linux-headers-${UR}`, versions: ['6.8.0-45.45'], sources: ['http://archive.ubuntu.com/ubuntu noble-updates/main amd64 Packages'] }] };
    });
    expect(check(f, 'mirrors')).toMatchObject({
      status: 'warn',
      detail: `apt knows no linux-image-unsigned-${UR}-dbgsym or linux-image-${UR}-dbgsym`,
      fix: "Ubuntu's debug symbols are in the ddebs archive: kdebuginfo install adds /etc/apt/sources.list.d/kdebuginfo-ddebs.list (http://ddebs.ubuntu.com, keyring ubuntu-dbgsym-keyring); then apt-get update",
    });
    expect(check(f, 'debuginfo')).toMatchObject({
      status: 'fail',
      detail: `linux-image-unsigned-${UR}-dbgsym is not installed`,
      fix: `kdebuginfo install --kernel ${UR} (it adds Ubuntu's debug symbol archive, http://ddebs.ubuntu.com, to apt if missing; or apt-get install linux-image-unsigned-${UR}-dbgsym=6.8.0-45.45)`,
    });
  });

  it('a Debian box whose kernel kdebuginfo cannot read still gets apt\'s words', () => {
    const f = readyFacts((x) => {
      x.target = undefined;
      x.targetError = 'the running kernel 6.18.44-fc-v595 is not a Debian 12 kernel release kdebuginfo knows';
      x.gcc = undefined;
    });
    expect(check(f, 'kernel').fix).toBe('pass --kernel R (a uname -r string of a Debian or Ubuntu kernel)');
    expect(check(f, 'compiler').fix).toBe('apt-get install gcc');
    expect(check(f, 'devel').title).toBe('linux-headers');
  });
});

describe('parseDpkgStatus', () => {
  it('reads the real status records of the installed -dbg, headers and systemtap packages (dpkg-query -s, Debian 12)', () => {
    const text = readCaptured('apt', 'dpkg-status-kernel').stdout;
    expect(parseDpkgStatus(text)).toEqual([
      { name: `linux-image-${R}-dbg`, version: V, arch: 'amd64' },
      { name: `linux-headers-${R}`, version: V, arch: 'amd64' },
      { name: 'systemtap', version: '4.8-2', arch: 'amd64' },
    ]);
    expect(parseDpkgStatus(text, new Set([`linux-headers-${R}`])).map((p) => p.name)).toEqual([`linux-headers-${R}`]);
  });

  it('keeps installed stanzas only, and only the wanted names when asked', () => {
    const text = [
      'Package: systemtap\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: 4.8-2\nDescription: x\n continued line',
      'Package: linux-image-6.1.0-55-cloud-amd64\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 6.1.187-1',
      'Package: linux-headers-6.1.0-56-common\nStatus: install ok half-configured\nArchitecture: all\nVersion: 6.1.192-2',
      'Package: make\nStatus: install ok installed\nArchitecture: amd64\nVersion: 4.3-4.1',
    ].join('\n\n');
    expect(parseDpkgStatus(text)).toEqual([
      { name: 'systemtap', version: '4.8-2', arch: 'amd64' },
      { name: 'make', version: '4.3-4.1', arch: 'amd64' },
    ]);
    expect(parseDpkgStatus(text, new Set(['make']))).toEqual([{ name: 'make', version: '4.3-4.1', arch: 'amd64' }]);
  });
});
