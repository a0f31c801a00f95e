import { describe, expect, it } from 'vitest';
import {
  DISK_NEEDS,
  DOCTOR_CHECKS,
  containerFromCgroup,
  evaluateDoctor,
  isReady,
  parseLockdown,
  parseSecureBootVar,
  parseUtsRelease,
  parseVermagic,
  type CheckId,
  type DoctorFacts,
  type InstalledRpm,
} from '../../src/core/doctor.js';
import { parseKernelRelease } from '../../src/core/kernel-release.js';
import { osInfo } from '../../src/core/os-release.js';
import { packagesFor } from '../../src/core/package-naming.js';

const K = '5.14.0-362.el9.x86_64';
const ID = '120444bfab808ef5e2290cc8e0f2cb5c2950589a';
const GiB = 1024 ** 3;

function rpm(nvra: string, requires: string[] = []): InstalledRpm {
  const m = /^(.+)-([^-]+)-([^-]+)\.([^.]+)$/.exec(nvra) as RegExpExecArray;
  return { name: m[1] as string, version: m[2] as string, release: m[3] as string, arch: m[4] as string, requires };
}

/** Facts of a ready CentOS Stream 9 host running K, everything installed; each test changes one thing. */
function readyFacts(change: (f: DoctorFacts) => void = () => {}): DoctorFacts {
  const kernel = parseKernelRelease(K);
  const os = osInfo('centos-stream', 9);
  const f: DoctorFacts = {
    root: '/',
    isLiveSystem: true,
    osRelease: { path: '/etc/os-release', text: 'ID="centos"\nNAME="CentOS Stream"\nVERSION_ID="9"\n' },
    hostOs: { ok: true, os },
    target: { kernel, os, notes: [], packages: packagesFor(kernel) },
    targetError: undefined,
    running: { release: K, releaseSource: 'uname -r', buildId: ID, notesPath: '/sys/kernel/notes', notesProblem: undefined },
    user: { isRoot: true, groups: ['root'] },
    stap: { path: '/usr/bin/stap', version: '5.0', testedKernels: { min: '2.6.32', max: '6.6.0-rc2' }, versionSource: 'stap -V' },
    gcc: '/usr/bin/gcc',
    make: '/usr/bin/make',
    rpm: {
      ok: true,
      packages: [
        rpm(`kernel-devel-5.14.0-362.el9.x86_64`),
        rpm(`kernel-debuginfo-5.14.0-362.el9.x86_64`, ['kernel-debuginfo-common-x86_64 = 5.14.0-362.el9', 'rpmlib(FileDigests) <= 4.6.0-1']),
        rpm(`kernel-debuginfo-common-x86_64-5.14.0-362.el9.x86_64`),
        rpm('systemtap-5.0-4.el9.x86_64'),
      ],
    },
    devel: {
      treeDir: `/usr/src/kernels/${K}`,
      treeExists: true,
      linkPath: `/lib/modules/${K}/build`,
      link: 'symlink',
      linkTarget: `/usr/src/kernels/${K}`,
      resolvedDir: `/usr/src/kernels/${K}`,
      utsRelease: K,
      utsProblem: undefined,
    },
    debuginfo: { vmlinuxPath: `/usr/lib/debug/lib/modules/${K}/vmlinux`, exists: true, buildId: ID, problem: undefined },
    security: { lockdown: 'none', lockdownPath: '/sys/kernel/security/lockdown', efi: true, secureBoot: false, sigEnforce: false },
    container: { kind: undefined, evidence: [] },
    cache: { dir: '/root/.systemtap/cache', exists: false, modules: [], kernelTimeMs: Date.parse('2024-06-01T00:00:00Z') },
    disk: [
      { purpose: 'debuginfo', path: '/usr/lib/debug', device: 1, freeBytes: 50 * GiB },
      { purpose: 'devel', path: '/usr/src/kernels', device: 1, freeBytes: 50 * GiB },
      { purpose: 'downloads', path: '/var/cache/kdebuginfo', device: 1, freeBytes: 50 * GiB },
      { purpose: 'stap-cache', path: '/root/.systemtap/cache', device: 1, freeBytes: 50 * GiB },
    ],
    installedKernels: [K],
    mirrors: undefined,
  };
  change(f);
  return f;
}

const check = (f: DoctorFacts, id: CheckId) => {
  const c = evaluateDoctor(f).find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}`);
  return c;
};

describe('the checklist', () => {
  it('is a table: unique ids, in the printed order, every one with a title', () => {
    const ids = DOCTOR_CHECKS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(['distro', 'kernel', 'stap', 'compiler', 'devel', 'build-link', 'debuginfo', 'build-id', 'privileges', 'lockdown', 'container', 'stale-cache', 'disk-space', 'reboot-pending', 'mirrors']);
    expect(DOCTOR_CHECKS.every((c) => c.title.length > 0)).toBe(true);
  });

  it('a ready host: everything passes except the skipped mirror check; pass and skip carry no fix', () => {
    const checks = evaluateDoctor(readyFacts());
    expect(checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}:${c.status}`)).toEqual(['mirrors:skip']);
    expect(checks.every((c) => c.fix === null)).toBe(true);
    expect(isReady(checks)).toBe(true);
  });

  it('ready means nothing failed: warnings are allowed', () => {
    const warnOnly = evaluateDoctor(readyFacts((f) => (f.container = { kind: 'podman', evidence: ['/run/.containerenv'] })));
    expect(warnOnly.find((c) => c.id === 'container')?.status).toBe('warn');
    expect(isReady(warnOnly)).toBe(true);
    expect(isReady(evaluateDoctor(readyFacts((f) => (f.gcc = undefined))))).toBe(false);
  });
});

describe('distro', () => {
  it('an unsupported host fails, naming the file; RHEL warns that it has no public debuginfo', () => {
    const debian = readyFacts((f) => {
      f.hostOs = { ok: false, problem: '/etc/os-release: ID=debian (Debian GNU/Linux 12 (bookworm)) is not a distribution kdebuginfo supports' };
      f.target = undefined;
    });
    expect(check(debian, 'distro')).toMatchObject({ status: 'fail', detail: '/etc/os-release: ID=debian (Debian GNU/Linux 12 (bookworm)) is not a distribution kdebuginfo supports' });
    const rhel = readyFacts((f) => {
      f.hostOs = { ok: true, os: osInfo('rhel', 9) };
      f.target!.os = osInfo('rhel', 9);
    });
    expect(check(rhel, 'distro').status).toBe('warn');
    expect(check(rhel, 'distro').fix).toMatch(/dnf debuginfo-install/);
  });

  it('a kernel of another distro than the host\'s warns', () => {
    const f = readyFacts((x) => (x.hostOs = { ok: true, os: osInfo('rocky', 9) }));
    expect(check(f, 'distro')).toMatchObject({ status: 'warn', detail: 'this box is Rocky Linux 9 but the packages are planned for CentOS Stream 9' });
  });
});

describe('stap and the compiler', () => {
  it('a kernel newer than SystemTap was tested with: a warning naming both versions and what to upgrade', () => {
    const f = readyFacts((x) => (x.stap = { ...x.stap, version: '4.8', testedKernels: { min: '2.6.32', max: '6.1.0-rc3' } }));
    f.target!.kernel = parseKernelRelease('6.5.6-300.fc39.x86_64');
    f.target!.packages = packagesFor(f.target!.kernel);
    expect(check(f, 'stap')).toMatchObject({
      status: 'warn',
      detail: "SystemTap 4.8 at /usr/bin/stap (tested with kernels 2.6.32 ... 6.1.0-rc3); kernel 6.5.6-300.fc39.x86_64 is newer than any it was tested with, so pass 4 may fail inside SystemTap's own runtime",
      fix: 'upgrade systemtap, systemtap-runtime and systemtap-devel from 4.8 to a release that supports Linux 6.5.6',
    });
    // 5.14 is inside 4.8's tested range: fine.
    const ok = readyFacts((x) => (x.stap = { ...x.stap, version: '4.8', testedKernels: { min: '2.6.32', max: '6.1.0-rc3' } }));
    expect(check(ok, 'stap')).toMatchObject({ status: 'pass', detail: 'SystemTap 4.8 at /usr/bin/stap (tested with kernels 2.6.32 ... 6.1.0-rc3)' });
  });

  it('no stap, no gcc: failures whose fix installs them (into the image root under --root)', () => {
    const f = readyFacts((x) => {
      x.stap = { path: undefined, version: undefined, testedKernels: undefined, versionSource: undefined };
      x.gcc = undefined;
    });
    expect(check(f, 'stap')).toMatchObject({ status: 'fail', detail: 'stap is not installed (not on PATH)', fix: 'dnf install systemtap systemtap-runtime' });
    expect(check(f, 'compiler')).toMatchObject({ status: 'fail', detail: 'gcc is missing: SystemTap compiles its probe module with them (pass 4)', fix: 'dnf install gcc' });
    const img = readyFacts((x) => {
      x.root = '/srv/img';
      x.make = undefined;
      x.gcc = undefined;
    });
    expect(check(img, 'compiler').fix).toBe('dnf --installroot /srv/img install gcc make');
  });
});

describe('packages', () => {
  it('takes the common package from the installed debuginfo\'s Requires, not the naming rule', () => {
    const f = readyFacts((x) => {
      if (!x.rpm.ok) return;
      x.rpm.packages = x.rpm.packages
        .filter((p) => !p.name.startsWith('kernel-debuginfo'))
        .concat([rpm(`kernel-debuginfo-5.14.0-362.el9.x86_64`, ['kernel-debuginfo-common-x86_64-alt = 5.14.0-362.el9']), rpm('kernel-debuginfo-common-x86_64-alt-5.14.0-362.el9.x86_64')]);
    });
    expect(check(f, 'debuginfo')).toMatchObject({ status: 'pass', detail: `kernel-debuginfo-${K}, kernel-debuginfo-common-x86_64-alt-${K} installed` });
  });

  it('an installed package whose files are gone fails with a reinstall', () => {
    const f = readyFacts((x) => (x.debuginfo = { ...x.debuginfo!, exists: false, buildId: undefined }));
    expect(check(f, 'debuginfo')).toMatchObject({ status: 'fail', fix: `reinstall kernel-debuginfo-${K}` });
    expect(check(f, 'build-id')).toMatchObject({ status: 'skip', detail: 'no debuginfo vmlinux to compare (see kernel-debuginfo)' });
  });

  it('without a readable rpm database, the files decide, as warnings', () => {
    const f = readyFacts((x) => (x.rpm = { ok: false, problem: 'rpm: command not found' }));
    expect(check(f, 'devel')).toMatchObject({ status: 'warn', detail: `/usr/src/kernels/${K} exists, but the rpm database could not be read (rpm: command not found)` });
    expect(check(f, 'debuginfo').status).toBe('warn');
  });

  it('a build link that is a directory, or leads to a tree with no utsrelease.h', () => {
    const dir = readyFacts((x) => (x.devel = { ...x.devel!, link: 'directory', linkTarget: undefined, resolvedDir: `/lib/modules/${K}/build` }));
    expect(check(dir, 'build-link')).toMatchObject({ status: 'pass', detail: `/lib/modules/${K}/build (a directory, not a link) (UTS_RELEASE "${K}")` });
    const bare = readyFacts((x) => (x.devel = { ...x.devel!, utsRelease: undefined, utsProblem: 'no /usr/src/kernels/x/include/generated/utsrelease.h' }));
    expect(check(bare, 'build-link')).toMatchObject({ status: 'fail', detail: `/lib/modules/${K}/build -> /usr/src/kernels/${K}: not a configured kernel tree (no /usr/src/kernels/x/include/generated/utsrelease.h)` });
  });
});

describe('build-id', () => {
  it('compares only for the running kernel, and says why it skipped', () => {
    const other = readyFacts((x) => (x.running.release = '5.14.0-360.el9.x86_64'));
    expect(check(other, 'build-id')).toMatchObject({ status: 'skip', detail: `${K} is not the running kernel (5.14.0-360.el9.x86_64): only the running kernel's build-id can be read` });
    expect(check(other, 'kernel').detail).toBe(
      `${K} (default flavour, x86_64); not the running kernel (5.14.0-360.el9.x86_64): only compile-time verification is possible (kdebuginfo verify --level compile)`,
    );
    const noSysfs = readyFacts((x) => {
      x.running.buildId = undefined;
      x.running.notesProblem = '/sys/kernel/notes does not exist (no sysfs here?)';
    });
    expect(check(noSysfs, 'build-id')).toMatchObject({ status: 'skip', detail: "the running kernel's build-id is unknown: /sys/kernel/notes does not exist (no sysfs here?)" });
  });
});

describe('lockdown and Secure Boot', () => {
  it.each([
    [{ lockdown: 'integrity' }, 'fail'],
    [{ lockdown: 'confidentiality' }, 'fail'],
    [{ sigEnforce: true }, 'fail'],
    [{ secureBoot: true }, 'warn'],
    [{}, 'pass'],
  ] as const)('%o -> %s', (change, status) => {
    const f = readyFacts((x) => Object.assign(x.security, change));
    expect(check(f, 'lockdown').status).toBe(status);
    if (status !== 'pass') expect(check(f, 'lockdown').fix).toMatch(/Machine Owner Key/);
  });

  it('says what it found when nothing blocks', () => {
    expect(check(readyFacts(), 'lockdown').detail).toBe('lockdown "none", Secure Boot off');
    expect(check(readyFacts((x) => (x.security = { ...x.security, lockdown: undefined, efi: false, secureBoot: undefined })), 'lockdown').detail).toBe(
      'no lockdown reported, not booted with EFI',
    );
  });
});

describe('module cache', () => {
  const kernelTime = Date.parse('2024-06-01T00:00:00Z');
  const mod = (name: string, release: string | undefined, mtime: string) => ({ path: `/root/.systemtap/cache/ab/${name}`, release, mtimeMs: Date.parse(mtime) });

  it('modules for this kernel compiled after it: fine', () => {
    const f = readyFacts((x) => (x.cache = { dir: '/root/.systemtap/cache', exists: true, kernelTimeMs: kernelTime, modules: [mod('stap_a.ko', K, '2025-01-01')] }));
    expect(check(f, 'stale-cache')).toMatchObject({ status: 'pass', detail: '/root/.systemtap/cache: 1 compiled module(s), none stale' });
  });

  it('modules for other kernels, and ones older than this kernel: a warning offering to clear', () => {
    const f = readyFacts(
      (x) =>
        (x.cache = {
          dir: '/root/.systemtap/cache',
          exists: true,
          kernelTimeMs: kernelTime,
          modules: [mod('stap_a.ko', '5.14.0-284.el9.x86_64', '2025-01-01'), mod('stap_b.ko', '5.14.0-284.el9.x86_64', '2023-01-01'), mod('stap_c.ko', K, '2023-05-01')],
        }),
    );
    expect(check(f, 'stale-cache')).toMatchObject({
      status: 'warn',
      detail: `/root/.systemtap/cache: 2 built for other kernels (5.14.0-284.el9.x86_64); 1 compiled before kernel ${K} was built; a stale module gives "module version mismatch" at load time`,
      fix: 'rm -rf /root/.systemtap/cache (stap compiles again on the next run)',
    });
  });
});

describe('disk space', () => {
  it('counts only what is missing, per filesystem, and fails with the numbers when short', () => {
    const f = readyFacts((x) => {
      if (x.rpm.ok) x.rpm.packages = x.rpm.packages.filter((p) => !p.name.startsWith('kernel-debuginfo'));
      x.disk = [
        { purpose: 'debuginfo', path: '/usr/lib/debug', device: 1, freeBytes: 3 * GiB },
        { purpose: 'devel', path: '/usr/src/kernels', device: 1, freeBytes: 3 * GiB },
        { purpose: 'downloads', path: '/var/cache/kdebuginfo', device: 2, freeBytes: 10 * GiB },
        { purpose: 'stap-cache', path: '/root/.systemtap/cache', device: 1, freeBytes: 3 * GiB },
      ];
    });
    expect(check(f, 'disk-space')).toMatchObject({
      status: 'fail',
      detail: '/usr/lib/debug: 3.0 GiB free, needs 4.2 GiB (4.0 GiB debuginfo + 200.0 MiB stap-cache)',
      fix: 'free some space, or put the download cache elsewhere with --cache-dir DIR',
    });
    expect(DISK_NEEDS.debuginfo).toBe(4 * GiB);
  });
});

describe('reboot pending', () => {
  it('a newer kernel of the same flavour installed: warn, and name the packages to get now', () => {
    const f = readyFacts((x) => (x.installedKernels = [K, '5.14.0-427.el9.x86_64', '5.14.0-500.el9.x86_64+debug', 'extramodules']));
    expect(check(f, 'reboot-pending')).toMatchObject({ status: 'warn', detail: `kernel 5.14.0-427.el9.x86_64 is installed but ${K} is running: a reboot is pending` });
  });

  it('an older kernel beside it, or only a debug kernel newer: nothing pending', () => {
    const f = readyFacts((x) => (x.installedKernels = ['5.14.0-284.el9.x86_64', K, '5.14.0-500.el9.x86_64+debug']));
    expect(check(f, 'reboot-pending')).toMatchObject({ status: 'pass', detail: `${K} is the newest installed default kernel` });
  });
});

describe('mirrors', () => {
  it('skipped offline, and for a distro with no public location', () => {
    expect(check(readyFacts(), 'mirrors')).toMatchObject({ status: 'skip', detail: '--offline' });
    expect(check(readyFacts((x) => (x.mirrors = [])), 'mirrors')).toMatchObject({ status: 'skip', detail: 'no public location for CentOS Stream 9 (name yours with --mirror)' });
  });
});

describe('parsers of the files doctor reads', () => {
  it('lockdown: the bracketed mode', () => {
    expect(parseLockdown('none [integrity] confidentiality\n')).toBe('integrity');
    expect(parseLockdown('[none] integrity confidentiality\n')).toBe('none');
    expect(parseLockdown('')).toBeUndefined();
  });

  it('utsrelease.h', () => {
    expect(parseUtsRelease(`#define UTS_RELEASE "${K}"\n`)).toBe(K);
    expect(parseUtsRelease('/* nothing */\n')).toBeUndefined();
  });

  it('the SecureBoot EFI variable: 4 attribute bytes, then the value', () => {
    expect(parseSecureBootVar(Uint8Array.from([6, 0, 0, 0, 1]))).toBe(true);
    expect(parseSecureBootVar(Uint8Array.from([6, 0, 0, 0, 0]))).toBe(false);
    expect(parseSecureBootVar(Uint8Array.from([6, 0]))).toBeUndefined();
  });

  it('process 1\'s cgroup', () => {
    expect(containerFromCgroup('0::/system.slice/docker-3f1c.scope\n')).toBe('docker');
    expect(containerFromCgroup('12:pids:/kubepods/besteffort/pod1/abc\n')).toBe('kubernetes');
    expect(containerFromCgroup('0::/machine.slice/libpod-abc.scope\n')).toBe('podman');
    expect(containerFromCgroup('0::/\n9:name=systemd:/\n')).toBeUndefined();
  });

  it('vermagic from a .modinfo section', () => {
    expect(parseVermagic(Buffer.from(`license=GPL\0vermagic=${K} SMP preempt mod_unload modversions \0name=stap_x\0`, 'latin1'))).toBe(K);
    expect(parseVermagic(Buffer.from('license=GPL\0', 'latin1'))).toBeUndefined();
  });
});
