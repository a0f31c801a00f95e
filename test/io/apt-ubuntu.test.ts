/**
 * The apt parsers (src/io/apt.ts) on REAL Ubuntu 24.04 output: apt 2.7.14 in a debootstrap root
 * against Ubuntu's own archive (fixtures/captured/apt/capture-ubuntu.sh; this machine has no
 * Ubuntu host). What differs from Debian 12: the Ubuntu version form (6.8.0-151.151), two
 * sources per kernel version (-updates and -security), SHA512 in --print-uris, and no -dbgsym
 * package at all until the ddebs source is added.
 */
import { describe, expect, it } from 'vitest';
import { parseAptPolicy, parseAptUpdateFailures, parsePrintUris } from '../../src/io/apt.js';
import { readCaptured } from '../support/captured-output.js';

const R = '6.8.0-151-generic';
const V = '6.8.0-151.151';

describe('apt output on Ubuntu 24.04 (real captures)', () => {
  it('apt-cache policy: the headers and image at the Ubuntu version from two pockets; no -dbgsym names without ddebs', () => {
    const p = parseAptPolicy(readCaptured('apt', 'ubuntu-policy-kernel').stdout);
    expect([...p.keys()]).toEqual([`linux-headers-${R}`, `linux-image-${R}`, `linux-image-unsigned-${R}`]);
    expect(p.get(`linux-headers-${R}`)).toEqual({
      name: `linux-headers-${R}`,
      installed: null,
      candidate: V,
      versions: [
        {
          version: V,
          priority: 500,
          isInstalled: false,
          sources: ['http://archive.ubuntu.com/ubuntu noble-updates/main amd64 Packages', 'http://security.ubuntu.com/ubuntu noble-security/main amd64 Packages'],
        },
      ],
    });
  });

  it('apt-get download --print-uris: Ubuntu\'s archive gives SHA512, not SHA256', () => {
    expect(parsePrintUris(readCaptured('apt', 'ubuntu-download-print-uris').stdout)).toEqual([
      {
        url: `http://archive.ubuntu.com/ubuntu/pool/main/l/linux/linux-headers-${R}_${V}_amd64.deb`,
        file: `linux-headers-${R}_${V}_amd64.deb`,
        size: 4016252,
        checksum: { type: 'sha512', value: expect.stringMatching(/^a19d8894b78e9a7a[0-9a-f]{112}$/) },
      },
    ]);
  });

  it('apt-get update with the ddebs source unreachable: exit 0, and the failures only in W: lines', () => {
    const c = readCaptured('apt', 'ubuntu-update-ddebs-unreachable');
    expect(c.exitCode).toBe(0);
    expect(parseAptUpdateFailures(c.stderr)).toEqual([
      { url: 'http://ddebs.ubuntu.com/dists/noble/InRelease', reason: "Could not resolve 'ddebs.ubuntu.com'" },
      { url: 'http://ddebs.ubuntu.com/dists/noble-updates/InRelease', reason: "Could not resolve 'ddebs.ubuntu.com'" },
    ]);
    expect(parseAptUpdateFailures('Hit:1 http://deb.debian.org/debian bookworm InRelease\nReading package lists...\n')).toEqual([]);
  });
});
