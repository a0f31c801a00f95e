/** The shapes of doctor's facts and checks (the verdicts are in src/core/doctor.ts). */
import type { KernelRelease, OsInfo, PackageSpec } from './types.js';
import type { DebKernelRelease, DebOsInfo, DebPackageCandidates, InstalledDeb } from './debian.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** What one check concludes (src/core/doctor-verdict.ts has its constructors). */
export interface Verdict {
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export type CheckId =
  | 'distro'
  | 'kernel'
  | 'stap'
  | 'compiler'
  | 'devel'
  | 'build-link'
  | 'debuginfo'
  | 'build-id'
  | 'privileges'
  | 'lockdown'
  | 'container'
  | 'stale-cache'
  | 'disk-space'
  | 'reboot-pending'
  | 'mirrors';

export interface DoctorCheck {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** What was found, one or two sentences. */
  detail: string;
  /** What to do about it; null when there is nothing to do (pass, skip). */
  fix: string | null;
}

export interface InstalledRpm {
  name: string;
  version: string;
  release: string;
  arch: string;
  /** `Requires` as `name`, `name = V-R`, `name >= V`, ... (rpmlib() entries included). */
  requires: string[];
}

export interface RpmDoctorTarget {
  packaging?: 'rpm';
  kernel: KernelRelease;
  os: OsInfo;
  /** How the OS was chosen when it was not this box's os-release (an inference from the dist tag). */
  notes: string[];
  /** The three packages at the kernel's exact version, by naming rule (packagesFor). */
  packages: PackageSpec[];
}

/** A Debian or Ubuntu kernel: two packages (no -common), installed through apt, versions from dpkg. */
export interface DebDoctorTarget {
  packaging: 'deb';
  kernel: DebKernelRelease;
  os: DebOsInfo;
  /** Debian architecture of the packages (`amd64`). */
  arch: string;
  notes: string[];
  /** The debug-symbol and headers package names to look for, in order (debPackagesFor). */
  packages: DebPackageCandidates[];
  /** The kernel image's package names: its installed version names the build of a kernel that is not running. */
  images: string[];
  /** The running kernel's own package version (`uname -v` on Debian, /proc/version_signature on Ubuntu), when it is the target. */
  runningBuild: string | undefined;
  /** Is this host's apt the target's (same distribution and release, no image root)? Only then is apt asked. */
  aptIsTarget: boolean;
}

export type DoctorTarget = RpmDoctorTarget | DebDoctorTarget;

export interface DevelTreeFacts {
  /** `/usr/src/kernels/<R>` (display path). */
  treeDir: string;
  treeExists: boolean;
  /** `/lib/modules/<R>/build` (display path). */
  linkPath: string;
  link: 'missing' | 'symlink' | 'directory' | 'other';
  /** What the symlink says (readlink), as written. */
  linkTarget: string | undefined;
  /** The directory the link leads to, inside the root (display path); undefined when dangling. */
  resolvedDir: string | undefined;
  /** `UTS_RELEASE` from `<resolved>/include/generated/utsrelease.h`. */
  utsRelease: string | undefined;
  /** Why utsRelease is missing (no file, no define). */
  utsProblem: string | undefined;
}

export interface CachedModule {
  /** Display path of the .ko. */
  path: string;
  mtimeMs: number;
  /** Kernel release from the module's `vermagic=` (.modinfo); undefined when unreadable. */
  release: string | undefined;
}

export type DiskPurpose = 'debuginfo' | 'devel' | 'downloads' | 'stap-cache';

export interface DiskFacts {
  purpose: DiskPurpose;
  /** Where the bytes would go (display path). */
  path: string;
  /** Filesystem identity (st_dev): claims on one filesystem add up. */
  device: number;
  freeBytes: number;
}

export interface MirrorProbe {
  role: string;
  file: string;
  url: string;
  ok: boolean;
  /** `HTTP 404`, `ECONNREFUSED`, `timed out`, ... */
  reason: string | undefined;
}

export interface DoctorFacts {
  /** `/`, or the image root every path was read under. */
  root: string;
  /**
   * Do the running-system checks apply? True for `/`. Under `--root`, only when the root holds
   * `proc/` or `sys/` (a snapshot of a system, or the stand-ins tests write); a real image root
   * has neither, and those checks are skipped naming the reason.
   */
  isLiveSystem: boolean;
  osRelease: { path: string; text: string } | undefined;
  /** The parsed os-release of the box, or why it does not parse (unsupported distro). */
  hostOs: { ok: true; os: OsInfo } | { ok: false; problem: string } | undefined;
  target: DoctorTarget | undefined;
  /** Why there is no target (a release that parses as no known kernel, no kernel in the root). */
  targetError: string | undefined;
  running: {
    /** `uname -r` (host) or `<root>/proc/sys/kernel/osrelease` (stand-in); undefined when unknown. */
    release: string | undefined;
    /** Where the release came from, for messages. */
    releaseSource: string | undefined;
    buildId: string | undefined;
    /** Display path of the notes file read. */
    notesPath: string;
    /** Why buildId is missing (no file, no GNU note, unreadable). */
    notesProblem: string | undefined;
  };
  user: { isRoot: boolean; groups: string[] };
  stap: {
    path: string | undefined;
    version: string | undefined;
    testedKernels: { min: string; max: string } | undefined;
    /** `stap -V`, or the systemtap package in the root's rpm database. */
    versionSource: string | undefined;
  };
  gcc: string | undefined;
  make: string | undefined;
  rpm: { ok: true; packages: InstalledRpm[] } | { ok: false; problem: string };
  /** Debian/Ubuntu targets: the target's packages and systemtap as dpkg's status file lists them; undefined for RPM targets. */
  dpkg?: { ok: true; packages: InstalledDeb[] } | { ok: false; problem: string } | undefined;
  /**
   * Debian/Ubuntu targets, when this host's apt is the target's and not --offline: the versions
   * apt offers of each package name (`apt-cache policy`, local, no network); a name apt does not
   * know is absent.
   */
  apt?: { ok: true; offers: Array<{ name: string; versions: string[]; sources: string[] }> } | { ok: false; problem: string } | undefined;
  devel: DevelTreeFacts | undefined;
  debuginfo: { vmlinuxPath: string; exists: boolean; buildId: string | undefined; problem: string | undefined } | undefined;
  security: {
    /** The selected mode of `/sys/kernel/security/lockdown`: none, integrity, confidentiality. */
    lockdown: string | undefined;
    lockdownPath: string;
    /** Booted with EFI (`/sys/firmware/efi` exists). */
    efi: boolean;
    /** The SecureBoot EFI variable's value; undefined when not readable. */
    secureBoot: boolean | undefined;
    /** `/sys/module/module/parameters/sig_enforce`. */
    sigEnforce: boolean | undefined;
  };
  container: { kind: string | undefined; evidence: string[] };
  cache: {
    /** Display path of `~/.systemtap/cache`. */
    dir: string;
    exists: boolean;
    modules: CachedModule[];
    /**
     * When the running kernel (else the target) was built: mtime of lib/modules/<R>/vmlinuz,
     * /boot/vmlinuz-<R> or the build tree's .config (rpm sets package files' mtimes to the build time).
     */
    kernelTimeMs: number | undefined;
  };
  disk: DiskFacts[];
  /** Releases with a directory in `<root>/lib/modules`. */
  installedKernels: string[];
  /** undefined with --offline (and for Debian/Ubuntu targets, where apt reaches the mirrors: see `apt`). */
  mirrors: MirrorProbe[] | undefined;
  /** --offline: no mirror or apt source checks. */
  offline?: boolean;
}

export interface CheckDefinition {
  id: CheckId;
  title: string;
  /** The title on a Debian/Ubuntu box, where it names other packages. */
  debTitle?: string;
  evaluate(f: DoctorFacts): Verdict;
}

