import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { UsageError } from '../../src/errors.js';
import { parseKernelRelease } from '../../src/core/kernel-release.js';
import {
  OS_NAMES,
  inferOsFromKernel,
  parseOsFlag,
  parseOsRelease,
  parseOsReleaseFields,
} from '../../src/core/os-release.js';
import type { OsId } from '../../src/core/types.js';

/** Real os-release captures; fixtures/os-release/SOURCES.md says where each came from. */
function fixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../fixtures/os-release/${name}`, import.meta.url)), 'utf8');
}

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('parseOsRelease on real captures', () => {
  it.each<[string, OsId, string, string]>([
    ['centos-7', 'centos', '7', 'CentOS Linux 7'],
    ['centos-8', 'centos', '8', 'CentOS Linux 8'],
    ['centos-stream-8', 'centos-stream', '8', 'CentOS Stream 8'],
    ['centos-stream-9', 'centos-stream', '9', 'CentOS Stream 9'],
    ['centos-stream-10', 'centos-stream', '10', 'CentOS Stream 10'],
    ['rhel-9', 'rhel', '9', 'Red Hat Enterprise Linux 9'],
    ['rhel-10', 'rhel', '10', 'Red Hat Enterprise Linux 10'],
    ['rocky-8', 'rocky', '8', 'Rocky Linux 8'],
    ['rocky-9', 'rocky', '9', 'Rocky Linux 9'],
    ['almalinux-8', 'almalinux', '8', 'AlmaLinux 8'],
    ['almalinux-9', 'almalinux', '9', 'AlmaLinux 9'],
    ['almalinux-10', 'almalinux', '10', 'AlmaLinux 10'],
    ['ol-8', 'ol', '8', 'Oracle Linux 8'],
    ['ol-9', 'ol', '9', 'Oracle Linux 9'],
    ['fedora-39', 'fedora', '39', 'Fedora 39'],
    ['fedora-42', 'fedora', '42', 'Fedora 42'],
  ])('%s', (file, id, version, name) => {
    expect(parseOsRelease(fixture(file), '/etc/os-release')).toEqual({ id, version, name });
  });

  it('reads Debian 12 (this machine), with its codename (src/core/debian.ts)', () => {
    expect(parseOsRelease(fixture('debian-12'), '/etc/os-release')).toEqual({ id: 'debian', version: '12', name: 'Debian 12', codename: 'bookworm' });
  });

  it('reads Ubuntu 24.04.1 (a public capture) as release 24.04 with its codename', () => {
    expect(parseOsRelease(fixture('ubuntu-24.04'), '/etc/os-release')).toEqual({ id: 'ubuntu', version: '24.04', name: 'Ubuntu 24.04', codename: 'noble' });
  });

  it('rejects Amazon Linux 2023 (amazonlinux:latest capture) without guessing from ID_LIKE="fedora"', () => {
    const amazon = [
      'NAME="Amazon Linux"',
      'VERSION="2023"',
      'ID="amzn"',
      'ID_LIKE="fedora"',
      'VERSION_ID="2023"',
      'PLATFORM_ID="platform:al2023"',
      'PRETTY_NAME="Amazon Linux 2023.3.20240312"',
    ].join('\n');
    expect(usageError(() => parseOsRelease(amazon, '/usr/lib/os-release')).message).toBe(
      '/usr/lib/os-release: ID=amzn (Amazon Linux 2023.3.20240312) is not a distribution kdebuginfo supports (supported: centos, rhel, rocky, almalinux, ol, fedora, debian, ubuntu)',
    );
  });

  it('reads VERSION_ID 8.5.2111 as major 8', () => {
    expect(parseOsRelease('ID=rocky\nVERSION_ID=8.5.2111\n', 'x')).toEqual({
      id: 'rocky',
      version: '8',
      name: 'Rocky Linux 8',
    });
  });

  it.each([
    [
      '',
      'src has no ID= line (expected an os-release file, e.g. ID="rocky" and VERSION_ID="9.3")',
    ],
    ['ID="centos"\nNAME="CentOS Linux"\n', 'src: ID=centos but no VERSION_ID= line (expected e.g. VERSION_ID="9")'],
    [
      'ID=fedora\nVERSION_ID=rawhide\n',
      'src: VERSION_ID="rawhide" is not a version kdebuginfo can read (expected a number such as 9 or 8.5.2111)',
    ],
    [
      'ID="centos"\nNAME="CentOS"\nVERSION_ID="6"\n',
      'src: ID=centos with NAME="CentOS" is neither "CentOS Linux" nor "CentOS Stream"',
    ],
  ])('rejects %j', (text, message) => {
    expect(usageError(() => parseOsRelease(text, 'src')).message).toBe(message);
  });
});

describe('parseOsReleaseFields', () => {
  it('handles quoting, escapes, comments and blank lines as os-release(5) says', () => {
    const text = [
      '# a comment',
      '',
      'NAME="Example \\"Linux\\""',
      "PRETTY_NAME='single quoted $HOME'",
      'ID=bare',
      '# VERSION="commented out"',
      'VERSION_ID="1.2"',
      'not an assignment',
      'ESCAPED="a\\\\b\\$c\\`d"',
    ].join('\n');
    expect(parseOsReleaseFields(text)).toEqual({
      NAME: 'Example "Linux"',
      PRETTY_NAME: 'single quoted $HOME',
      ID: 'bare',
      VERSION_ID: '1.2',
      ESCAPED: 'a\\b$c`d',
    });
  });

  it('keeps an unquoted RELEASE_TYPE=stable (CentOS Stream 10)', () => {
    expect(parseOsReleaseFields(fixture('centos-stream-10'))['RELEASE_TYPE']).toBe('stable');
  });
});

describe('parseOsFlag', () => {
  it.each<[string, OsId, string, string]>([
    ['centos:7', 'centos', '7', 'CentOS Linux 7'],
    ['centos:6', 'centos', '6', 'CentOS Linux 6'],
    ['centos-stream:9', 'centos-stream', '9', 'CentOS Stream 9'],
    ['rhel:8', 'rhel', '8', 'Red Hat Enterprise Linux 8'],
    ['rocky:9', 'rocky', '9', 'Rocky Linux 9'],
    ['almalinux:8', 'almalinux', '8', 'AlmaLinux 8'],
    ['ol:7', 'ol', '7', 'Oracle Linux 7'],
    ['fedora:39', 'fedora', '39', 'Fedora 39'],
  ])('%s', (value, id, version, name) => {
    expect(parseOsFlag(value)).toEqual({ id, version, name });
  });

  it.each([
    ['debian:12', { id: 'debian', version: '12', name: 'Debian 12', codename: 'bookworm' }],
    ['ubuntu:24.04', { id: 'ubuntu', version: '24.04', name: 'Ubuntu 24.04', codename: 'noble' }],
  ])('%s (src/core/debian.ts)', (value, os) => {
    expect(parseOsFlag(value)).toEqual(os);
  });

  it.each([
    [
      'rocky',
      '--os "rocky" is not of the form ID:MAJOR (ID one of centos, centos-stream, rhel, rocky, almalinux, ol, fedora, debian, ubuntu; e.g. --os centos-stream:9)',
    ],
    [
      'rocky:9.3',
      '--os "rocky:9.3" is not of the form ID:MAJOR (ID one of centos, centos-stream, rhel, rocky, almalinux, ol, fedora, debian, ubuntu; e.g. --os centos-stream:9)',
    ],
    [
      'Rocky:9',
      '--os "Rocky:9" is not of the form ID:MAJOR (ID one of centos, centos-stream, rhel, rocky, almalinux, ol, fedora, debian, ubuntu; e.g. --os centos-stream:9)',
    ],
    [
      'suse:15',
      '--os "suse:15": "suse" is not a distribution kdebuginfo supports (expected ID:MAJOR with ID one of centos, centos-stream, rhel, rocky, almalinux, ol, fedora, debian, ubuntu)',
    ],
    ['centos:9', '--os "centos:9": CentOS Linux has only majors 6, 7 and 8 (for 9 and later use centos-stream:MAJOR)'],
    ['centos-stream:7', '--os "centos-stream:7": CentOS Stream starts at 8 (for 7 and earlier use centos:MAJOR)'],
    ['rhel:0', '--os "rhel:0": 0 is not a major version of Red Hat Enterprise Linux'],
  ])('rejects %j', (value, message) => {
    const err = usageError(() => parseOsFlag(value));
    expect(err.message).toBe(message);
    expect(err.exitCode).toBe(2);
  });
});

describe('inferOsFromKernel', () => {
  it.each<[string, OsId, string, string]>([
    ['2.6.32-131.0.15.el6.x86_64', 'centos', '6', 'inferred CentOS Linux 6 from dist tag el6'],
    ['3.10.0-1160.el7.x86_64', 'centos', '7', 'inferred CentOS Linux 7 from dist tag el7'],
    ['3.10.0-1160.rt56.1131.el7.x86_64', 'centos', '7', 'inferred CentOS Linux 7 from dist tag el7'],
    ['3.10.0-1160.15.2.el7.centos.plus.x86_64', 'centos', '7', 'inferred CentOS Linux 7 from dist tag el7'],
    ['4.14.0-115.el7a.aarch64', 'centos', '7', 'inferred CentOS Linux 7 from dist tag el7a'],
    ['4.18.0-348.7.1.el8_5.x86_64', 'centos', '8', 'inferred CentOS Linux 8 from dist tag el8_5'],
    ['4.18.0-240.15.1.el8_3.centos.plus.x86_64', 'centos', '8', 'inferred CentOS Linux 8 from dist tag el8_3'],
    [
      '4.18.0-147.el8.x86_64',
      'centos',
      '8',
      'inferred CentOS Linux 8 from dist tag el8 and build 147 (a CentOS Linux 8 release kernel)',
    ],
    [
      '4.18.0-305.3.1.el8.x86_64',
      'centos',
      '8',
      'inferred CentOS Linux 8 from dist tag el8 and build 305 (a CentOS Linux 8 release kernel)',
    ],
    // ansible's centos_stream_8 fixture runs 4.18.0-257.el8: a Stream build, not CentOS Linux 8.
    ['4.18.0-257.el8.x86_64', 'centos-stream', '8', 'inferred CentOS Stream 8 from dist tag el8'],
    ['4.18.0-319.el8.x86_64+debug', 'centos-stream', '8', 'inferred CentOS Stream 8 from dist tag el8'],
    ['5.14.0-362.el9.x86_64', 'centos-stream', '9', 'inferred CentOS Stream 9 from dist tag el9'],
    ['5.14.0-430.el9.x86_64+rt', 'centos-stream', '9', 'inferred CentOS Stream 9 from dist tag el9'],
    ['5.14.0-354.el9.aarch64+rt-64k', 'centos-stream', '9', 'inferred CentOS Stream 9 from dist tag el9'],
    ['5.14.0-362.el9s.x86_64', 'centos-stream', '9', 'inferred CentOS Stream 9 from dist tag el9s'],
    ['6.12.0-55.el10.x86_64', 'centos-stream', '10', 'inferred CentOS Stream 10 from dist tag el10'],
    // RHEL point-release and z-stream kernels (AlmaLinux 8.6's 372.9.1.el8, leapp's el9_2): never in Stream.
    [
      '4.18.0-372.9.1.el8.x86_64',
      'rocky',
      '8',
      'inferred Rocky Linux 8 from dist tag el8 (4.18.0-372.9.1.el8 is a RHEL release kernel, which CentOS Stream never ships)',
    ],
    [
      '4.18.0-425.3.1.rt7.213.el8.x86_64',
      'rocky',
      '8',
      'inferred Rocky Linux 8 from dist tag el8 (4.18.0-425.3.1.rt7.213.el8 is a RHEL release kernel, which CentOS Stream never ships)',
    ],
    [
      '4.18.0-372.73.1.el8_6.x86_64',
      'rocky',
      '8',
      'inferred Rocky Linux 8 from dist tag el8_6 (4.18.0-372.73.1.el8_6 is a RHEL release kernel, which CentOS Stream never ships)',
    ],
    [
      '5.14.0-284.11.1.el9_2.x86_64',
      'rocky',
      '9',
      'inferred Rocky Linux 9 from dist tag el9_2 (5.14.0-284.11.1.el9_2 is a RHEL release kernel, which CentOS Stream never ships)',
    ],
    [
      '4.18.0-348.el8.0.2.x86_64',
      'rocky',
      '8',
      "inferred Rocky Linux 8 from the .0.2 after dist tag el8 (Rocky's rebuild suffix)",
    ],
    [
      '5.14.0-162.12.1.el9_1.0.1.x86_64',
      'rocky',
      '9',
      "inferred Rocky Linux 9 from the .0.1 after dist tag el9_1 (Rocky's rebuild suffix)",
    ],
    [
      '5.4.17-2102.201.3.el8uek.x86_64',
      'ol',
      '8',
      'inferred Oracle Linux 8 from dist tag el8uek (Unbreakable Enterprise Kernel)',
    ],
    [
      '4.14.35-2047.516.2.4.el7uek.x86_64',
      'ol',
      '7',
      'inferred Oracle Linux 7 from dist tag el7uek (Unbreakable Enterprise Kernel)',
    ],
    ['6.5.6-300.fc39.x86_64', 'fedora', '39', 'inferred Fedora 39 from dist tag fc39'],
    ['6.4.0-0.rc7.53.fc39.x86_64+debug', 'fedora', '39', 'inferred Fedora 39 from dist tag fc39'],
  ])('%s -> %s %s', (uname, id, version, reason) => {
    expect(inferOsFromKernel(parseKernelRelease(uname))).toEqual({
      os: { id, version, name: `${OS_NAMES[id]} ${version}` },
      reason,
    });
  });
});

describe('OS_NAMES', () => {
  it('names every OsId', () => {
    expect(OS_NAMES).toEqual({
      centos: 'CentOS Linux',
      'centos-stream': 'CentOS Stream',
      rhel: 'Red Hat Enterprise Linux',
      rocky: 'Rocky Linux',
      almalinux: 'AlmaLinux',
      ol: 'Oracle Linux',
      fedora: 'Fedora',
      debian: 'Debian',
      ubuntu: 'Ubuntu',
    });
  });
});
