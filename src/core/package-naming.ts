/**
 * The three packages SystemTap needs for one kernel (docs/kernel-packages.md): `F-debuginfo`, the
 * debuginfo-common package it requires, and `F-devel`, all at the kernel's exact
 * VERSION-RELEASE.ARCH.
 *
 * The common package's name is a naming rule here; at resolve time the debuginfo package's
 * `Requires` in repodata wins (see withCommonName).
 */
import { isSeparateRtBuild } from './kernel-release.js';
import type { Flavor, KernelRelease, PackageRole, PackageSpec } from './types.js';

/** Which srpm's debuginfo-common a flavour's debuginfo package requires. */
type CommonSource =
  /** `kernel-debuginfo-common-<arch>`: the kernel srpm's `%package debuginfo-common-%{_target_cpu}`. */
  | 'kernel'
  /**
   * `kernel-rt-debuginfo-common-<arch>` when the kernel came from the separate kernel-rt srpm
   * (`rtNN` in the release: RHEL 6 MRG, EL7, EL8, EL9 up to 9.3), e.g.
   * `kernel-rt-debuginfo-common-x86_64-3.10.0-514.21.1.rt56.438.el7` and
   * `...-4.18.0-553.22.1.rt7.363.el8_10` in Red Hat errata package lists. New-form `+rt`
   * kernels (EL9.4+, EL10) are built by the kernel srpm itself, so they get `kernel`'s: inferred
   * from the kernel spec (one `debuginfo-common-%{_target_cpu}` package, required by every
   * `%kernel_debuginfo_package` variant), not seen in a repo listing.
   */
  | 'rt-by-build'
  /** `kernel-plus-debuginfo-common-<arch>`: seen on debuginfo.centos.org/7 (`...-3.10.0-1127.el7.centos.plus`). */
  | 'kernel-plus'
  /**
   * `kernel-uek-debuginfo-common`, no arch in the name: UEK's spec declares
   * `%package debuginfo-common` (it only Provides the `-<arch>` spelling), and oss.oracle.com
   * serves `ol8/debuginfo/kernel-uek-debuginfo-common-5.15.0-202.135.2.el8uek.x86_64.rpm`.
   */
  | 'kernel-uek';

/**
 * Debug flavours share their base kernel's common package: the kernel spec builds one
 * debuginfo-common per arch and every variant's debuginfo Requires it.
 */
const COMMON_SOURCE: Readonly<Record<Flavor, CommonSource>> = {
  default: 'kernel',
  debug: 'kernel',
  '64k': 'kernel',
  '64k-debug': 'kernel',
  pae: 'kernel',
  rt: 'rt-by-build',
  'rt-debug': 'rt-by-build',
  // Only the kernel srpm (EL9.4+) builds rt-64k; there is no separate-srpm form of it.
  'rt-64k': 'kernel',
  'rt-64k-debug': 'kernel',
  plus: 'kernel-plus',
  uek: 'kernel-uek',
  'uek-debug': 'kernel-uek',
};

/** Name of the debuginfo-common package the kernel's debuginfo package requires, by naming rule. */
export function commonPackageName(k: KernelRelease): string {
  switch (COMMON_SOURCE[k.flavor]) {
    case 'kernel':
      return `kernel-debuginfo-common-${k.arch}`;
    case 'rt-by-build':
      return isSeparateRtBuild(k) ? `kernel-rt-debuginfo-common-${k.arch}` : `kernel-debuginfo-common-${k.arch}`;
    case 'kernel-plus':
      return `kernel-plus-debuginfo-common-${k.arch}`;
    case 'kernel-uek':
      return 'kernel-uek-debuginfo-common';
  }
}

/** `name-version-release.arch`: how rpm names one installed package (`rpm -q` takes it). */
export function nvraOf(p: Pick<PackageSpec, 'name' | 'version' | 'release' | 'arch'>): string {
  return `${p.name}-${p.version}-${p.release}.${p.arch}`;
}

/** The package's file name on a mirror: `name-version-release.arch.rpm`. */
export function rpmFileName(p: Pick<PackageSpec, 'name' | 'version' | 'release' | 'arch'>): string {
  return `${nvraOf(p)}.rpm`;
}

function spec(role: PackageRole, name: string, version: string, release: string, arch: string): PackageSpec {
  return { role, name, version, release, arch, file: rpmFileName({ name, version, release, arch }) };
}

/**
 * Exactly three specs, in the order debuginfo, debuginfo-common, devel, each at the kernel's
 * VERSION-RELEASE.ARCH.
 */
export function packagesFor(k: KernelRelease): PackageSpec[] {
  return [
    spec('debuginfo', `${k.family}-debuginfo`, k.version, k.release, k.arch),
    spec('debuginfo-common', commonPackageName(k), k.version, k.release, k.arch),
    spec('devel', `${k.family}-devel`, k.version, k.release, k.arch),
  ];
}

/**
 * Replace the debuginfo-common spec's name, version and release (keeping its arch), for when
 * repodata's `Requires` of the debuginfo package names a different common package than the rule.
 */
export function withCommonName(
  specs: readonly PackageSpec[],
  name: string,
  version: string,
  release: string,
): PackageSpec[] {
  if (!specs.some((s) => s.role === 'debuginfo-common')) {
    throw new Error('withCommonName: the specs have no debuginfo-common entry');
  }
  return specs.map((s) => (s.role === 'debuginfo-common' ? spec(s.role, name, version, release, s.arch) : { ...s }));
}
