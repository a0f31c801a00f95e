import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  compareDebKernelReleases,
  compareDebWithStapPrep,
  ddebsSourceLines,
  debFileName,
  debImagePackages,
  debOsFromOsRelease,
  debPackagesFor,
  debPaths,
  hasDdebsSource,
  inferDebOs,
  isDebKernelRelease,
  looksLikeDebKernelRelease,
  nearestKernelPackages,
  parseDebKernelRelease,
  parseDebOsFlag,
  runningBuildVersion,
  splitDebVersion,
  type DebKernelRelease,
} from '../../src/core/debian.js';
import { parseOsReleaseFields } from '../../src/core/os-release.js';
import { parseStapPrepOutput } from '../../src/core/stap-prep.js';
import { UsageError } from '../../src/errors.js';
import { readCaptured } from '../support/captured-output.js';

/** fixtures/captured/apt/ uses the same format as stap/ and stap-prep/ (the helper's kind list predates it). */
const apt = (name: string) => readCaptured('apt' as Parameters<typeof readCaptured>[0], name);
const osReleaseFixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/os-release/${name}`, import.meta.url)), 'utf8');

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('parseDebKernelRelease', () => {
  // [uname -r, family, version, abi, flavor, arch, debianMajor]; where each was seen is in src/core/debian.ts.
  const TABLE: Array<[string, 'debian' | 'ubuntu', string, string, string, string | undefined, number | undefined]> = [
    // Debian 12: this machine's apt lists (fixtures/captured/apt/pkgnames-debug.txt).
    ['6.1.0-56-cloud-amd64', 'debian', '6.1.0', '56', 'cloud', 'amd64', undefined],
    ['6.1.0-47-amd64', 'debian', '6.1.0', '47', 'default', 'amd64', undefined],
    ['6.1.0-47-rt-amd64', 'debian', '6.1.0', '47', 'rt', 'amd64', undefined],
    ['6.12.107+deb12-cloud-amd64', 'debian', '6.12.107', 'deb12', 'cloud', 'amd64', 12],
    // Debian 13's form (public sources), backports, Debian 11 backports of 6.1, unstable.
    ['6.12.38+deb13-amd64', 'debian', '6.12.38', 'deb13', 'default', 'amd64', 13],
    ['6.12.38+deb13-arm64', 'debian', '6.12.38', 'deb13', 'default', 'arm64', 13],
    ['6.10.11+bpo-amd64', 'debian', '6.10.11', 'bpo', 'default', 'amd64', undefined],
    ['6.1.0-0.deb11.17-amd64', 'debian', '6.1.0', '0.deb11.17', 'default', 'amd64', 11],
    ['6.1.0-0.deb11.7-powerpc64le', 'debian', '6.1.0', '0.deb11.7', 'default', 'ppc64el', 11],
    ['5.10.0-0.bpo.5-amd64', 'debian', '5.10.0', '0.bpo.5', 'default', 'amd64', undefined],
    ['6.6.13-amd64', 'debian', '6.6.13', '', 'default', 'amd64', undefined],
    ['6.1.0-20-686-pae', 'debian', '6.1.0', '20', 'pae', 'i386', undefined],
    ['6.1.0-20-686', 'debian', '6.1.0', '20', 'default', 'i386', undefined],
    ['5.10.0-23-armmp-lpae', 'debian', '5.10.0', '23', 'lpae', 'armhf', undefined],
    ['6.1.0-13-rt-arm64', 'debian', '6.1.0', '13', 'rt', 'arm64', undefined],
    ['4.19.0-16-amd64', 'debian', '4.19.0', '16', 'default', 'amd64', undefined],
    // Ubuntu.
    ['6.8.0-45-generic', 'ubuntu', '6.8.0', '45', 'generic', undefined, undefined],
    ['5.15.0-1064-aws', 'ubuntu', '5.15.0', '1064', 'aws', undefined, undefined],
    ['6.8.0-1015-azure', 'ubuntu', '6.8.0', '1015', 'azure', undefined, undefined],
    ['6.5.0-1024-oem', 'ubuntu', '6.5.0', '1024', 'oem', 'amd64', undefined],
    ['5.15.0-91-lowlatency', 'ubuntu', '5.15.0', '91', 'lowlatency', undefined, undefined],
    ['6.17.0-1007-aws', 'ubuntu', '6.17.0', '1007', 'aws', undefined, undefined],
    ['6.8.0-49-generic-64k', 'ubuntu', '6.8.0', '49', 'generic-64k', 'arm64', undefined],
    ['6.8.0-1004-raspi', 'ubuntu', '6.8.0', '1004', 'raspi', undefined, undefined],
    ['2.6.32-37-generic', 'ubuntu', '2.6.32', '37', 'generic', undefined, undefined],
  ];

  it.each(TABLE)('%s', (uname, family, version, abi, flavor, arch, debianMajor) => {
    const k = parseDebKernelRelease(uname);
    expect(k).toEqual({ uname, family, version, abi, flavor, flavorTag: uname.slice(uname.length - k.flavorTag.length), arch, ...(debianMajor === undefined ? {} : { debianMajor }) });
    // The family, when already known, gives the same answer.
    expect(parseDebKernelRelease(uname, family)).toEqual(k);
    expect(isDebKernelRelease(uname)).toBe(true);
  });

  it('ignores surrounding whitespace (uname -r output)', () => {
    expect(parseDebKernelRelease('6.1.0-56-cloud-amd64\n').uname).toBe('6.1.0-56-cloud-amd64');
  });

  it('with the distribution known to be Ubuntu, accepts a flavour kdebuginfo has not seen', () => {
    expect(parseDebKernelRelease('6.8.0-1008-nvidia-tegra', 'ubuntu')).toMatchObject({ family: 'ubuntu', flavor: 'nvidia-tegra', arch: undefined });
  });

  const ERRORS: Array<[string, 'debian' | 'ubuntu' | undefined, string]> = [
    // This development machine's own kernel (a Firecracker guest).
    [
      '6.18.44-fc-v595',
      undefined,
      'kernel release "6.18.44-fc-v595" has a flavour ("fc-v595") that is neither Debian\'s nor Ubuntu\'s as kdebuginfo knows them (e.g. 6.1.0-56-cloud-amd64, 6.12.38+deb13-amd64 (Debian) or 6.8.0-45-generic, 5.15.0-1064-aws (Ubuntu))',
    ],
    [
      '5.14.0-362.el9.x86_64',
      undefined,
      'kernel release "5.14.0-362.el9.x86_64" is not a Debian or Ubuntu kernel release (e.g. 6.1.0-56-cloud-amd64, 6.12.38+deb13-amd64 (Debian) or 6.8.0-45-generic, 5.15.0-1064-aws (Ubuntu))',
    ],
    [
      '6.8.0-45-generic',
      'debian',
      'kernel release "6.8.0-45-generic" does not end in a Debian flavour kdebuginfo knows ("generic"; a Debian flavour ends in its architecture: amd64, cloud-amd64, rt-amd64, arm64, 686-pae, ...)',
    ],
    ['6.12.38+deb13-amd64', 'ubuntu', 'kernel release "6.12.38+deb13-amd64" is not an Ubuntu kernel release (Ubuntu\'s are VERSION-ABI-FLAVOUR, e.g. 6.8.0-45-generic)'],
    [
      '6.1.0-56-foo-amd64',
      undefined,
      'kernel release "6.1.0-56-foo-amd64" has a flavour ("foo-amd64") that is neither Debian\'s nor Ubuntu\'s as kdebuginfo knows them (e.g. 6.1.0-56-cloud-amd64, 6.12.38+deb13-amd64 (Debian) or 6.8.0-45-generic, 5.15.0-1064-aws (Ubuntu))',
    ],
    ['', undefined, 'kernel release "" is not a Debian or Ubuntu kernel release (e.g. 6.1.0-56-cloud-amd64, 6.12.38+deb13-amd64 (Debian) or 6.8.0-45-generic, 5.15.0-1064-aws (Ubuntu))'],
  ];
  it.each(ERRORS)('rejects %j (family %s), naming it', (uname, family, message) => {
    const err = usageError(() => parseDebKernelRelease(uname, family));
    expect(err.message).toBe(message);
    expect(err.exitCode).toBe(2);
    expect(err.hint).toBe(family === undefined ? 'name the distribution with --os debian:MAJOR or --os ubuntu:YY.MM' : undefined);
  });

  it('looksLikeDebKernelRelease: the shape alone, not RPM releases', () => {
    expect(looksLikeDebKernelRelease('6.1.0-56-cloud-amd64')).toBe(true);
    expect(looksLikeDebKernelRelease('6.18.44-fc-v595')).toBe(true);
    expect(looksLikeDebKernelRelease('4.18.0-348.7.1.el8_5.x86_64')).toBe(false);
  });
});

describe('which distribution release a kernel belongs to', () => {
  const infer = (uname: string, unameV?: string) => inferDebOs(parseDebKernelRelease(uname), unameV);
  it.each([
    ['6.1.0-56-cloud-amd64', 'debian', '12', 'bookworm', 'inferred Debian 12 from its 6.1 series (Debian 12\'s kernel)'],
    ['5.10.0-23-amd64', 'debian', '11', 'bullseye', 'inferred Debian 11 from its 5.10 series (Debian 11\'s kernel)'],
    ['6.12.38+deb13-amd64', 'debian', '13', 'trixie', 'inferred Debian 13 from the deb13 in 6.12.38+deb13-amd64'],
    // Debian 12 also carries the 6.12 kernels (bookworm-security): the +deb12 decides, not the series.
    ['6.12.107+deb12-cloud-amd64', 'debian', '12', 'bookworm', 'inferred Debian 12 from the deb12 in 6.12.107+deb12-cloud-amd64'],
    ['6.1.0-0.deb11.17-amd64', 'debian', '11', 'bullseye', 'inferred Debian 11 from the 0.deb11.17 in 6.1.0-0.deb11.17-amd64'],
    ['6.8.0-45-generic', 'ubuntu', '24.04', 'noble', "inferred Ubuntu 24.04 from its 6.8 series (Ubuntu 24.04's general-availability kernel; an HWE kernel of an older LTS needs --os)"],
    ['5.15.0-1064-aws', 'ubuntu', '22.04', 'jammy', "inferred Ubuntu 22.04 from its 5.15 series (Ubuntu 22.04's general-availability kernel; an HWE kernel of an older LTS needs --os)"],
  ])('%s -> %s %s', (uname, id, version, codename, reason) => {
    expect(infer(uname)).toEqual({ os: { id, version, name: `${id === 'debian' ? 'Debian' : 'Ubuntu'} ${version}`, codename }, reason });
  });

  it('an HWE kernel says its base release in uname -v (6.17 on 24.04, seen on AWS)', () => {
    expect(infer('6.17.0-1007-aws', '#7~24.04.1-Ubuntu SMP Thu Jan 22 20:37:30 UTC 2026')).toEqual({
      os: { id: 'ubuntu', version: '24.04', name: 'Ubuntu 24.04', codename: 'noble' },
      reason: 'inferred Ubuntu 24.04 from uname -v (~24.04)',
    });
  });

  it('backports and unstable kernels say no release: nothing inferred', () => {
    expect(infer('6.10.11+bpo-amd64')).toBeUndefined();
    expect(infer('6.6.13-amd64')).toBeUndefined();
  });
});

describe('os-release and --os for Debian and Ubuntu', () => {
  const fromText = (text: string) => debOsFromOsRelease(parseOsReleaseFields(text), '/etc/os-release');

  it('Debian 12 (this machine)', () => {
    expect(fromText(osReleaseFixture('debian-12'))).toEqual({ id: 'debian', version: '12', name: 'Debian 12', codename: 'bookworm' });
  });

  it('Ubuntu 24.04 (a public `cat /etc/os-release` of 24.04.1)', () => {
    const text = [
      'PRETTY_NAME="Ubuntu 24.04.1 LTS"',
      'NAME="Ubuntu"',
      'VERSION_ID="24.04"',
      'VERSION="24.04.1 LTS (Noble Numbat)"',
      'VERSION_CODENAME=noble',
      'ID=ubuntu',
      'ID_LIKE=debian',
      'HOME_URL="https://www.ubuntu.com/"',
      'UBUNTU_CODENAME=noble',
      'LOGO=ubuntu-logo',
    ].join('\n');
    expect(fromText(text)).toEqual({ id: 'ubuntu', version: '24.04', name: 'Ubuntu 24.04', codename: 'noble' });
  });

  it('Linux Mint 20.1 runs Ubuntu 20.04\'s kernels (ID_LIKE=ubuntu, UBUNTU_CODENAME=focal)', () => {
    const text = ['NAME="Linux Mint"', 'VERSION="20.1 (Ulyssa)"', 'ID=linuxmint', 'ID_LIKE=ubuntu', 'VERSION_ID="20.1"', 'VERSION_CODENAME=ulyssa', 'UBUNTU_CODENAME=focal'].join('\n');
    expect(fromText(text)).toEqual({ id: 'ubuntu', version: '20.04', name: 'Ubuntu 20.04', codename: 'focal' });
  });

  it('Debian testing/sid has no VERSION_ID: the codename stands in', () => {
    expect(fromText('PRETTY_NAME="Debian GNU/Linux trixie/sid"\nID=debian\nVERSION_CODENAME=trixie\n')).toEqual({ id: 'debian', version: '13', name: 'Debian 13', codename: 'trixie' });
    expect(fromText('ID=debian\nVERSION_CODENAME=duke\n')).toEqual({ id: 'debian', version: 'duke', name: 'Debian duke', codename: 'duke' });
  });

  it('other distributions are not ours to read', () => {
    expect(fromText(osReleaseFixture('fedora-39'))).toBeUndefined();
    expect(fromText(osReleaseFixture('rocky-9'))).toBeUndefined();
  });

  it('ID=ubuntu without a version is an error naming the flag', () => {
    const err = usageError(() => fromText('ID=ubuntu\n'));
    expect(err.message).toBe('/etc/os-release: ID=ubuntu but no VERSION_ID= line kdebuginfo can read (expected e.g. VERSION_ID="24.04")');
    expect(err.hint).toBe('pass --os ubuntu:VERSION, e.g. --os ubuntu:24.04');
  });

  it.each([
    ['debian:12', { id: 'debian', version: '12', name: 'Debian 12', codename: 'bookworm' }],
    ['debian:13', { id: 'debian', version: '13', name: 'Debian 13', codename: 'trixie' }],
    ['debian:bookworm', { id: 'debian', version: '12', name: 'Debian 12', codename: 'bookworm' }],
    ['ubuntu:24.04', { id: 'ubuntu', version: '24.04', name: 'Ubuntu 24.04', codename: 'noble' }],
    ['ubuntu:22.04', { id: 'ubuntu', version: '22.04', name: 'Ubuntu 22.04', codename: 'jammy' }],
    ['ubuntu:noble', { id: 'ubuntu', version: '24.04', name: 'Ubuntu 24.04', codename: 'noble' }],
    // A future Ubuntu release: accepted, its codename unknown until os-release says it.
    ['ubuntu:30.04', { id: 'ubuntu', version: '30.04', name: 'Ubuntu 30.04' }],
  ])('--os %s', (value, os) => {
    expect(parseDebOsFlag(value)).toEqual(os);
  });

  it('--os of an RPM distribution is not ours (undefined, for the RPM parser)', () => {
    expect(parseDebOsFlag('centos-stream:9')).toBeUndefined();
    expect(parseDebOsFlag('rocky:9')).toBeUndefined();
  });

  it.each([
    ['ubuntu:24', '--os "ubuntu:24": expected ubuntu:YY.MM (e.g. ubuntu:24.04) or a codename kdebuginfo knows'],
    ['debian:12.5', '--os "debian:12.5": expected debian:MAJOR (e.g. debian:12) or a codename kdebuginfo knows'],
    ['debian:0', '--os "debian:0": expected debian:MAJOR (e.g. debian:12) or a codename kdebuginfo knows'],
  ])('--os %s is an error', (value, start) => {
    expect(usageError(() => parseDebOsFlag(value)).message.startsWith(start)).toBe(true);
  });
});

describe('packages and paths', () => {
  const k = (uname: string) => parseDebKernelRelease(uname);

  it('Debian: linux-image-<R>-dbg and linux-headers-<R>; no -common of our own', () => {
    expect(debPackagesFor(k('6.1.0-56-cloud-amd64'))).toEqual([
      { role: 'debuginfo', names: ['linux-image-6.1.0-56-cloud-amd64-dbg'] },
      { role: 'devel', names: ['linux-headers-6.1.0-56-cloud-amd64'] },
    ]);
    expect(debImagePackages(k('6.1.0-56-cloud-amd64'))).toEqual(['linux-image-6.1.0-56-cloud-amd64', 'linux-image-6.1.0-56-cloud-amd64-unsigned']);
  });

  it('Ubuntu: the -unsigned dbgsym for signed kernels first, the plain one for unsigned flavours first', () => {
    expect(debPackagesFor(k('6.8.0-45-generic'))[0]).toEqual({
      role: 'debuginfo',
      names: ['linux-image-unsigned-6.8.0-45-generic-dbgsym', 'linux-image-6.8.0-45-generic-dbgsym'],
    });
    expect(debPackagesFor(k('6.8.0-1004-raspi'))[0]?.names).toEqual(['linux-image-6.8.0-1004-raspi-dbgsym', 'linux-image-unsigned-6.8.0-1004-raspi-dbgsym']);
    expect(debPackagesFor(k('5.15.0-1064-aws'))[1]).toEqual({ role: 'devel', names: ['linux-headers-5.15.0-1064-aws'] });
  });

  it('paths: the debug vmlinux, its lib/modules link, the headers tree (seen: fixtures/captured/apt/dpkg-listfiles-vmlinux.txt)', () => {
    const listed = apt('dpkg-listfiles-vmlinux').stdout;
    const p = debPaths('6.1.0-56-cloud-amd64');
    expect(listed).toContain(`${p.debugVmlinux}\n`);
    expect(listed).toContain(`${p.debugVmlinuxLink} -> ../../../boot/vmlinux-6.1.0-56-cloud-amd64`);
    expect(listed).toContain(`${p.buildLink} -> ${p.headersDir}`);
    expect(listed).toContain('#define UTS_RELEASE "6.1.0-56-cloud-amd64"');
    expect(p.utsRelease).toBe('/usr/src/linux-headers-6.1.0-56-cloud-amd64/include/generated/utsrelease.h');
  });

  it('file names as apt and the pool spell them', () => {
    expect(debFileName('linux-image-6.1.0-56-cloud-amd64-dbg', '6.1.192-2', 'amd64')).toBe('linux-image-6.1.0-56-cloud-amd64-dbg_6.1.192-2_amd64.deb');
    expect(debFileName('linux-image-unsigned-6.8.0-49-generic-dbgsym', '6.8.0-49.49', 'amd64')).toBe('linux-image-unsigned-6.8.0-49-generic-dbgsym_6.8.0-49.49_amd64.ddeb');
    expect(debFileName('automake', '1:1.16.5-1.3', 'all')).toBe('automake_1.16.5-1.3_all.deb');
  });

  it('splitDebVersion as dpkg reads it', () => {
    expect(splitDebVersion('6.1.192-2')).toEqual({ epoch: '', upstream: '6.1.192', revision: '2' });
    expect(splitDebVersion('6.8.0-45.45')).toEqual({ epoch: '', upstream: '6.8.0', revision: '45.45' });
    expect(splitDebVersion('6.10.11-1~bpo12+1')).toEqual({ epoch: '', upstream: '6.10.11', revision: '1~bpo12+1' });
    expect(splitDebVersion('1:1.16.5-1.3')).toEqual({ epoch: '1', upstream: '1.16.5', revision: '1.3' });
    expect(splitDebVersion('20220109.1')).toEqual({ epoch: '', upstream: '20220109.1', revision: '' });
  });
});

describe('the running kernel\'s build version', () => {
  it.each([
    ['#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-10-10)', '6.1.192-2'],
    ['#1 SMP PREEMPT_DYNAMIC Debian 6.10.11-1~bpo12+1 (2024-10-03)', '6.10.11-1~bpo12+1'],
    // Older and non-preemptible builds: the version is the 4th word (what stap-prep assumes).
    ['#1 SMP Debian 6.1.20-2~bpo11+1 (2023-04-23)', '6.1.20-2~bpo11+1'],
    ['#1 SMP Debian 4.19.98-1 (2020-01-26)', '4.19.98-1'],
    ['#1 SMP PREEMPT_DYNAMIC Thu Jun  5 18:30:46 UTC 2025', undefined],
  ])('Debian uname -v %j', (unameV, version) => {
    expect(runningBuildVersion('debian', { unameV })).toBe(version);
  });

  it.each([
    ['Ubuntu 6.8.0-45.45-generic 6.8.12', '6.8.0-45.45'],
    ['Ubuntu 2.6.20-16.29-generic', '2.6.20-16.29'],
    ['Ubuntu 5.15.0-1064.70-aws 5.15.160', '5.15.0-1064.70'],
    // The backport suffix is part of the package version (linux-image-6.8.0-1018-aws 6.8.0-1018.19~22.04.1).
    ['Ubuntu 6.8.0-1018.19~22.04.1-aws 6.8.12', '6.8.0-1018.19~22.04.1'],
    ['Ubuntu 6.8.0-40.40~22.04.3-generic 6.8.12', '6.8.0-40.40~22.04.3'],
  ])('Ubuntu /proc/version_signature %j', (versionSignature, version) => {
    expect(runningBuildVersion('ubuntu', { versionSignature })).toBe(version);
  });

  it('nothing to read: undefined', () => {
    expect(runningBuildVersion('ubuntu', {})).toBeUndefined();
    expect(runningBuildVersion('debian', {})).toBeUndefined();
  });
});

describe('nearest releases apt has (fixtures/captured/apt/pkgnames-debug.txt)', () => {
  const names = apt('pkgnames-debug').stdout.split('\n').filter(Boolean);
  it('for a release apt does not have: the same version\'s nearest ABIs of the same flavour first', () => {
    const k = parseDebKernelRelease('6.1.0-99-cloud-amd64');
    expect(nearestKernelPackages('linux-image-6.1.0-99-cloud-amd64-dbg', k, names)).toEqual([
      'linux-image-6.1.0-56-cloud-amd64-dbg',
      'linux-image-6.1.0-55-cloud-amd64-dbg',
      'linux-image-6.1.0-54-cloud-amd64-dbg',
    ]);
  });
  it('another flavour is not a neighbour; the meta-packages neither', () => {
    const k = parseDebKernelRelease('6.1.0-99-rt-amd64');
    const near = nearestKernelPackages('linux-image-6.1.0-99-rt-amd64-dbg', k, names, 10);
    expect(near.length).toBeGreaterThan(0);
    expect(near.every((n) => /-rt-amd64-dbg$/.test(n))).toBe(true);
    expect(near).not.toContain('linux-image-rt-amd64-dbg');
  });
  it('newest-installed ordering', () => {
    const ks = ['6.1.0-47-cloud-amd64', '6.1.0-56-cloud-amd64', '6.1.0-9-cloud-amd64', '6.12.107+deb12-cloud-amd64'].map((u) => parseDebKernelRelease(u));
    expect([...ks].sort(compareDebKernelReleases).map((k: DebKernelRelease) => k.uname)).toEqual([
      '6.1.0-9-cloud-amd64',
      '6.1.0-47-cloud-amd64',
      '6.1.0-56-cloud-amd64',
      '6.12.107+deb12-cloud-amd64',
    ]);
  });
});

describe('Ubuntu\'s ddebs source', () => {
  it('one deb line per pocket, signed by the ubuntu-dbgsym-keyring key', () => {
    expect(ddebsSourceLines('noble')).toBe(
      [
        "# Added by kdebuginfo: Ubuntu's debug symbol packages (linux-image-*-dbgsym)",
        'deb [signed-by=/usr/share/keyrings/ubuntu-dbgsym-keyring.gpg] http://ddebs.ubuntu.com noble main restricted universe multiverse',
        'deb [signed-by=/usr/share/keyrings/ubuntu-dbgsym-keyring.gpg] http://ddebs.ubuntu.com noble-updates main restricted universe multiverse',
        '',
      ].join('\n'),
    );
    expect(ddebsSourceLines('jammy', 'https://nexus.example.com/repository/ddebs')).toContain('https://nexus.example.com/repository/ddebs jammy-updates main');
  });

  it('finds a ddebs source among apt\'s, ours or the admin\'s, or a mirror of it', () => {
    const debianSources = apt('policy-sources').stdout.split('\n').filter((l) => l.includes('http://')).map((l) => l.trim().replace(/^\d+ /, ''));
    expect(hasDdebsSource(debianSources)).toBe(false);
    expect(hasDdebsSource(['http://ddebs.ubuntu.com noble/main amd64 Packages'])).toBe(true);
    expect(hasDdebsSource(['https://nexus.example.com/repository/ddebs noble/main amd64 Packages'], 'https://nexus.example.com/repository/ddebs')).toBe(true);
    expect(hasDdebsSource(['https://nexus.example.com/repository/ubuntu noble/main amd64 Packages'], 'https://nexus.example.com/repository/ddebs')).toBe(false);
  });
});

describe('stap-prep\'s Debian branch against our plan', () => {
  const ours = { debuginfo: 'linux-image-6.1.0-56-cloud-amd64-dbg', devel: 'linux-headers-6.1.0-56-cloud-amd64' };
  const images = ['linux-image-6.1.0-56-cloud-amd64', 'linux-image-6.1.0-56-cloud-amd64-unsigned'];

  it('real capture, kernel R "running" with -dbg and headers installed: its version mismatch is its own misreading of uname -v', () => {
    const c = apt('stap-prep-deb-kernel-installed');
    const report = parseStapPrepOutput(c.stdout, c.stderr, c.exitCode);
    expect(report.branch).toBe('deb');
    expect(report.missing).toEqual(['linux-image-6.1.0-56-cloud-amd64']);
    expect(report.versionMismatches).toEqual([
      { package: 'linux-headers-6.1.0-56-cloud-amd64', installed: '6.1.192-2', required: 'Debian' },
      { package: 'linux-image-6.1.0-56-cloud-amd64-dbg', installed: '6.1.192-2', required: 'Debian' },
    ]);
    expect(compareDebWithStapPrep(report, ours, images)).toEqual([
      'stap-prep reports linux-headers-6.1.0-56-cloud-amd64, linux-image-6.1.0-56-cloud-amd64-dbg as not matching the running kernel\'s version "Debian": that is its own misreading of uname -v (the 4th word), not a real mismatch',
    ]);
  });

  it('a real version mismatch and Ubuntu\'s wrong dbgsym name are warnings', () => {
    const stdout = [
      'Configuring for kernel release 6.8.0-45-generic',
      'Need to install linux-image-6.8.0-45-generic-dbgsym',
      'Package linux-headers-6.8.0-45-generic version 6.8.0-45.44 does not match version of currently running kernel: 6.8.0-45.45',
    ].join('\n');
    const report = parseStapPrepOutput(stdout, '', 0);
    expect(
      compareDebWithStapPrep(report, { debuginfo: 'linux-image-unsigned-6.8.0-45-generic-dbgsym', devel: 'linux-headers-6.8.0-45-generic' }, ['linux-image-6.8.0-45-generic']),
    ).toEqual([
      'stap-prep asks for linux-image-6.8.0-45-generic-dbgsym; this kernel\'s debug symbols are in linux-image-unsigned-6.8.0-45-generic-dbgsym, which kdebuginfo installs instead',
      'stap-prep: linux-headers-6.8.0-45-generic is at 6.8.0-45.44 but the running kernel is build 6.8.0-45.45',
    ]);
  });

  it('agreeing lists (the captured non-root run on this machine, for its own kernel): no warning', () => {
    const c = readCaptured('stap-prep', 'deb-nonroot');
    const report = parseStapPrepOutput(c.stdout, c.stderr, c.exitCode);
    const r = '6.18.44-fc-v595';
    expect(compareDebWithStapPrep(report, { debuginfo: `linux-image-${r}-dbg`, devel: `linux-headers-${r}` }, [`linux-image-${r}`])).toEqual([]);
  });
});
