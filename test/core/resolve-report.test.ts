import { describe, expect, it } from 'vitest';
import { describeResolveFailure, formatResolveFailure } from '../../src/core/resolve-report.js';
import { parseKernelRelease } from '../../src/core/kernel-release.js';
import { packagesFor, nvraOf } from '../../src/core/package-naming.js';
import type { Attempt } from '../../src/core/resolver.js';

/** The three packages of `uname` and attempts for them: `at(package index, location, outcome, extra)`. */
function setup(uname: string) {
  const kernel = parseKernelRelease(uname);
  const missing = packagesFor(kernel);
  const at = (i: number, location: string, outcome: Attempt['outcome'], extra: Partial<Attempt> = {}): Attempt => ({
    package: nvraOf(missing[i]!),
    location,
    method: 'repodata',
    outcome,
    ...extra,
  });
  return { kernel, missing, at };
}

describe('describeResolveFailure', () => {
  it('network when a missing package got no answer anywhere, even if another was absent where hosts answered', () => {
    const { kernel, missing, at } = setup('4.18.0-348.7.1.el8_5.x86_64');
    const attempts = [
      at(0, 'https://debuginfo.centos.org/8/x86_64/', 'absent', { nearest: ['4.18.0-348.2.1.el8_5'] }),
      at(1, 'https://debuginfo.centos.org/8/x86_64/', 'absent'),
      at(2, 'https://vault.centos.org/8.5.2111/BaseOS/x86_64/os/', 'unreachable', { reason: 'repomd.xml: ETIMEDOUT' }),
      at(2, 'https://archive.kernel.org:8443/centos-vault/8.5.2111/BaseOS/x86_64/os/Packages/', 'unreachable', { method: 'listing', reason: 'CERT_HAS_EXPIRED' }),
    ];
    const f = describeResolveFailure(missing, attempts, kernel);
    expect(f).toEqual({
      outcome: 'network',
      unreached: [missing[2]!.file],
      notFound: [missing[0]!.file, missing[1]!.file],
      answered: ['debuginfo.centos.org'],
      unreachable: [
        { host: 'vault.centos.org', reason: 'ETIMEDOUT' },
        { host: 'archive.kernel.org:8443', reason: 'CERT_HAS_EXPIRED' },
      ],
      didYouMean: '4.18.0-348.2.1.el8_5.x86_64',
    });
    expect(formatResolveFailure(f, missing, attempts).split('\n').slice(0, 2)).toEqual([
      `could not reach any mirror for ${missing[2]!.file}: vault.centos.org (ETIMEDOUT), archive.kernel.org:8443 (CERT_HAS_EXPIRED)`,
      `not found on the mirrors that answered (debuginfo.centos.org): ${missing[0]!.file}, ${missing[1]!.file}`,
    ]);
  });

  it('"did you mean": the release every missing package has, longest shared prefix first, then the newer; arch and flavour kept', () => {
    const { kernel, missing, at } = setup('3.10.0-1160.el7.x86_64.debug');
    const attempts = [
      at(0, 'https://h/a/', 'absent', { nearest: ['3.10.0-1127.el7', '3.10.0-1160.2.1.el7', '3.10.0-1062.el7'] }),
      // Only 1127 and 1062 exist for the second package: 1160.2.1 would not be a whole kernel.
      at(1, 'https://h/a/', 'absent', { nearest: ['3.10.0-1127.el7', '3.10.0-1062.el7'] }),
    ];
    expect(describeResolveFailure(missing.slice(0, 2), attempts, kernel).didYouMean).toBe('3.10.0-1127.el7.x86_64.debug');
    // 1150 and 1170 both share "3.10.0-11" with 1160: the newer.
    const tie = [at(0, 'https://h/a/', 'absent', { nearest: ['3.10.0-1150.el7', '3.10.0-1170.el7'] })];
    expect(describeResolveFailure(missing.slice(0, 1), tie, kernel).didYouMean).toBe('3.10.0-1170.el7.x86_64.debug');
    expect(describeResolveFailure(missing.slice(0, 1), [at(0, 'https://h/a/', 'absent')], kernel).didYouMean).toBeNull();
  });

  it('shows one location per missing package first, then the count of the rest', () => {
    const { kernel, missing, at } = setup('5.14.0-1.el9.x86_64');
    const attempts: Attempt[] = [];
    for (let i = 0; i < 3; i++) {
      for (let n = 0; n < 5; n++) attempts.push(at(i, `https://h${n}.example/p${i}/`, 'unavailable', { reason: 'repomd.xml: HTTP 404' }));
    }
    attempts.push(at(2, 'https://h9.example/p2/', 'absent', { nearest: ['5.14.0-2.el9'] }));
    const f = describeResolveFailure(missing, attempts, kernel);
    expect(f.outcome).toBe('not-found');
    const lines = formatResolveFailure(f, missing, attempts).split('\n');
    expect(lines.slice(0, 3)).toEqual([
      `not found on any mirror: ${missing.map((m) => m.file).join(', ')}`,
      'answered without them: h0.example, h1.example, h2.example, h3.example, h4.example, h9.example',
      'did you mean 5.14.0-2.el9.x86_64?',
    ]);
    expect(lines.slice(3)).toEqual([
      'tried 16 locations:',
      `  ${missing[0]!.name}-5.14.0-1.el9.x86_64: repodata https://h0.example/p0/: unavailable (repomd.xml: HTTP 404)`,
      `  ${missing[0]!.name}-5.14.0-1.el9.x86_64: repodata https://h1.example/p0/: unavailable (repomd.xml: HTTP 404)`,
      `  ${missing[1]!.name}-5.14.0-1.el9.x86_64: repodata https://h0.example/p1/: unavailable (repomd.xml: HTTP 404)`,
      `  ${missing[2]!.name}-5.14.0-1.el9.x86_64: repodata https://h9.example/p2/: absent; nearest there: 5.14.0-2.el9`,
      '  and 12 more (see --json or --verbose)',
    ]);
  });
});
