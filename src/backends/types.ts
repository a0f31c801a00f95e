import type { PackageRole } from '../core/types.js';
import type { ResolvedPackage } from '../core/resolver.js';
import type { MirrorRewrite } from '../core/mirrors.js';
import type { PackageManagerName } from '../io/package-manager.js';
import type { OpenedBundle } from '../io/bundle-read.js';

/**
 * The packaging families kdebuginfo serves. The family is chosen once, by readTarget
 * (src/backends/target.ts); everything after asks the chosen backend, never "is this Debian?".
 */
export type Family = 'rpm' | 'deb';

/** What every command reports about the target, the same shape for both families. */
export interface TargetJson {
  /** `flavor`: the RPM Flavor, or Debian/Ubuntu's word (`cloud`, `rt`, `generic`, `aws`). */
  kernel: { uname: string; version: string; release: string; arch: string; flavor: string };
  os: { id: string; version: string; name: string };
}

export interface TargetOptions {
  kernel: string | undefined;
  os: string | undefined;
  /** Image root whose etc/os-release describes the host. */
  root: string | undefined;
}

export interface PlanOptions extends TargetOptions {
  rewrites: MirrorRewrite[];
}

export interface PlannedPackageJson {
  role: PackageRole;
  name: string;
  version: string;
  release: string;
  arch: string;
  file: string;
  candidates: string[];
}

export interface PlanResult extends TargetJson {
  packages: PlannedPackageJson[];
  notes: string[];
}

/** A package found where it can be fetched: the RPM resolver's, or apt's pool URL. */
export type Resolved = ResolvedPackage;

/** A package an offline install needs beyond the planned ones (Debian: the headers' same-build dependencies). */
export interface OfflineExtra {
  pkg: Resolved;
  dependencyOf: string;
}

/** One package of an install, as the flow sees it: what it is, and how "present" is judged. */
export interface InstallItem {
  role: PackageRole;
  name: string;
  /** The file name it is fetched as (empty when not known before resolving). */
  file: string;
  /** Key the backend's `present` answers for (RPM: name-version-release.arch; deb: the name). */
  key: string;
  size: number | null;
}

export interface InstallSettings {
  root: string;
  gpgKeys: string[];
  noGpgcheck: boolean;
  packageManager: PackageManagerName | 'auto';
  wait: boolean;
  yes: boolean;
  systemtap: boolean;
  rewrites: readonly MirrorRewrite[];
  userAgent: string;
}

/** What an install found it has to do, before it does it. */
export type InstallPlanOutcome =
  | { kind: 'resolved'; packages: Resolved[] }
  /** A dry run that stops before resolving: the message says what the real run would do first. */
  | { kind: 'would'; msg: string };

/**
 * One packaging family: how its packages are named, found, fetched, judged installed, trusted
 * and installed. A backend is bound to one target (readTarget makes it), so its methods need no
 * target argument, and the flows in src/commands are written once for both families.
 */
export interface Backend {
  readonly family: Family;
  readonly json: TargetJson;
  readonly uname: string;
  /** '/' for the host, else an image root. */
  readonly root: string;
  /** Is the target the kernel running on this host? */
  readonly isRunning: boolean;
  /** How the target was chosen (an inferred OS, an assumed architecture). */
  readonly notes: string[];

  /** Names, versions and where each package would be looked for. */
  plan(opts: { rewrites: readonly MirrorRewrite[] }): Promise<PlanResult>;
  /** Every planned package found, or a KdebuginfoError with exit 3 listing where it was looked for. */
  resolve(opts: { rewrites: readonly MirrorRewrite[]; userAgent: string; idleTimeoutMs?: number | undefined }): Promise<Resolved[]>;
  /** What an offline install needs beyond the resolved packages (download and bundle fetch it too). */
  offlineExtras(resolved: readonly Resolved[]): Promise<OfflineExtra[]>;
  /** The bundle's install.sh template and the manifest's `packaging`. */
  readonly bundleTemplate: Family;

  // --- install ---------------------------------------------------------------------------
  /** Refuse what this family cannot do (an apt install into --root, a package manager it has not). */
  checkInstall(s: InstallSettings, how: { fromBundle: boolean }, warnings: string[]): Promise<void>;
  /**
   * Before anything is fetched: what would refuse the install after the download (no trusted key,
   * a root this family cannot install into) fails now, naming the fix.
   */
  preflight(s: InstallSettings, how: { fromBundle: boolean }): Promise<void>;
  /** SystemTap itself, when missing (asked, or --yes). */
  ensureSystemtap(s: InstallSettings, warnings: string[]): Promise<void>;
  /** The packages to install: from the plan, or from a bundle's manifest. */
  installItems(s: InstallSettings, bundle: OpenedBundle | undefined): Promise<InstallItem[]>;
  /** Keys of the items installed in the root now (a broken package database is an error). */
  present(items: readonly InstallItem[]): Promise<Set<string>>;
  /** Compare with SystemTap's own stap-prep (where it can run for this target) and warn where it differs. */
  compareWithStapPrep(items: readonly InstallItem[], missing: readonly InstallItem[], warnings: string[]): Promise<void>;
  /** Find the missing items (network installs; a bundle's files are already local). */
  resolveForInstall(missing: readonly InstallItem[], s: InstallSettings, signal?: AbortSignal): Promise<InstallPlanOutcome>;
  /**
   * What else the package manager would change (for the summary), computed without changing
   * anything: `paths` are a bundle's local files, else the `ours` packages are named.
   */
  preview(ours: ReadonlyArray<{ name: string; file: string }>, paths: readonly string[] | undefined, warnings: string[]): Promise<{ extra: string; alsoInstalled: string[]; alsoFetchedBytes: number }>;
  /** Refuse files whose origin cannot be vouched for (RPM signatures; apt's signed lists for bundled .debs). */
  checkTrust(files: ReadonlyArray<{ path: string; file: string; name: string; version: string; sha256: string | null }>, s: InstallSettings, how: { fromBundle: boolean; kept: string }, warnings: string[]): Promise<void>;
  /** How messages name the install (` with apt`), and the build installed (` (build 6.1.192-2)`), or ''. */
  readonly installVia: string;
  buildNote(): string;
  /** Install local package files with the family's package manager. */
  install(paths: readonly string[], s: InstallSettings): Promise<string>;
}
