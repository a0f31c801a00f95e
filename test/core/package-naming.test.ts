import { describe, expect, it } from 'vitest';

import { parseKernelRelease } from '../../src/core/kernel-release.js';
import { commonPackageName, packagesFor, withCommonName } from '../../src/core/package-naming.js';

/** [uname -r, debuginfo file, debuginfo-common file, devel file]. */
const FILES: [string, string, string, string][] = [
  // Exact file names from public download lists: an OpenShift crash-tool guide (RHEL 8.6 CoreOS),
  // oss.oracle.com/ol8/debuginfo (RHCK and UEK), debuginfo.centos.org/7 (centosplus).
  [
    '4.18.0-372.73.1.el8_6.x86_64',
    'kernel-debuginfo-4.18.0-372.73.1.el8_6.x86_64.rpm',
    'kernel-debuginfo-common-x86_64-4.18.0-372.73.1.el8_6.x86_64.rpm',
    'kernel-devel-4.18.0-372.73.1.el8_6.x86_64.rpm',
  ],
  [
    '4.18.0-477.27.1.el8_8.x86_64',
    'kernel-debuginfo-4.18.0-477.27.1.el8_8.x86_64.rpm',
    'kernel-debuginfo-common-x86_64-4.18.0-477.27.1.el8_8.x86_64.rpm',
    'kernel-devel-4.18.0-477.27.1.el8_8.x86_64.rpm',
  ],
  [
    '5.15.0-202.135.2.el8uek.x86_64',
    'kernel-uek-debuginfo-5.15.0-202.135.2.el8uek.x86_64.rpm',
    'kernel-uek-debuginfo-common-5.15.0-202.135.2.el8uek.x86_64.rpm',
    'kernel-uek-devel-5.15.0-202.135.2.el8uek.x86_64.rpm',
  ],
  [
    '3.10.0-1127.el7.centos.plus.x86_64',
    'kernel-plus-debuginfo-3.10.0-1127.el7.centos.plus.x86_64.rpm',
    'kernel-plus-debuginfo-common-x86_64-3.10.0-1127.el7.centos.plus.x86_64.rpm',
    'kernel-plus-devel-3.10.0-1127.el7.centos.plus.x86_64.rpm',
  ],
  // Separate kernel-rt srpm: Red Hat errata list kernel-rt-debuginfo-common-x86_64-3.10.0-514.21.1.rt56.438.el7
  // and ...-4.18.0-553.22.1.rt7.363.el8_10.
  [
    '3.10.0-514.21.1.rt56.438.el7.x86_64',
    'kernel-rt-debuginfo-3.10.0-514.21.1.rt56.438.el7.x86_64.rpm',
    'kernel-rt-debuginfo-common-x86_64-3.10.0-514.21.1.rt56.438.el7.x86_64.rpm',
    'kernel-rt-devel-3.10.0-514.21.1.rt56.438.el7.x86_64.rpm',
  ],
  [
    '4.18.0-553.22.1.rt7.363.el8_10.x86_64',
    'kernel-rt-debuginfo-4.18.0-553.22.1.rt7.363.el8_10.x86_64.rpm',
    'kernel-rt-debuginfo-common-x86_64-4.18.0-553.22.1.rt7.363.el8_10.x86_64.rpm',
    'kernel-rt-devel-4.18.0-553.22.1.rt7.363.el8_10.x86_64.rpm',
  ],
  [
    '3.10.0-1160.rt56.1131.el7.x86_64.debug',
    'kernel-rt-debug-debuginfo-3.10.0-1160.rt56.1131.el7.x86_64.rpm',
    'kernel-rt-debuginfo-common-x86_64-3.10.0-1160.rt56.1131.el7.x86_64.rpm',
    'kernel-rt-debug-devel-3.10.0-1160.rt56.1131.el7.x86_64.rpm',
  ],
  [
    '4.18.0-353.rt7.138.el8.x86_64+debug',
    'kernel-rt-debug-debuginfo-4.18.0-353.rt7.138.el8.x86_64.rpm',
    'kernel-rt-debuginfo-common-x86_64-4.18.0-353.rt7.138.el8.x86_64.rpm',
    'kernel-rt-debug-devel-4.18.0-353.rt7.138.el8.x86_64.rpm',
  ],
  // EL9.4+ RT and 64k come from the kernel srpm: its one debuginfo-common (inferred from the spec).
  [
    '5.14.0-430.el9.x86_64+rt',
    'kernel-rt-debuginfo-5.14.0-430.el9.x86_64.rpm',
    'kernel-debuginfo-common-x86_64-5.14.0-430.el9.x86_64.rpm',
    'kernel-rt-devel-5.14.0-430.el9.x86_64.rpm',
  ],
  [
    '5.14.0-290.el9.x86_64+rt-debug',
    'kernel-rt-debug-debuginfo-5.14.0-290.el9.x86_64.rpm',
    'kernel-debuginfo-common-x86_64-5.14.0-290.el9.x86_64.rpm',
    'kernel-rt-debug-devel-5.14.0-290.el9.x86_64.rpm',
  ],
  [
    '5.14.0-354.el9.aarch64+64k',
    'kernel-64k-debuginfo-5.14.0-354.el9.aarch64.rpm',
    'kernel-debuginfo-common-aarch64-5.14.0-354.el9.aarch64.rpm',
    'kernel-64k-devel-5.14.0-354.el9.aarch64.rpm',
  ],
  [
    '5.14.0-327.el9.aarch64+64k-debug',
    'kernel-64k-debug-debuginfo-5.14.0-327.el9.aarch64.rpm',
    'kernel-debuginfo-common-aarch64-5.14.0-327.el9.aarch64.rpm',
    'kernel-64k-debug-devel-5.14.0-327.el9.aarch64.rpm',
  ],
  [
    '5.14.0-354.el9.aarch64+rt-64k',
    'kernel-rt-64k-debuginfo-5.14.0-354.el9.aarch64.rpm',
    'kernel-debuginfo-common-aarch64-5.14.0-354.el9.aarch64.rpm',
    'kernel-rt-64k-devel-5.14.0-354.el9.aarch64.rpm',
  ],
  [
    '6.12.0-55.el10.aarch64+rt-64k-debug',
    'kernel-rt-64k-debug-debuginfo-6.12.0-55.el10.aarch64.rpm',
    'kernel-debuginfo-common-aarch64-6.12.0-55.el10.aarch64.rpm',
    'kernel-rt-64k-debug-devel-6.12.0-55.el10.aarch64.rpm',
  ],
  // Debug flavours share the base kernel's common package.
  [
    '4.18.0-319.el8.x86_64+debug',
    'kernel-debug-debuginfo-4.18.0-319.el8.x86_64.rpm',
    'kernel-debuginfo-common-x86_64-4.18.0-319.el8.x86_64.rpm',
    'kernel-debug-devel-4.18.0-319.el8.x86_64.rpm',
  ],
  [
    '3.10.0-1160.6.1.el7.x86_64.debug',
    'kernel-debug-debuginfo-3.10.0-1160.6.1.el7.x86_64.rpm',
    'kernel-debuginfo-common-x86_64-3.10.0-1160.6.1.el7.x86_64.rpm',
    'kernel-debug-devel-3.10.0-1160.6.1.el7.x86_64.rpm',
  ],
  [
    '3.8.13-68.3.4.el6uek.x86_64.debug',
    'kernel-uek-debug-debuginfo-3.8.13-68.3.4.el6uek.x86_64.rpm',
    'kernel-uek-debuginfo-common-3.8.13-68.3.4.el6uek.x86_64.rpm',
    'kernel-uek-debug-devel-3.8.13-68.3.4.el6uek.x86_64.rpm',
  ],
  // Other arches and distributions.
  [
    '4.14.0-115.el7a.aarch64',
    'kernel-debuginfo-4.14.0-115.el7a.aarch64.rpm',
    'kernel-debuginfo-common-aarch64-4.14.0-115.el7a.aarch64.rpm',
    'kernel-devel-4.14.0-115.el7a.aarch64.rpm',
  ],
  [
    '4.18.0-240.el8.ppc64le',
    'kernel-debuginfo-4.18.0-240.el8.ppc64le.rpm',
    'kernel-debuginfo-common-ppc64le-4.18.0-240.el8.ppc64le.rpm',
    'kernel-devel-4.18.0-240.el8.ppc64le.rpm',
  ],
  [
    '5.14.0-496.el9.s390x',
    'kernel-debuginfo-5.14.0-496.el9.s390x.rpm',
    'kernel-debuginfo-common-s390x-5.14.0-496.el9.s390x.rpm',
    'kernel-devel-5.14.0-496.el9.s390x.rpm',
  ],
  [
    '2.6.32-220.el6.i686',
    'kernel-debuginfo-2.6.32-220.el6.i686.rpm',
    'kernel-debuginfo-common-i686-2.6.32-220.el6.i686.rpm',
    'kernel-devel-2.6.32-220.el6.i686.rpm',
  ],
  [
    '6.5.6-300.fc39.x86_64',
    'kernel-debuginfo-6.5.6-300.fc39.x86_64.rpm',
    'kernel-debuginfo-common-x86_64-6.5.6-300.fc39.x86_64.rpm',
    'kernel-devel-6.5.6-300.fc39.x86_64.rpm',
  ],
  [
    '4.17.19-100.fc27.i686+PAE',
    'kernel-PAE-debuginfo-4.17.19-100.fc27.i686.rpm',
    'kernel-debuginfo-common-i686-4.17.19-100.fc27.i686.rpm',
    'kernel-PAE-devel-4.17.19-100.fc27.i686.rpm',
  ],
  [
    '4.18.0-348.el8.0.2.x86_64',
    'kernel-debuginfo-4.18.0-348.el8.0.2.x86_64.rpm',
    'kernel-debuginfo-common-x86_64-4.18.0-348.el8.0.2.x86_64.rpm',
    'kernel-devel-4.18.0-348.el8.0.2.x86_64.rpm',
  ],
];

describe('packagesFor', () => {
  it.each(FILES)('names the three packages of %s', (uname, debuginfo, common, devel) => {
    const specs = packagesFor(parseKernelRelease(uname));
    expect(specs.map((s) => s.role)).toEqual(['debuginfo', 'debuginfo-common', 'devel']);
    expect(specs.map((s) => s.file)).toEqual([debuginfo, common, devel]);
  });

  it('gives every spec the kernel package version, release and arch', () => {
    expect(packagesFor(parseKernelRelease('4.18.0-348.7.1.el8_5.x86_64'))).toEqual([
      {
        role: 'debuginfo',
        name: 'kernel-debuginfo',
        version: '4.18.0',
        release: '348.7.1.el8_5',
        arch: 'x86_64',
        file: 'kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm',
      },
      {
        role: 'debuginfo-common',
        name: 'kernel-debuginfo-common-x86_64',
        version: '4.18.0',
        release: '348.7.1.el8_5',
        arch: 'x86_64',
        file: 'kernel-debuginfo-common-x86_64-4.18.0-348.7.1.el8_5.x86_64.rpm',
      },
      {
        role: 'devel',
        name: 'kernel-devel',
        version: '4.18.0',
        release: '348.7.1.el8_5',
        arch: 'x86_64',
        file: 'kernel-devel-4.18.0-348.7.1.el8_5.x86_64.rpm',
      },
    ]);
  });
});

describe('commonPackageName', () => {
  it.each([
    ['5.14.0-284.11.1.rt14.296.el9_2.x86_64', 'kernel-rt-debuginfo-common-x86_64'],
    ['5.14.0-427.18.1.el9_4.x86_64+rt', 'kernel-debuginfo-common-x86_64'],
    ['5.4.17-2102.201.3.el8uek.aarch64', 'kernel-uek-debuginfo-common'],
  ])('%s -> %s', (uname, name) => {
    expect(commonPackageName(parseKernelRelease(uname))).toBe(name);
  });
});

describe('withCommonName', () => {
  const specs = packagesFor(parseKernelRelease('5.14.0-362.el9.x86_64+debug'));

  it('swaps the common package for the one repodata requires, keeping the others', () => {
    // One public EL9 walkthrough names kernel-debug-debuginfo-common-...: if repodata says so, it wins.
    const swapped = withCommonName(specs, 'kernel-debug-debuginfo-common-x86_64', '5.14.0', '362.el9');
    expect(swapped).toEqual([
      specs[0],
      {
        role: 'debuginfo-common',
        name: 'kernel-debug-debuginfo-common-x86_64',
        version: '5.14.0',
        release: '362.el9',
        arch: 'x86_64',
        file: 'kernel-debug-debuginfo-common-x86_64-5.14.0-362.el9.x86_64.rpm',
      },
      specs[2],
    ]);
    expect(specs[1]?.name).toBe('kernel-debuginfo-common-x86_64');
  });

  it('throws when there is no common spec to swap', () => {
    expect(() => withCommonName(specs.filter((s) => s.role !== 'debuginfo-common'), 'x', '1', '1')).toThrow(
      'withCommonName: the specs have no debuginfo-common entry',
    );
  });
});
