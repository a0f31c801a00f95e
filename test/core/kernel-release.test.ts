import { describe, expect, it } from 'vitest';

import { UsageError } from '../../src/errors.js';
import { distTagInfo, isSeparateRtBuild, looksLikeRpmKernel, parseKernelRelease } from '../../src/core/kernel-release.js';
import type { Flavor, KernelRelease } from '../../src/core/types.js';

type Row = [
  uname: string,
  family: string,
  version: string,
  release: string,
  arch: string,
  flavor: Flavor,
  distTag: string,
  distMajor: number,
  distKind: 'el' | 'fc',
];

function asRelease([uname, family, version, release, arch, flavor, distTag, distMajor, distKind]: Row): KernelRelease {
  return { uname, family, version, release, arch, flavor, distTag, distMajor, distKind };
}

/** Every form in docs/kernel-releases.md, with its example strings. */
const DOCUMENTED_FORMS: Row[] = [
  ['3.10.0-1160.el7.x86_64', 'kernel', '3.10.0', '1160.el7', 'x86_64', 'default', 'el7', 7, 'el'],
  ['3.10.0-1160.119.1.el7.x86_64', 'kernel', '3.10.0', '1160.119.1.el7', 'x86_64', 'default', 'el7', 7, 'el'],
  ['3.10.0-1160.6.1.el7.x86_64.debug', 'kernel-debug', '3.10.0', '1160.6.1.el7', 'x86_64', 'debug', 'el7', 7, 'el'],
  ['3.10.0-1160.rt56.1131.el7.x86_64', 'kernel-rt', '3.10.0', '1160.rt56.1131.el7', 'x86_64', 'rt', 'el7', 7, 'el'],
  [
    '3.10.0-1160.15.2.el7.centos.plus.x86_64',
    'kernel-plus',
    '3.10.0',
    '1160.15.2.el7.centos.plus',
    'x86_64',
    'plus',
    'el7',
    7,
    'el',
  ],
  ['4.14.0-115.el7a.aarch64', 'kernel', '4.14.0', '115.el7a', 'aarch64', 'default', 'el7a', 7, 'el'],
  ['4.18.0-147.el8.x86_64', 'kernel', '4.18.0', '147.el8', 'x86_64', 'default', 'el8', 8, 'el'],
  ['4.18.0-348.7.1.el8_5.x86_64', 'kernel', '4.18.0', '348.7.1.el8_5', 'x86_64', 'default', 'el8_5', 8, 'el'],
  ['4.18.0-305.3.1.el8.x86_64', 'kernel', '4.18.0', '305.3.1.el8', 'x86_64', 'default', 'el8', 8, 'el'],
  ['4.18.0-319.el8.x86_64+debug', 'kernel-debug', '4.18.0', '319.el8', 'x86_64', 'debug', 'el8', 8, 'el'],
  ['4.18.0-425.3.1.rt7.213.el8.x86_64', 'kernel-rt', '4.18.0', '425.3.1.rt7.213.el8', 'x86_64', 'rt', 'el8', 8, 'el'],
  [
    '4.18.0-353.rt7.138.el8.x86_64+debug',
    'kernel-rt-debug',
    '4.18.0',
    '353.rt7.138.el8',
    'x86_64',
    'rt-debug',
    'el8',
    8,
    'el',
  ],
  ['5.14.0-362.el9.x86_64', 'kernel', '5.14.0', '362.el9', 'x86_64', 'default', 'el9', 9, 'el'],
  ['5.14.0-284.11.1.el9_2.x86_64', 'kernel', '5.14.0', '284.11.1.el9_2', 'x86_64', 'default', 'el9_2', 9, 'el'],
  ['5.14.0-362.el9s.x86_64', 'kernel', '5.14.0', '362.el9s', 'x86_64', 'default', 'el9s', 9, 'el'],
  ['5.14.0-430.el9.x86_64+rt', 'kernel-rt', '5.14.0', '430.el9', 'x86_64', 'rt', 'el9', 9, 'el'],
  ['5.14.0-290.el9.x86_64+rt-debug', 'kernel-rt-debug', '5.14.0', '290.el9', 'x86_64', 'rt-debug', 'el9', 9, 'el'],
  ['5.14.0-354.el9.aarch64+64k', 'kernel-64k', '5.14.0', '354.el9', 'aarch64', '64k', 'el9', 9, 'el'],
  ['5.14.0-354.el9.aarch64+rt-64k', 'kernel-rt-64k', '5.14.0', '354.el9', 'aarch64', 'rt-64k', 'el9', 9, 'el'],
  ['5.4.17-2102.201.3.el8uek.x86_64', 'kernel-uek', '5.4.17', '2102.201.3.el8uek', 'x86_64', 'uek', 'el8uek', 8, 'el'],
  ['6.5.6-300.fc39.x86_64', 'kernel', '6.5.6', '300.fc39', 'x86_64', 'default', 'fc39', 39, 'fc'],
  ['6.12.0-55.el10.x86_64', 'kernel', '6.12.0', '55.el10', 'x86_64', 'default', 'el10', 10, 'el'],
];

/**
 * Real `uname -r` strings (or kernel release strings in logs, /boot and /usr/src paths, which are
 * the same string) found in public sources; the comment on each group says where.
 */
const REAL_WORLD: Row[] = [
  // EL6: HyperBDR kernel support matrix; "CentOS 6.2 (Final) w/ kernel 2.6.32-220.el6.i686" in a
  // driver README; /usr/src/kernels/2.6.32-504.el6.i686 in a build log.
  ['2.6.32-131.0.15.el6.x86_64', 'kernel', '2.6.32', '131.0.15.el6', 'x86_64', 'default', 'el6', 6, 'el'],
  ['2.6.32-220.el6.i686', 'kernel', '2.6.32', '220.el6', 'i686', 'default', 'el6', 6, 'el'],
  ['2.6.32-504.el6.i686', 'kernel', '2.6.32', '504.el6', 'i686', 'default', 'el6', 6, 'el'],
  // centosplus on EL6, EL7 and CentOS 8: a benchmark README, a login banner, `kubectl get nodes`.
  [
    '2.6.32-696.16.1.el6.centos.plus.x86_64',
    'kernel-plus',
    '2.6.32',
    '696.16.1.el6.centos.plus',
    'x86_64',
    'plus',
    'el6',
    6,
    'el',
  ],
  [
    '3.10.0-862.14.4.el7.centos.plus.x86_64',
    'kernel-plus',
    '3.10.0',
    '862.14.4.el7.centos.plus',
    'x86_64',
    'plus',
    'el7',
    7,
    'el',
  ],
  [
    '4.18.0-240.15.1.el8_3.centos.plus.x86_64',
    'kernel-plus',
    '4.18.0',
    '240.15.1.el8_3.centos.plus',
    'x86_64',
    'plus',
    'el8_3',
    8,
    'el',
  ],
  // EL7 debug kernels: a CentOS 7 GRUB menu entry; "perf version 3.10.0-1160.119.1.el7.x86_64.debug".
  ['3.10.0-957.1.3.el7.x86_64.debug', 'kernel-debug', '3.10.0', '957.1.3.el7', 'x86_64', 'debug', 'el7', 7, 'el'],
  ['3.10.0-1160.119.1.el7.x86_64.debug', 'kernel-debug', '3.10.0', '1160.119.1.el7', 'x86_64', 'debug', 'el7', 7, 'el'],
  // RHEL 6 MRG realtime: kernel-rt-3.10.0-693.2.1.rt56.585.el6 in Red Hat errata (uname = V-R.A).
  ['3.10.0-693.2.1.rt56.585.el6.x86_64', 'kernel-rt', '3.10.0', '693.2.1.rt56.585.el6', 'x86_64', 'rt', 'el6', 6, 'el'],
  // EL7 altarch: qemu-devel thread, OpenHPC docs.
  ['4.14.0-115.8.2.el7a.aarch64', 'kernel', '4.14.0', '115.8.2.el7a', 'aarch64', 'default', 'el7a', 7, 'el'],
  ['4.14.0-115.10.1.el7a.aarch64', 'kernel', '4.14.0', '115.10.1.el7a', 'aarch64', 'default', 'el7a', 7, 'el'],
  // ppc64 (big-endian, EL7): "CentOS Linux release 7.5.1804 (AltArch)" uname -a; OSUOSL POWER7 host.
  ['3.10.0-862.el7.ppc64', 'kernel', '3.10.0', '862.el7', 'ppc64', 'default', 'el7', 7, 'el'],
  ['3.10.0-1160.105.1.el7.ppc64', 'kernel', '3.10.0', '1160.105.1.el7', 'ppc64', 'default', 'el7', 7, 'el'],
  // ppc64le and s390x: kernel oops headers on LKML, a CKI test fixture.
  ['4.18.0-240.el8.ppc64le', 'kernel', '4.18.0', '240.el8', 'ppc64le', 'default', 'el8', 8, 'el'],
  ['4.18.0-442.el8.ppc64le', 'kernel', '4.18.0', '442.el8', 'ppc64le', 'default', 'el8', 8, 'el'],
  ['5.14.0-496.el9.s390x', 'kernel', '5.14.0', '496.el9', 's390x', 'default', 'el9', 9, 'el'],
  ['5.14.0-570.12.1.bringup7.el9.s390x', 'kernel', '5.14.0', '570.12.1.bringup7.el9', 's390x', 'default', 'el9', 9, 'el'],
  // CentOS 8 / Stream 8: ansible distribution fixtures (platform.release of centos_8_1, centos_stream_8).
  ['4.18.0-257.el8.x86_64', 'kernel', '4.18.0', '257.el8', 'x86_64', 'default', 'el8', 8, 'el'],
  // RHEL 8.6 on OpenShift CoreOS (`uname -r` in a crash-tool guide); RHEL 8.10 z-stream.
  ['4.18.0-372.73.1.el8_6.x86_64', 'kernel', '4.18.0', '372.73.1.el8_6', 'x86_64', 'default', 'el8_6', 8, 'el'],
  ['4.18.0-477.27.1.el8_8.x86_64', 'kernel', '4.18.0', '477.27.1.el8_8', 'x86_64', 'default', 'el8_8', 8, 'el'],
  // Rocky's rebuild suffix after the dist tag: linuxhw "Rocky Linux - Tested Hardware" report;
  // "Rocky Linux release 8.6 (Green Obsidian)" with 4.18.0-372.16.1.el8_6.0.1.
  ['4.18.0-348.el8.0.2.x86_64', 'kernel', '4.18.0', '348.el8.0.2', 'x86_64', 'default', 'el8', 8, 'el'],
  ['4.18.0-372.16.1.el8_6.0.1.x86_64', 'kernel', '4.18.0', '372.16.1.el8_6.0.1', 'x86_64', 'default', 'el8_6', 8, 'el'],
  ['5.14.0-162.12.1.el9_1.0.1.x86_64', 'kernel', '5.14.0', '162.12.1.el9_1.0.1', 'x86_64', 'default', 'el9_1', 9, 'el'],
  // leapp-repository tests (repos/system_upgrade/common/libraries/tests/test_kernel_lib.py).
  [
    '5.14.0-284.11.1.rt14.296.el9_2.x86_64',
    'kernel-rt',
    '5.14.0',
    '284.11.1.rt14.296.el9_2',
    'x86_64',
    'rt',
    'el9_2',
    9,
    'el',
  ],
  ['5.14.0-354.el9.x86_64+rt', 'kernel-rt', '5.14.0', '354.el9', 'x86_64', 'rt', 'el9', 9, 'el'],
  // The RPM provide spells it +rt_64k; leapp treats both spellings as the rt-64k kernel.
  ['5.14.0-354.el9.aarch64+rt_64k', 'kernel-rt-64k', '5.14.0', '354.el9', 'aarch64', 'rt-64k', 'el9', 9, 'el'],
  // EL9.4+ RT: openshift/driver-toolkit PR #154; kernel splats on LKML; a CKI build.
  ['5.14.0-427.18.1.el9_4.x86_64+rt', 'kernel-rt', '5.14.0', '427.18.1.el9_4', 'x86_64', 'rt', 'el9_4', 9, 'el'],
  [
    '5.14.0-503.23.1.el9_5.x86_64+rt-debug',
    'kernel-rt-debug',
    '5.14.0',
    '503.23.1.el9_5',
    'x86_64',
    'rt-debug',
    'el9_5',
    9,
    'el',
  ],
  [
    '5.14.0-528.5693_1539899881.el9.x86_64+rt-debug',
    'kernel-rt-debug',
    '5.14.0',
    '528.5693_1539899881.el9',
    'x86_64',
    'rt-debug',
    'el9',
    9,
    'el',
  ],
  ['5.14.0-438.el9s.x86_64+rt', 'kernel-rt', '5.14.0', '438.el9s', 'x86_64', 'rt', 'el9s', 9, 'el'],
  ['6.10.0-15.el10.x86_64+rt-debug', 'kernel-rt-debug', '6.10.0', '15.el10', 'x86_64', 'rt-debug', 'el10', 10, 'el'],
  [
    '6.11.0-0.rc5.22.el10.x86_64+rt-debug',
    'kernel-rt-debug',
    '6.11.0',
    '0.rc5.22.el10',
    'x86_64',
    'rt-debug',
    'el10',
    10,
    'el',
  ],
  // 64k pages: kdump-utils comment "vmlinuz-5.14.0-327.el9.aarch64+64k-debug"; an EL10 RT-64k splat.
  ['5.14.0-327.el9.aarch64+64k-debug', 'kernel-64k-debug', '5.14.0', '327.el9', 'aarch64', '64k-debug', 'el9', 9, 'el'],
  [
    '6.12.0-131.1473_2053543615.el10.aarch64+rt-64k',
    'kernel-rt-64k',
    '6.12.0',
    '131.1473_2053543615.el10',
    'aarch64',
    'rt-64k',
    'el10',
    10,
    'el',
  ],
  // EL10 GA: RHEL 10.0 hostnamectl, a Rocky 10 manifest.
  ['6.12.0-55.el10.aarch64', 'kernel', '6.12.0', '55.el10', 'aarch64', 'default', 'el10', 10, 'el'],
  ['6.12.0-228.el10.x86_64', 'kernel', '6.12.0', '228.el10', 'x86_64', 'default', 'el10', 10, 'el'],
  // Oracle UEK: OCI kdump tutorial (crash --osrelease), drgn-tools docstring, Oracle ACFS
  // weak-modules call (`with kernel 3.8.13-68.3.4.el6uek.x86_64.debug`), a WSL build of UEK7.
  ['5.15.0-202.135.2.el8uek.x86_64', 'kernel-uek', '5.15.0', '202.135.2.el8uek', 'x86_64', 'uek', 'el8uek', 8, 'el'],
  [
    '4.14.35-2047.516.2.4.el7uek.x86_64',
    'kernel-uek',
    '4.14.35',
    '2047.516.2.4.el7uek',
    'x86_64',
    'uek',
    'el7uek',
    7,
    'el',
  ],
  [
    '3.8.13-68.3.4.el6uek.x86_64.debug',
    'kernel-uek-debug',
    '3.8.13',
    '68.3.4.el6uek',
    'x86_64',
    'uek-debug',
    'el6uek',
    6,
    'el',
  ],
  [
    '5.15.0-106.131.4.el8uek.x86_64.debug',
    'kernel-uek-debug',
    '5.15.0',
    '106.131.4.el8uek',
    'x86_64',
    'uek-debug',
    'el8uek',
    8,
    'el',
  ],
  // Fedora: dracut test list; rc kernels with +debug in amdgpu bug reports on LKML.
  ['6.2.11-200.fc37.x86_64', 'kernel', '6.2.11', '200.fc37', 'x86_64', 'default', 'fc37', 37, 'fc'],
  ['6.4.0-0.rc7.53.fc39.x86_64+debug', 'kernel-debug', '6.4.0', '0.rc7.53.fc39', 'x86_64', 'debug', 'fc39', 39, 'fc'],
  [
    '6.3.0-0.rc2.20230317git38e04b3e4240.27.fc39.x86_64+debug',
    'kernel-debug',
    '6.3.0',
    '0.rc2.20230317git38e04b3e4240.27.fc39',
    'x86_64',
    'debug',
    'fc39',
    39,
    'fc',
  ],
  // Fedora i686 PAE, dot form then plus form: KASLD output on Fedora 15; an IRC log; a bash guide.
  ['2.6.38.6-26.rc1.fc15.i686.PAE', 'kernel-PAE', '2.6.38.6', '26.rc1.fc15', 'i686', 'pae', 'fc15', 15, 'fc'],
  ['3.11.10-301.fc20.i686+PAE', 'kernel-PAE', '3.11.10', '301.fc20', 'i686', 'pae', 'fc20', 20, 'fc'],
  ['4.17.19-100.fc27.i686+PAE', 'kernel-PAE', '4.17.19', '100.fc27', 'i686', 'pae', 'fc27', 27, 'fc'],
];

describe('parseKernelRelease', () => {
  it.each(DOCUMENTED_FORMS)('parses the docs/kernel-releases.md form %s', (...row) => {
    expect(parseKernelRelease(row[0])).toEqual(asRelease(row));
  });

  it.each(REAL_WORLD)('parses the real kernel %s', (...row) => {
    expect(parseKernelRelease(row[0])).toEqual(asRelease(row));
  });

  it('parses the +rt-64k-debug variant the kernel spec lists (no public uname of it was found)', () => {
    expect(parseKernelRelease('6.12.0-55.el10.aarch64+rt-64k-debug')).toEqual(
      asRelease([
        '6.12.0-55.el10.aarch64+rt-64k-debug',
        'kernel-rt-64k-debug',
        '6.12.0',
        '55.el10',
        'aarch64',
        'rt-64k-debug',
        'el10',
        10,
        'el',
      ]),
    );
  });

  it('ignores the newline that `uname -r` prints', () => {
    expect(parseKernelRelease('5.14.0-362.el9.x86_64\n').uname).toBe('5.14.0-362.el9.x86_64');
  });

  const FORM = '(expected VERSION-RELEASE.ARCH[+FLAVOUR], e.g. 4.18.0-348.7.1.el8_5.x86_64)';
  const SUFFIXES = 'known: +debug, +rt, +rt-debug, +64k, +64k-debug, +rt-64k, +rt-64k-debug, +PAE, .debug, .PAE';
  const ARCHES = 'expected one of x86_64, aarch64, ppc64le, s390x, ppc64, i686';

  const ERRORS: [input: string, message: string][] = [
    ['foo', `kernel release "foo" is not a form kdebuginfo knows ${FORM}`],
    ['', `kernel release "" is not a form kdebuginfo knows ${FORM}`],
    ['4.18.0', `kernel release "4.18.0" is not a form kdebuginfo knows ${FORM}`],
    ['4.18.0-348.el8 x86_64', `kernel release "4.18.0-348.el8 x86_64" is not a form kdebuginfo knows ${FORM}`],
    // This development machine's own kernel (Firecracker guest).
    ['6.18.44-fc-v595', `kernel release "6.18.44-fc-v595" is not a form kdebuginfo knows ${FORM}`],
    ['5.14.0-362.el9.x86_64+', `kernel release "5.14.0-362.el9.x86_64+" is not a form kdebuginfo knows ${FORM}`],
    // Debian 12 cloud (docs/kernel-releases.md), Ubuntu, Debian 11 backport of 6.1, Debian 13, Debian backports.
    ...['6.1.0-56-cloud-amd64', '5.15.0-91-generic', '6.1.0-0.deb11.17-amd64', '6.12.38+deb13-amd64', '6.10.11+bpo-amd64'].map(
      (d): [string, string] => [
        d,
        `kernel release "${d}" looks like a Debian/Ubuntu kernel, not an RPM one (VERSION-RELEASE.ARCH[+FLAVOUR], e.g. 4.18.0-348.7.1.el8_5.x86_64): for Debian/Ubuntu pass --os debian:MAJOR or --os ubuntu:YY.MM, or leave --os out`,
      ],
    ),
    // EL5 put no arch in uname; a Raspberry Pi kernel on Rocky (linuxhw report); an unknown arch.
    ['2.6.18-419.el5', `kernel release "2.6.18-419.el5" does not end in an architecture kdebuginfo knows ("el5"; ${ARCHES})`],
    ['5.10.52-v8.1.el8', `kernel release "5.10.52-v8.1.el8" does not end in an architecture kdebuginfo knows ("el8"; ${ARCHES})`],
    [
      '6.12.0-55.el10.riscv64',
      `kernel release "6.12.0-55.el10.riscv64" does not end in an architecture kdebuginfo knows ("riscv64"; ${ARCHES})`,
    ],
    // Amazon Linux 2 (`uname -r` in a Docker tutorial), Fedora ELN (LTP report), RHEL 6 MRG's el6rt.
    [
      '5.10.157-139.675.amzn2.x86_64',
      'kernel release "5.10.157-139.675.amzn2.x86_64" has no dist tag kdebuginfo knows in its release "139.675.amzn2" (expected elN, elN_M, el7a, aa7a, elNs, elNuek or fcNN, e.g. 4.18.0-348.7.1.el8_5.x86_64)',
    ],
    [
      '6.15.0-0.rc3.20250423gitbc3372351d0c.30.eln147.aarch64+64k',
      'kernel release "6.15.0-0.rc3.20250423gitbc3372351d0c.30.eln147.aarch64+64k" has no dist tag kdebuginfo knows in its release "0.rc3.20250423gitbc3372351d0c.30.eln147" (expected elN, elN_M, el7a, aa7a, elNs, elNuek or fcNN, e.g. 4.18.0-348.7.1.el8_5.x86_64)',
    ],
    [
      '3.10.33-rt32.43.el6rt.x86_64',
      'kernel release "3.10.33-rt32.43.el6rt.x86_64" is not a form kdebuginfo knows (expected VERSION-RELEASE.ARCH[+FLAVOUR], e.g. 4.18.0-348.7.1.el8_5.x86_64)',
    ],
    // ELRepo kernel-ml and a custom build, both seen in the wild: not distribution kernels.
    [
      '5.14.1-1.el8.elrepo.x86_64',
      'kernel release "5.14.1-1.el8.elrepo.x86_64" has ".elrepo" after its dist tag el8, which kdebuginfo does not know (known: .centos.plus, and numeric rebuild suffixes like the .0.1 of 4.18.0-372.16.1.el8_6.0.1)',
    ],
    [
      '3.10.0-229.1.2.47109.MSSr1.el7.centos.x86_64',
      'kernel release "3.10.0-229.1.2.47109.MSSr1.el7.centos.x86_64" has ".centos" after its dist tag el7, which kdebuginfo does not know (known: .centos.plus, and numeric rebuild suffixes like the .0.1 of 4.18.0-372.16.1.el8_6.0.1)',
    ],
    // Fedora Asahi Remix 16k-page kernels (several public notes).
    [
      '6.14.2-401.asahi.fc42.aarch64+16k',
      `kernel release "6.14.2-401.asahi.fc42.aarch64+16k" has a flavour suffix kdebuginfo does not know ("+16k"; ${SUFFIXES})`,
    ],
    [
      '3.10.0-1160.el7.x86_64.kdump',
      `kernel release "3.10.0-1160.el7.x86_64.kdump" has a flavour suffix kdebuginfo does not know (".kdump"; ${SUFFIXES})`,
    ],
    [
      '3.10.0-1160.el7.x86_64.debug.x',
      `kernel release "3.10.0-1160.el7.x86_64.debug.x" has a flavour suffix kdebuginfo does not know (".debug.x"; ${SUFFIXES})`,
    ],
    // Right flavour, wrong spelling for the dist generation.
    [
      '3.10.0-1160.el7.x86_64+debug',
      'kernel release "3.10.0-1160.el7.x86_64+debug" does not fit its dist tag: el7 kernels spell the flavour ".debug", not "+debug"',
    ],
    [
      '4.18.0-319.el8.x86_64.debug',
      'kernel release "4.18.0-319.el8.x86_64.debug" does not fit its dist tag: el8 kernels spell the flavour "+debug", not ".debug"',
    ],
    [
      '5.4.17-2102.201.3.el8uek.x86_64+debug',
      'kernel release "5.4.17-2102.201.3.el8uek.x86_64+debug" does not fit its dist tag: el8uek kernels spell the flavour ".debug", not "+debug"',
    ],
    // Flavours that do not exist where they are claimed.
    [
      '4.18.0-425.3.1.el8.x86_64+rt',
      'kernel release "4.18.0-425.3.1.el8.x86_64+rt" has flavour "+rt", which is only used by EL9 and later kernels (this one is el8)',
    ],
    [
      '5.14.0-354.el9.x86_64+64k',
      'kernel release "5.14.0-354.el9.x86_64+64k" has flavour "+64k", which exists only on aarch64 (this one is x86_64)',
    ],
    [
      '2.6.32-358.14.1.el6.i686.PAE',
      'kernel release "2.6.32-358.14.1.el6.i686.PAE" has flavour ".PAE", which is only used by Fedora kernels (this one is el6)',
    ],
    [
      '3.11.10-301.fc20.x86_64+PAE',
      'kernel release "3.11.10-301.fc20.x86_64+PAE" has flavour "+PAE", which exists only on i686 (this one is x86_64)',
    ],
    [
      '5.14.0-284.11.1.rt14.296.el9_2.x86_64+rt',
      'kernel release "5.14.0-284.11.1.rt14.296.el9_2.x86_64+rt" has flavour "+rt" on a real-time (rtNN) release, a combination kdebuginfo does not know',
    ],
    [
      '3.10.0-1160.el7.centos.plus.x86_64.debug',
      'kernel release "3.10.0-1160.el7.centos.plus.x86_64.debug" has flavour ".debug" on a centos.plus release, a combination kdebuginfo does not know',
    ],
  ];

  it.each(ERRORS)('rejects %j with a UsageError naming it', (input, message) => {
    let caught: unknown;
    try {
      parseKernelRelease(input);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).message).toBe(message);
    expect((caught as UsageError).exitCode).toBe(2);
  });
});

describe('isSeparateRtBuild', () => {
  it.each([
    ['3.10.0-1160.rt56.1131.el7.x86_64', true],
    ['4.18.0-353.rt7.138.el8.x86_64+debug', true],
    ['5.14.0-284.11.1.rt14.296.el9_2.x86_64', true],
    ['5.14.0-430.el9.x86_64+rt', false],
    ['5.14.0-362.el9.x86_64', false],
  ])('%s -> %s', (uname, expected) => {
    expect(isSeparateRtBuild(parseKernelRelease(uname))).toBe(expected);
  });
});

describe('distTagInfo', () => {
  it('splits the release around the dist tag', () => {
    expect(distTagInfo(parseKernelRelease('4.18.0-372.16.1.el8_6.0.1.x86_64'))).toEqual({
      kind: 'el',
      major: 8,
      minor: 6,
      variant: '',
      before: ['372', '16', '1'],
      after: ['0', '1'],
    });
    expect(distTagInfo(parseKernelRelease('5.4.17-2102.201.3.el8uek.x86_64'))).toMatchObject({
      variant: 'uek',
      minor: undefined,
    });
  });
});

describe('what a user types instead of a release (first hour)', () => {
  it('the CentOS 7 AltArch aarch64 form aa7a is EL7 altarch, like el7a', () => {
    const k = parseKernelRelease('3.19.0-0.80.aa7a.aarch64');
    expect(k).toMatchObject({ version: '3.19.0', release: '0.80.aa7a', arch: 'aarch64', distTag: 'aa7a', distKind: 'el', distMajor: 7, flavor: 'default', family: 'kernel' });
  });

  it('a package name is named as one, with the release to pass instead', () => {
    expect(() => parseKernelRelease('kernel-4.18.0-348.7.1.el8_5.x86_64')).toThrow(
      'kernel release "kernel-4.18.0-348.7.1.el8_5.x86_64" is a package name, not a kernel release: pass the release as uname -r prints it (--kernel 4.18.0-348.7.1.el8_5.x86_64)',
    );
    expect(() => parseKernelRelease('kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm')).toThrow('(--kernel 4.18.0-348.7.1.el8_5.x86_64)');
  });

  it('RPM-shaped strings are recognised as such, whatever the host (so their error is the RPM parser\'s)', () => {
    for (const s of ['4.18.0-348.7.1.el8_5', 'kernel-4.18.0-348.7.1.el8_5.x86_64', '3.19.0-0.80.aa7a.aarch64', '6.5.6-300.fc39.x86_64']) expect(looksLikeRpmKernel(s), s).toBe(true);
    for (const s of ['6.1.0-56-cloud-amd64', '6.8.0-45-generic', '6.12.38+deb13-amd64']) expect(looksLikeRpmKernel(s), s).toBe(false);
  });
});
