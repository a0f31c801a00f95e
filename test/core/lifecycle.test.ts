import { describe, expect, it } from 'vitest';
import { parseKernelRelease } from '../../src/core/kernel-release.js';
import { isRecorded, judgeKernel, parseDpkgInstalledSizes, rpmBuildsOf, rpmPackagesOf, type InstalledPackage } from '../../src/core/lifecycle.js';

const rpm = (name: string, vr: string, size = 1, tid = '1700000000'): InstalledPackage => {
  const [version, release] = [vr.slice(0, vr.indexOf('-')), vr.slice(vr.indexOf('-') + 1)];
  return { name, version: version as string, release: release as string, arch: 'x86_64', key: `${name}-${vr}.x86_64`, size, installTid: tid };
};

describe('rpmPackagesOf', () => {
  const installed = [
    rpm('kernel-debuginfo', '5.14.0-362.el9'),
    rpm('kernel-debuginfo-common-x86_64', '5.14.0-362.el9'),
    rpm('kernel-devel', '5.14.0-362.el9'),
    rpm('kernel-debug-debuginfo', '5.14.0-362.el9'),
    rpm('kernel-debug-devel', '5.14.0-362.el9'),
    rpm('kernel-devel', '5.14.0-300.el9'),
    rpm('kernel-core', '5.14.0-362.el9'),
  ];
  it('a flavour gets its own debuginfo and devel, and shares the build\'s -common', () => {
    const debug = rpmPackagesOf(parseKernelRelease('5.14.0-362.el9.x86_64+debug'), installed);
    expect(debug.map((p) => [p.role, p.name])).toEqual([
      ['debuginfo', 'kernel-debug-debuginfo'],
      ['debuginfo-common', 'kernel-debuginfo-common-x86_64'],
      ['devel', 'kernel-debug-devel'],
    ]);
    expect(rpmPackagesOf(parseKernelRelease('5.14.0-362.el9.x86_64'), installed).map((p) => p.name)).toEqual(['kernel-debuginfo', 'kernel-debuginfo-common-x86_64', 'kernel-devel']);
  });
  it('groups debug and devel packages by build; the kernel image itself is not one of them', () => {
    expect([...rpmBuildsOf(installed).entries()].map(([b, ps]) => [b, ps.length])).toEqual([['5.14.0-362.el9.x86_64', 5], ['5.14.0-300.el9.x86_64', 1]]);
  });
});

describe('isRecorded', () => {
  const p = rpm('kernel-devel', '5.14.0-362.el9', 1, '1700000001');
  const record = { format: 1 as const, kernel: '5.14.0-362.el9.x86_64', family: 'rpm' as const, packages: [{ name: 'kernel-devel', key: p.key, stamp: '1700000001' }] };
  it('only the very installation recorded: same NVRA and INSTALLTID', () => {
    expect(isRecorded('rpm', p, record)).toBe(true);
    expect(isRecorded('rpm', { ...p, installTid: '1700000002' }, record)).toBe(false);
    expect(isRecorded('rpm', p, undefined)).toBe(false);
  });
});

describe('parseDpkgInstalledSizes', () => {
  it('reads Installed-Size in KiB as bytes, for packages that have one', () => {
    const status = 'Package: a\nStatus: install ok installed\nInstalled-Size: 123\nVersion: 1\n\nPackage: b\nStatus: install ok installed\nVersion: 2\n';
    expect([...parseDpkgInstalledSizes(status)]).toEqual([['a', 123 * 1024]]);
  });
});

describe('judgeKernel', () => {
  const pkgs = [
    { ...rpm('kernel-debuginfo', '5.14.0-362.el9'), role: 'debuginfo' as const },
    { ...rpm('kernel-devel', '5.14.0-362.el9'), role: 'devel' as const },
  ];
  it('names what is missing, and needs the build-id proof for the running kernel', () => {
    expect(judgeKernel({ family: 'rpm', packages: [] })).toEqual({ status: 'none', detail: 'nothing installed for it' });
    expect(judgeKernel({ family: 'rpm', packages: pkgs })).toEqual({ status: 'incomplete', detail: 'missing: debuginfo-common' });
    expect(judgeKernel({ family: 'deb', packages: pkgs, buildId: { debuginfo: undefined, running: 'ab' } }).status).toBe('mismatch');
    expect(judgeKernel({ family: 'deb', packages: pkgs, buildId: { debuginfo: 'ab', running: 'ab' } })).toEqual({ status: 'ready', detail: 'build-id ab matches the running kernel' });
  });
});
