/** Kernel flavours we know how to name packages for. */
export type Flavor =
  | 'default'
  | 'debug'
  | 'rt'
  | 'rt-debug'
  | '64k'
  | '64k-debug'
  | 'rt-64k'
  | 'rt-64k-debug'
  | 'plus'
  | 'uek'
  | 'uek-debug'
  | 'pae';

/** A parsed `uname -r`. */
export interface KernelRelease {
  /** The string as given, e.g. `4.18.0-319.el8.x86_64+debug`. */
  uname: string;
  /** Package version, e.g. `4.18.0`. */
  version: string;
  /** Package release, e.g. `319.el8` or `1160.15.2.el7.centos.plus`. */
  release: string;
  /** e.g. `x86_64`, `aarch64`, `ppc64le`, `s390x`, `i686`. */
  arch: string;
  flavor: Flavor;
  /** Package name family: `kernel`, `kernel-debug`, `kernel-rt`, `kernel-rt-debug`, `kernel-64k`, `kernel-plus`, `kernel-uek`, ... */
  family: string;
  /** Dist tag as it appears in the release, e.g. `el7`, `el8_5`, `el9`, `el9s`, `el7a`, `el8uek`, `fc39`. */
  distTag: string;
  /** Distro major derived from the dist tag: `el8` -> 8, `fc39` -> 39. */
  distMajor: number;
  /** `el` for the RHEL family, `fc` for Fedora. */
  distKind: 'el' | 'fc';
}

export type OsId = 'centos' | 'centos-stream' | 'rhel' | 'rocky' | 'almalinux' | 'ol' | 'fedora' | 'debian' | 'ubuntu';

export interface OsInfo {
  id: OsId;
  /** Major version as a string: `7`, `8`, `9`, `39`; Ubuntu's is the release, `24.04`. */
  version: string;
  /** Human name, e.g. `CentOS Stream 9`. */
  name: string;
  /** Debian/Ubuntu: `bookworm`, `noble` (apt suite names; Ubuntu's ddebs source needs it). */
  codename?: string;
}

export type PackageRole = 'debuginfo' | 'debuginfo-common' | 'devel';

export interface PackageSpec {
  role: PackageRole;
  name: string;
  version: string;
  release: string;
  arch: string;
  /** `name-version-release.arch.rpm` */
  file: string;
}
