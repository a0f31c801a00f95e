import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctorExitCode, formatDoctor, runDoctor, type DoctorResult } from '../../src/commands/doctor.js';
import type { CheckId } from '../../src/core/doctor.js';
import { parseMirrorRewrites } from '../../src/core/mirrors.js';
import { makeTestContext } from '../support/context.js';
import { kernelNotes } from '../support/kernel-notes.js';
import { FIXTURE_MIRROR_ROOT, startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';

const K = '5.14.0-362.el9.x86_64';
const OTHER = '5.14.0-360.el9.x86_64';
const BUILD_IDS = JSON.parse(readFileSync(join(FIXTURE_MIRROR_ROOT, 'BUILD-IDS.json'), 'utf8')) as Record<string, string>;
const BUILD_ID = BUILD_IDS[K] as string;
const OS_RELEASE_DIR = join(FIXTURE_MIRROR_ROOT, '..', 'os-release');

const RPM = {
  devel: join(FIXTURE_MIRROR_ROOT, `mirror.stream.centos.org/9-stream/AppStream/x86_64/os/Packages/kernel-devel-${K}.rpm`),
  develOther: join(FIXTURE_MIRROR_ROOT, `mirror.stream.centos.org/9-stream/AppStream/x86_64/os/Packages/kernel-devel-${OTHER}.rpm`),
  debuginfo: join(FIXTURE_MIRROR_ROOT, `mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-${K}.rpm`),
  common: join(FIXTURE_MIRROR_ROOT, `mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-common-x86_64-${K}.rpm`),
};

const work = mkdtempSync(join(tmpdir(), 'kdebuginfo-doctor-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
/** The user's HOME as doctor sees it (ctx.env.HOME); its ~/.systemtap/cache is read under the root. */
const HOME = '/home/tester';

interface RootSpec {
  rpms: string[];
  /** `--dbpath` for rpm; null: rpm's own default (Debian: ~/.rpmdb under the root, HOME expanded). */
  dbpath?: string | null;
  /** Target of lib/modules/<K>/build (absolute, as the kernel package writes it); null: no link. */
  buildLink?: string | null;
  /** Stand-in running system: sys/kernel/notes from this build-id and proc/sys/kernel/osrelease; null: an image root. */
  running?: { buildId: string; release: string } | null;
  osRelease?: string;
  container?: boolean;
  /** More kernels with a lib/modules directory. */
  moreKernels?: string[];
}

/**
 * A prepared root: the fixture RPMs installed for real with `rpm --root`, the build link the
 * kernel package would make, the distro's os-release, and (for a "running" root) stand-ins for
 * the files doctor reads from /proc and /sys. usr/bin/{stap,gcc,make} are empty stand-ins:
 * doctor only checks that an image root has them.
 */
function prepareRoot(name: string, spec: RootSpec): string {
  const root = join(work, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  copyFileSync(join(OS_RELEASE_DIR, spec.osRelease ?? 'centos-stream-9'), join(root, 'etc/os-release'));
  if (spec.rpms.length > 0) {
    const db = spec.dbpath === undefined ? ['--dbpath', '/var/lib/rpm'] : spec.dbpath === null ? [] : ['--dbpath', spec.dbpath];
    const r = spawnSync('rpm', ['--root', root, ...db, '-i', '--nodeps', '--nosignature', ...spec.rpms], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME, LC_ALL: 'C' },
    });
    if (r.status !== 0) throw new Error(`rpm -i into ${root} failed: ${r.stderr}`);
  }
  mkdirSync(join(root, 'lib/modules', K), { recursive: true });
  for (const k of spec.moreKernels ?? []) mkdirSync(join(root, 'lib/modules', k), { recursive: true });
  const link = spec.buildLink === undefined ? `/usr/src/kernels/${K}` : spec.buildLink;
  if (link !== null) symlinkSync(link, join(root, 'lib/modules', K, 'build'));
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  for (const tool of ['stap', 'gcc', 'make']) {
    writeFileSync(join(root, 'usr/bin', tool), '#!/bin/sh\n# STAND-IN: doctor only checks that the image has this program\nexit 1\n');
    chmodSync(join(root, 'usr/bin', tool), 0o755);
  }
  const running = spec.running === undefined ? { buildId: BUILD_ID, release: K } : spec.running;
  if (running) {
    mkdirSync(join(root, 'sys/kernel'), { recursive: true });
    writeFileSync(join(root, 'sys/kernel/notes'), kernelNotes(running.buildId, running.release));
    mkdirSync(join(root, 'proc/sys/kernel'), { recursive: true });
    writeFileSync(join(root, 'proc/sys/kernel/osrelease'), `${running.release}\n`);
  }
  if (spec.container) {
    writeFileSync(join(root, '.dockerenv'), '');
    mkdirSync(join(root, 'proc/1'), { recursive: true });
    writeFileSync(join(root, 'proc/1/cgroup'), '0::/system.slice/docker-3f1c0a.scope\n');
  }
  return root;
}

async function doctor(root: string, o: { kernel?: string; offline?: boolean; rewrites?: string; isRoot?: boolean; groups?: string[] } = {}) {
  const t = makeTestContext({ env: { HOME }, isRoot: o.isRoot ?? true });
  const r = await runDoctor(t.ctx, {
    root,
    ...(o.kernel ? { kernel: o.kernel } : {}),
    offline: o.offline ?? true,
    rewrites: o.rewrites ? parseMirrorRewrites(o.rewrites.split(','), 'KDEBUGINFO_MIRROR') : [],
    userAgent: 'kdebuginfo-test',
    ...(o.groups ? { groups: o.groups } : {}),
  });
  return { r, t };
}

const byId = (r: DoctorResult) => Object.fromEntries(r.checks.map((c) => [c.id, c])) as Record<CheckId, DoctorResult['checks'][number]>;
const statuses = (r: DoctorResult) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));

/** The disk line's numbers depend on the machine: keep its shape, drop the figures. */
const normaliseDisk = (text: string) => text.replace(/(Disk space\s+)\S.*$/m, '$1<free space>');

let roots: Record<string, string>;
beforeAll(() => {
  roots = {
    ready: prepareRoot('ready', { rpms: [RPM.devel, RPM.debuginfo, RPM.common] }),
    develMissing: prepareRoot('devel-missing', { rpms: [RPM.debuginfo, RPM.common] }),
    // Installed with rpm's own default database location (Debian: <root>/home/tester/.rpmdb), as
    // `rpm --root` without --dbpath on this machine does.
    develOther: prepareRoot('devel-other', { rpms: [RPM.develOther, RPM.debuginfo, RPM.common], dbpath: null, buildLink: `/usr/src/kernels/${OTHER}` }),
    buildIdMismatch: prepareRoot('build-id-mismatch', {
      rpms: [RPM.devel, RPM.debuginfo, RPM.common],
      running: { buildId: '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c', release: K },
    }),
    container: prepareRoot('container', { rpms: [RPM.devel, RPM.debuginfo, RPM.common], container: true }),
    containerForeign: prepareRoot('container-foreign', {
      rpms: [RPM.devel, RPM.debuginfo, RPM.common],
      container: true,
      running: { buildId: BUILD_ID, release: '6.8.0-45-generic' },
    }),
    image: prepareRoot('image', { rpms: [RPM.devel, RPM.debuginfo, RPM.common], running: null }),
  };
});

describe('doctor on prepared roots (--root, --kernel)', () => {
  it('ready: every package, the build link, and the debuginfo build-id equal to the running kernel\'s', async () => {
    const root = roots.ready as string;
    const { r, t } = await doctor(root, { kernel: K });
    expect(r.ready).toBe(true);
    expect(doctorExitCode(r)).toBe(0);
    expect(r.kernel).toBe(K);
    expect(r.os).toEqual({ id: 'centos-stream', version: '9', name: 'CentOS Stream 9' });
    expect(t.stderr()).toBe('');
    // One rpm query, no other process (stap -V is not run for an image root's stap).
    expect(t.commands).toEqual([
      `$ rpm --root ${root} --dbpath /var/lib/rpm -qa --qf %{NAME}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t[%{REQUIRENAME} %{REQUIREFLAGS:depflags} %{REQUIREVERSION}|]\n kernel* systemtap*`,
    ]);
    expect(normaliseDisk(formatDoctor(r))).toBe(
      [
        `kdebuginfo doctor: kernel ${K} on CentOS Stream 9 (root ${root})`,
        '',
        '  ok    Supported distro           CentOS Stream 9',
        `  ok    Target kernel              ${K} (default flavour, x86_64), the running kernel`,
        `  ok    SystemTap                  ${root}/usr/bin/stap (version unknown: no systemtap package in the rpm database)`,
        `  ok    gcc and make               gcc (${root}/usr/bin/gcc), make (${root}/usr/bin/make)`,
        `  ok    kernel-devel               kernel-devel-${K} installed`,
        `  ok    Build tree link            ${root}/lib/modules/${K}/build -> ${root}/usr/src/kernels/${K} (UTS_RELEASE "${K}")`,
        `  ok    kernel-debuginfo(-common)  kernel-debuginfo-${K}, kernel-debuginfo-common-x86_64-${K} installed`,
        `  ok    Build-id = running kernel  ${BUILD_ID} in ${root}/usr/lib/debug/lib/modules/${K}/vmlinux and ${root}/sys/kernel/notes`,
        '  ok    Privileges                 running as root',
        '  ok    Lockdown / Secure Boot     no lockdown reported, not booted with EFI',
        '  ok    Container                  not in a container',
        `  ok    SystemTap module cache     no ${root}${HOME}/.systemtap/cache yet`,
        '  ok    Disk space                 <free space>',
        `  ok    Newest kernel running      ${K} is the newest installed default kernel`,
        '  skip  Mirrors reachable          --offline',
        '',
        'Ready.',
        '',
      ].join('\n'),
    );
    // Only the compile space is needed when every package is there.
    expect(byId(r)['disk-space'].detail).toMatch(/free, needs 200\.0 MiB \(200\.0 MiB stap-cache\)$/);
  });

  it('is fast without the network: well under a second', async () => {
    const { r } = await doctor(roots.ready as string, { kernel: K });
    expect(r.durationMs).toBeLessThan(1000);
  });

  it('kernel-devel missing: the devel check and the dangling build link fail, naming the exact package', async () => {
    const root = roots.develMissing as string;
    const { r } = await doctor(root, { kernel: K });
    expect(r.ready).toBe(false);
    expect(doctorExitCode(r)).toBe(1);
    const c = byId(r);
    expect(c.devel).toEqual({
      id: 'devel',
      title: 'kernel-devel',
      status: 'fail',
      detail: `kernel-devel-${K} is not installed`,
      fix: `kdebuginfo install --kernel ${K} --root ${root} (or dnf --installroot ${root} install kernel-devel-${K}); a plain \`dnf install kernel-devel\` installs the newest, not this kernel's`,
    });
    expect(c['build-link']).toMatchObject({
      status: 'fail',
      detail: `${root}/lib/modules/${K}/build points at /usr/src/kernels/${K}, which does not exist`,
      fix: `install kernel-devel-${K} (it provides /usr/src/kernels/${K})`,
    });
    expect(c.debuginfo.status).toBe('pass');
    expect(c['build-id'].status).toBe('pass');
    expect(formatDoctor(r).trimEnd().split('\n').pop()).toBe('Not ready: 2 checks failed (devel, build-link).');
  });

  it('kernel-devel of another version: names what is installed instead, and the tree the link really leads to', async () => {
    const root = roots.develOther as string;
    const { r } = await doctor(root, { kernel: K });
    expect(r.ready).toBe(false);
    const c = byId(r);
    expect(c.devel.detail).toBe(`kernel-devel-${K} is not installed; installed instead: kernel-devel-${OTHER}`);
    expect(c['build-link']).toMatchObject({
      status: 'fail',
      detail: `${root}/lib/modules/${K}/build -> ${root}/usr/src/kernels/${OTHER} is a tree built for ${OTHER}, not ${K} (its include/generated/utsrelease.h says so)`,
      fix: `install kernel-devel-${K}, then: ln -sfn /usr/src/kernels/${K} ${root}/lib/modules/${K}/build (the link belongs to the kernel's own package; reinstalling kernel-core ${K} restores it)`,
    });
    // The debuginfo was found in the same (Debian-default) rpm database.
    expect(c.debuginfo.status).toBe('pass');
    expect(Object.values(statuses(r)).filter((s) => s === 'fail')).toHaveLength(2);
  });

  it('debuginfo whose build-id does not match the running kernel: the proof fails, naming both ids', async () => {
    const root = roots.buildIdMismatch as string;
    const { r } = await doctor(root, { kernel: K });
    expect(r.ready).toBe(false);
    expect(byId(r)['build-id']).toEqual({
      id: 'build-id',
      title: 'Build-id = running kernel',
      status: 'fail',
      detail: `the debuginfo is from another build: ${root}/usr/lib/debug/lib/modules/${K}/vmlinux has build-id ${BUILD_ID}, the running kernel (${root}/sys/kernel/notes) has 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c`,
      fix: `install kernel-debuginfo from the same build as the running kernel (kernel-debuginfo-${K} from your distribution's own repository; a rebuild with the same version-release is not the same build)`,
    });
    // Everything else is in place: the packages alone would have looked fine.
    expect(r.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['build-id']);
  });

  it('container: warns that uname is the host\'s kernel; still ready when the host runs this kernel', async () => {
    const root = roots.container as string;
    const { r } = await doctor(root, { kernel: K });
    expect(r.ready).toBe(true);
    expect(byId(r).container).toEqual({
      id: 'container',
      title: 'Container',
      status: 'warn',
      detail: `in a docker container (${root}/.dockerenv, ${root}/proc/1/cgroup names docker): uname -r (${K}) is the host's kernel, so the packages must be the host kernel's`,
      fix: "probe from the host, or run a privileged container (CAP_SYS_MODULE) with the host's /lib/modules, /usr/src/kernels, /usr/lib/debug and debugfs mounted",
    });
    expect(formatDoctor(r).trimEnd().split('\n').pop()).toBe('Ready (1 warning).');
  });

  it('container on a host whose kernel is not this distro\'s: not ready, and says to run on the host', async () => {
    const root = roots.containerForeign as string;
    const { r } = await doctor(root);
    expect(r.ready).toBe(false);
    expect(r.kernel).toBeNull();
    const c = byId(r);
    expect(c.kernel.status).toBe('fail');
    expect(c.kernel.detail).toMatch(/^kernel release "6\.8\.0-45-generic" .*\(from .*proc\/sys\/kernel\/osrelease\)\. This is a docker container: uname -r is the host's kernel, not one this container's distribution ships$/);
    expect(c.kernel.fix).toBe('run kdebuginfo on the host, or pass --kernel with the release the host runs');
    // Nothing to check packages against: skipped, each saying why.
    for (const id of ['devel', 'build-link', 'debuginfo', 'build-id'] as const) expect(c[id]).toMatchObject({ status: 'skip', detail: 'no target kernel (see Target kernel)' });
  });

  it('an image root (no proc/, no sys/): the kernel installed there is the target; running-system checks are skipped with the reason', async () => {
    const root = roots.image as string;
    const { r } = await doctor(root);
    expect(r.kernel).toBe(K);
    expect(r.ready).toBe(true);
    const c = byId(r);
    const why = `under --root ${root}: an image, not a running system (no proc/ or sys/ in it)`;
    expect(c.kernel.detail).toBe(`${K} (default flavour, x86_64), in the image root ${root}`);
    expect(c['build-id']).toMatchObject({ status: 'skip', detail: `${why}; run doctor on the booted system to compare build-ids` });
    expect(c.lockdown).toMatchObject({ status: 'skip', detail: `${why}: lockdown and Secure Boot belong to the booted system` });
    expect(c.privileges.status).toBe('skip');
    expect(c.container.status).toBe('skip');
    expect(c['reboot-pending'].status).toBe('skip');
  });

  it('reads the running system\'s files under the root: lockdown, Secure Boot, stale modules, a newer kernel installed', async () => {
    const root = prepareRoot('live-files', { rpms: [RPM.devel, RPM.debuginfo, RPM.common], moreKernels: ['5.14.0-427.el9.x86_64'] });
    mkdirSync(join(root, 'sys/kernel/security'), { recursive: true });
    writeFileSync(join(root, 'sys/kernel/security/lockdown'), 'none [integrity] confidentiality\n');
    mkdirSync(join(root, 'sys/firmware/efi/efivars'), { recursive: true });
    writeFileSync(join(root, 'sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c'), Buffer.from([6, 0, 0, 0, 1]));
    // Two compiled modules in the cache, real ELF objects with a .modinfo vermagic (built by gcc):
    // one for another kernel, one for this kernel but older than its build tree.
    const cache = join(root, HOME.slice(1), '.systemtap/cache');
    const modules = [
      { dir: '3a', file: 'stap_3a01_1.ko', vermagic: `${OTHER} SMP preempt mod_unload modversions` },
      { dir: '7c', file: 'stap_7c02_1.ko', vermagic: `${K} SMP preempt mod_unload modversions` },
    ];
    for (const m of modules) {
      mkdirSync(join(cache, m.dir), { recursive: true });
      const src = join(work, `${m.file}.c`);
      writeFileSync(src, `__attribute__((section(".modinfo"), used)) static const char v[] = "vermagic=${m.vermagic}";\n`);
      const cc = spawnSync('gcc', ['-c', src, '-o', join(cache, m.dir, m.file)], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
    }
    const old = new Date('2020-01-01T00:00:00Z');
    utimesSync(join(cache, '7c', 'stap_7c02_1.ko'), old, old);

    const { r } = await doctor(root, { kernel: K });
    const c = byId(r);
    expect(c.lockdown).toMatchObject({
      status: 'fail',
      detail: `kernel lockdown is "integrity" (${root}/sys/kernel/security/lockdown): the kernel refuses unsigned modules (Secure Boot is on)`,
    });
    expect(c['stale-cache']).toEqual({
      id: 'stale-cache',
      title: 'SystemTap module cache',
      status: 'warn',
      detail: `${cache}: 1 built for other kernels (${OTHER}); 1 compiled before kernel ${K} was built; a stale module gives "module version mismatch" at load time`,
      fix: `rm -rf ${cache} (stap compiles again on the next run)`,
    });
    expect(c['reboot-pending']).toEqual({
      id: 'reboot-pending',
      title: 'Newest kernel running',
      status: 'warn',
      detail: `kernel 5.14.0-427.el9.x86_64 is installed but ${K} is running: a reboot is pending`,
      fix: 'after the reboot the probe needs packages for 5.14.0-427.el9.x86_64: kdebuginfo install --kernel 5.14.0-427.el9.x86_64 (now, so they are there at boot)',
    });
    expect(r.ready).toBe(false);
  });

  it('a user who is not root and in neither stap group: a warning naming the groups to join', async () => {
    const { r } = await doctor(roots.ready as string, { kernel: K, isRoot: false, groups: ['tester', 'wheel'] });
    expect(byId(r).privileges).toEqual({
      id: 'privileges',
      title: 'Privileges',
      status: 'warn',
      detail: 'not root, and in neither stapusr nor stapdev (groups: tester, wheel)',
      fix: 'run stap as root (sudo), or: usermod -aG stapusr,stapdev <user> and log in again',
    });
    expect(r.ready).toBe(true);
    const both = await doctor(roots.ready as string, { kernel: K, isRoot: false, groups: ['stapusr', 'stapdev'] });
    expect(byId(both.r).privileges).toMatchObject({ status: 'pass', detail: 'member of stapusr and stapdev: may compile and load probe modules' });
  });
});

describe('doctor mirror checks against the fixture server', () => {
  let mirror: FixtureMirror;
  beforeAll(async () => {
    mirror = await startFixtureMirror();
  });
  afterAll(async () => {
    await mirror?.close();
  });

  it('HEADs the first candidate of each package through the KDEBUGINFO_MIRROR rewrites', async () => {
    mirror.server.resetLog();
    const { r } = await doctor(roots.ready as string, { kernel: K, offline: false, rewrites: mirror.mirrorEnv });
    expect(byId(r).mirrors).toMatchObject({ status: 'pass', detail: `first location of each package answers: ${new URL(mirror.server.url).host}` });
    expect(mirror.server.requests.map((q) => `${q.method} ${q.path} ${q.status}`).sort()).toEqual([
      `HEAD /mirror.stream.centos.org/9-stream/AppStream/x86_64/os/Packages/kernel-devel-${K}.rpm 200`,
      `HEAD /mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-${K}.rpm 200`,
      `HEAD /mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-common-x86_64-${K}.rpm 200`,
    ]);
    expect(mirror.server.requests.every((q) => q.userAgent === 'kdebuginfo-test')).toBe(true);
  });

  it('a mirror that fails is a warning naming the file, the URL and the answer (packages already installed)', async () => {
    mirror.server.clearFaults();
    mirror.server.fault(`/mirror.stream.centos.org/9-stream/AppStream/x86_64/os/Packages/kernel-devel-${K}.rpm`, { status: 503 });
    const { r } = await doctor(roots.ready as string, { kernel: K, offline: false, rewrites: mirror.mirrorEnv });
    mirror.server.clearFaults();
    expect(byId(r).mirrors).toEqual({
      id: 'mirrors',
      title: 'Mirrors reachable',
      status: 'warn',
      detail: `kernel-devel-${K}.rpm: ${mirror.server.url}/mirror.stream.centos.org/9-stream/AppStream/x86_64/os/Packages/kernel-devel-${K}.rpm: HTTP 503`,
      fix: 'only the first location of each package is tried here; `kdebuginfo resolve` tries them all. Check HTTPS_PROXY/HTTP_PROXY/NO_PROXY, or name a reachable mirror with --mirror FROM=TO',
    });
    expect(r.ready).toBe(true);
  });
});

describe('doctor on this host', () => {
  it('runs every check without throwing, offline, in under a second', async () => {
    const t = makeTestContext({ isRoot: true });
    const r = await runDoctor(t.ctx, { offline: true, rewrites: [] });
    expect(r.checks.map((c) => c.id)).toEqual([
      'distro',
      'kernel',
      'stap',
      'compiler',
      'devel',
      'build-link',
      'debuginfo',
      'build-id',
      'privileges',
      'lockdown',
      'container',
      'stale-cache',
      'disk-space',
      'reboot-pending',
      'mirrors',
    ]);
    expect(r.checks.every((c) => c.detail.length > 0)).toBe(true);
    expect(r.checks.filter((c) => c.status === 'fail' || c.status === 'warn').every((c) => c.fix)).toBe(true);
    expect(r.durationMs).toBeLessThan(1000);
  });
});
