import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFiles, installOnlyOptions, packageNames, type PackageManagerName } from '../../src/io/package-manager.js';
import { FIXTURE_MIRROR_ROOT } from '../support/fixture-mirror.js';
import { makeTestContext } from '../support/context.js';
import { installedPackages, makeScratchRoot, nvrasFor, type ScratchRoot } from '../support/scratch-root.js';

// Kernel packages are install-only: a second kernel's debuginfo, -common and -devel go in beside
// the first's. Real rpm --root and real dnf --installroot, the fixture mirror's RPMs, scratch
// roots as install.test.ts makes them; each root gets its own HOME, since Debian's rpm keeps a
// root's database at <root>/<HOME>/.rpmdb.

const EL8 = join(FIXTURE_MIRROR_ROOT, 'debuginfo.centos.org/8/x86_64/Packages');
const EL9 = join(FIXTURE_MIRROR_ROOT, 'mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree/Packages');
const DEVEL: Record<string, string> = {
  '4.18.0-348.2.1.el8_5.x86_64': join(FIXTURE_MIRROR_ROOT, 'vault.centos.org/8.5.2111/BaseOS/x86_64/os/Packages'),
  '4.18.0-348.7.1.el8_5.x86_64': join(FIXTURE_MIRROR_ROOT, 'vault.centos.org/8.5.2111/BaseOS/x86_64/os/Packages'),
};
const OLDER = '4.18.0-348.2.1.el8_5.x86_64';
const NEWER = '4.18.0-348.7.1.el8_5.x86_64';

/** The three files of a kernel in the fixture mirror. */
const filesOf = (uname: string) => [
  join(EL8, `kernel-debuginfo-${uname}.rpm`),
  join(EL8, `kernel-debuginfo-common-x86_64-${uname}.rpm`),
  join(DEVEL[uname]!, `kernel-devel-${uname}.rpm`),
];

const roots: ScratchRoot[] = [];
afterAll(async () => {
  for (const r of roots) await r.remove();
});

async function scratch(): Promise<{ root: string; home: string; exec: ReturnType<typeof makeTestContext>['ctx']['exec']; commands: string[] }> {
  const s = await makeScratchRoot({ kernels: [OLDER, NEWER], osRelease: 'centos-8' });
  roots.push(s);
  const home = join(s.dir, 'home');
  await mkdir(home);
  const t = makeTestContext({ env: { HOME: home } });
  return { root: s.root, home, exec: t.ctx.exec, commands: t.commands };
}

const install = (t: Awaited<ReturnType<typeof scratch>>, pm: PackageManagerName, files: string[]) =>
  installFiles(t.exec, pm, { files, root: t.root, releasever: '8', noGpgcheck: true });

describe('installing a second kernel keeps the first kernel\'s packages', () => {
  for (const pm of ['rpm', 'dnf'] as const) {
    it(`with ${pm}, newer after older and older after newer`, async () => {
      for (const order of [[OLDER, NEWER], [NEWER, OLDER]]) {
        const t = await scratch();
        for (const uname of order) await install(t, pm, filesOf(uname));
        expect(installedPackages(t.root, t.home)).toEqual([...nvrasFor(OLDER), ...nvrasFor(NEWER)].sort());
      }
    });
  }

  it('rpm installs with -i, never -U (an upgrade erased the other kernel\'s packages), and may add an older kernel', async () => {
    const t = await scratch();
    await install(t, 'rpm', filesOf(NEWER));
    const rpmCall = t.commands.find((c) => c.startsWith('$ rpm ') && c.includes('.rpm'))!;
    expect(rpmCall.split(' ').slice(1, 5)).toEqual(['rpm', '-ivh', '--oldpackage', '--replacepkgs']);
  });

  it('installing the same kernel again changes nothing and fails nothing', async () => {
    for (const pm of ['rpm', 'dnf'] as const) {
      const t = await scratch();
      await install(t, pm, filesOf(NEWER));
      await install(t, pm, filesOf(NEWER));
      expect(installedPackages(t.root, t.home)).toEqual(nvrasFor(NEWER));
    }
  });

  it('dnf keeps more kernels than its installonly_limit (3 in dnf.conf): a fourth kernel removed the oldest', async () => {
    const t = await scratch();
    const kernels: Array<[string, string]> = [
      ['4.18.0-305.3.1.el8.x86_64', EL8],
      [OLDER, EL8],
      [NEWER, EL8],
      ['5.14.0-362.el9.x86_64', EL9],
    ];
    const expected: string[] = [];
    for (const [uname, dir] of kernels) {
      await install(t, 'dnf', [join(dir, `kernel-debuginfo-${uname}.rpm`), join(dir, `kernel-debuginfo-common-x86_64-${uname}.rpm`)]);
      const vr = uname.slice(0, uname.lastIndexOf('.'));
      expected.push(`kernel-debuginfo-${vr}.x86_64`, `kernel-debuginfo-common-x86_64-${vr}.x86_64`);
    }
    expect(installedPackages(t.root, t.home)).toEqual(expected.sort());
  });
});

describe('packages that do not say they are install-only', () => {
  // yum's default list names kernel-devel but no debuginfo package, and a kernel package built
  // without `Provides: installonlypkg(kernel)` would be an ordinary package to dnf: these two are
  // built here with rpmbuild exactly so, to show that our names are passed on.
  let work: string;
  const built: Record<string, string> = {};

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kdebuginfo-pm-'));
    await mkdir(join(work, 'home'));
    for (const version of ['1.0', '2.0']) {
      const spec = join(work, `plain-${version}.spec`);
      await writeFile(
        spec,
        [
          'Name: kernel-plain-debuginfo',
          `Version: ${version}`,
          'Release: 1',
          'Summary: a kernel debuginfo package without the installonlypkg(kernel) provide',
          'License: MIT',
          'BuildArch: x86_64',
          '%description',
          'test',
          '%install',
          `mkdir -p %{buildroot}/usr/lib/debug/plain-${version}`,
          `echo ${version} > %{buildroot}/usr/lib/debug/plain-${version}/vmlinux`,
          '%files',
          `/usr/lib/debug/plain-${version}`,
          '',
        ].join('\n'),
      );
      const r = spawnSync('rpmbuild', ['-bb', '--define', `_topdir ${join(work, 'build')}`, '--define', '_build_id_links none', spec], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: join(work, 'home'), LC_ALL: 'C' },
      });
      expect(r.status, r.stderr).toBe(0);
      const dir = join(work, 'build/RPMS/x86_64');
      built[version] = join(dir, (await readdir(dir)).find((f) => f.includes(`-${version}-`))!);
    }
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('rpm -qp names them, and dnf is told they are install-only', async () => {
    const t = await scratch();
    expect(await packageNames(t.exec, [built['1.0']!, built['2.0']!])).toEqual(['kernel-plain-debuginfo', 'kernel-plain-debuginfo']);
    expect(installOnlyOptions('dnf', ['kernel-plain-debuginfo'])).toEqual([
      '--setopt=installonlypkgs=kernel,kernel-PAE,installonlypkg(kernel),installonlypkg(kernel-module),installonlypkg(vm),multiversion(kernel),kernel-plain-debuginfo',
      '--setopt=installonly_limit=0',
    ]);
  });

  for (const pm of ['rpm', 'dnf'] as const) {
    it(`with ${pm}, version 2.0 goes in beside 1.0`, async () => {
      const t = await scratch();
      await install(t, pm, [built['1.0']!]);
      await install(t, pm, [built['2.0']!]);
      expect(installedPackages(t.root, t.home)).toEqual(['kernel-plain-debuginfo-1.0-1.x86_64', 'kernel-plain-debuginfo-2.0-1.x86_64']);
    });
  }

  it('without our names, dnf upgrades 1.0 away: the reason they are passed', async () => {
    const t = await scratch();
    const dnf = (file: string) =>
      spawnSync('dnf', ['-y', 'install', `--installroot=${t.root}`, '--releasever=8', '--nogpgcheck', '--disablerepo=*', file], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: t.home, LC_ALL: 'C' },
      });
    expect(dnf(built['1.0']!).status).toBe(0);
    expect(dnf(built['2.0']!).status).toBe(0);
    expect(installedPackages(t.root, t.home)).toEqual(['kernel-plain-debuginfo-2.0-1.x86_64']);
  });
});
