/**
 * The lifecycle commands' pure part (`list`, `remove`): which installed packages belong to which
 * kernel, whether a kernel is ready, and which of its packages kdebuginfo may remove on its own.
 *
 * "Installed by kdebuginfo" is decided by the record the install flow writes per kernel
 * (src/io/install-record.ts): a package counts as kdebuginfo's only while it is still the very
 * installation recorded. RPM: the same NVRA with the same INSTALLTID (the transaction id rpm
 * stamps on every install, `rpm -q --qf %{INSTALLTID}`): a package the user removed and installed
 * again themselves has another one. Debian: the same name at the same version. A package that
 * was already there when kdebuginfo ran is never recorded (install records only what it installed).
 */
import type { KernelRelease } from './types.js';
import type { DebKernelRelease } from './debian.js';
import { debImagePackages, debPackagesFor } from './debian.js';
import { packagesFor } from './package-naming.js';

export type LifecycleFamily = 'rpm' | 'deb';
export type LifecycleRole = 'debuginfo' | 'debuginfo-common' | 'devel';

/** One installed package, as the package database says. */
export interface InstalledPackage {
  name: string;
  /** RPM: VERSION, RELEASE, ARCH; Debian: the version in `version`, release and arch ''. */
  version: string;
  release: string;
  arch: string;
  /** RPM: name-version-release.arch; Debian: the name. What `rpm -e` / `dpkg --remove` take. */
  key: string;
  /** Bytes on disk: RPM %{SIZE}; Debian Installed-Size (KiB) times 1024. */
  size: number;
  /** RPM %{INSTALLTID}; Debian ''. */
  installTid: string;
}

/** One package of a record: what kdebuginfo installed. */
export interface RecordedPackage {
  name: string;
  key: string;
  /** RPM: the INSTALLTID right after the install; Debian: the version installed. */
  stamp: string;
}

export interface InstallRecord {
  format: 1;
  kernel: string;
  family: LifecycleFamily;
  packages: RecordedPackage[];
}

/** The stamp a package carries now, compared with the record's. */
export function stampOf(family: LifecycleFamily, p: InstalledPackage): string {
  return family === 'rpm' ? p.installTid : p.version;
}

/** Is this installed package the very installation kdebuginfo recorded? */
export function isRecorded(family: LifecycleFamily, p: InstalledPackage, record: InstallRecord | undefined): boolean {
  return record?.packages.some((r) => r.key === p.key && r.stamp === stampOf(family, p)) ?? false;
}

export interface KernelPackage extends InstalledPackage {
  role: LifecycleRole;
}

/**
 * The installed RPMs that serve kernel k: `<family>-debuginfo` and `<family>-devel` at its exact
 * version-release.arch, and any debuginfo-common package at that version-release.arch (its name
 * is a rule, but repodata's Requires may name another: src/core/package-naming.ts). The common
 * package is shared by every flavour of one build (`+debug` too).
 */
export function rpmPackagesOf(k: KernelRelease, installed: readonly InstalledPackage[]): KernelPackage[] {
  const [debuginfo, , devel] = packagesFor(k).map((s) => s.name);
  const out: KernelPackage[] = [];
  for (const p of installed) {
    if (p.version !== k.version || p.release !== k.release || p.arch !== k.arch) continue;
    if (p.name === debuginfo) out.push({ ...p, role: 'debuginfo' });
    else if (p.name.includes('-debuginfo-common')) out.push({ ...p, role: 'debuginfo-common' });
    else if (p.name === devel) out.push({ ...p, role: 'devel' });
  }
  return byRole(out);
}

const ROLE_ORDER: readonly LifecycleRole[] = ['debuginfo', 'debuginfo-common', 'devel'];

/** In the order plan and install list them, whatever order the database gave. */
function byRole(ps: KernelPackage[]): KernelPackage[] {
  return ps.sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.key.localeCompare(b.key));
}

/** The roles an RPM kernel needs; a Debian kernel has no -common. */
export const ROLES_NEEDED: Readonly<Record<LifecycleFamily, readonly LifecycleRole[]>> = {
  rpm: ['debuginfo', 'debuginfo-common', 'devel'],
  deb: ['debuginfo', 'devel'],
};

/** The Debian/Ubuntu packages that serve kernel k, and the kernel image's installed version (its build). */
export function debPackagesOf(k: DebKernelRelease, installed: readonly InstalledPackage[]): { packages: KernelPackage[]; imageVersion: string | undefined } {
  const packages: KernelPackage[] = [];
  for (const c of debPackagesFor(k)) {
    for (const p of installed) if (c.names.includes(p.name)) packages.push({ ...p, role: c.role });
  }
  const images = debImagePackages(k);
  return { packages: byRole(packages), imageVersion: installed.find((p) => images.includes(p.name))?.version };
}

/** The installed debug and devel RPMs, grouped by the build (version-release.arch) they belong to. */
export function rpmBuildsOf(installed: readonly InstalledPackage[]): Map<string, InstalledPackage[]> {
  const out = new Map<string, InstalledPackage[]>();
  for (const p of installed) {
    if (!/-(debuginfo|devel)$|-debuginfo-common/.test(p.name)) continue;
    const build = `${p.version}-${p.release}.${p.arch}`;
    out.set(build, [...(out.get(build) ?? []), p]);
  }
  return out;
}

/** Installed-Size of every installed package in a dpkg status file, in bytes, by name. */
export function parseDpkgInstalledSizes(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const name = /^Package: *(\S+)/.exec(stanza.trimStart())?.[1];
    const kib = /^Installed-Size: *(\d+)/m.exec(stanza)?.[1];
    if (name !== undefined && kib !== undefined) out.set(name, Number(kib) * 1024);
  }
  return out;
}

export type KernelStatus = 'ready' | 'incomplete' | 'mismatch' | 'none';

/**
 * Ready means every package is there at the kernel's own build; for the running kernel, also
 * the debuginfo vmlinux's build-id equal to the running kernel's (the proof doctor uses).
 */
export function judgeKernel(o: {
  family: LifecycleFamily;
  packages: readonly KernelPackage[];
  /** Debian: the image's version; the debug package must be that build. */
  imageVersion?: string | undefined;
  buildId?: { debuginfo: string | undefined; running: string | undefined } | undefined;
}): { status: KernelStatus; detail: string } {
  if (o.packages.length === 0) return { status: 'none', detail: 'nothing installed for it' };
  const missing = ROLES_NEEDED[o.family].filter((r) => !o.packages.some((p) => p.role === r));
  if (missing.length > 0) return { status: 'incomplete', detail: `missing: ${missing.join(', ')}` };
  if (o.family === 'deb' && o.imageVersion !== undefined) {
    const other = o.packages.filter((p) => p.version !== o.imageVersion);
    if (other.length > 0) return { status: 'mismatch', detail: `${other.map((p) => `${p.name} ${p.version}`).join(', ')} is not the kernel's build ${o.imageVersion}` };
  }
  if (o.buildId) {
    const { debuginfo, running } = o.buildId;
    if (debuginfo === undefined) return { status: 'mismatch', detail: 'the debuginfo vmlinux has no build-id (or is not there)' };
    if (running === undefined) return { status: 'ready', detail: 'packages present; the running kernel exports no build-id to compare' };
    if (debuginfo !== running) return { status: 'mismatch', detail: `debuginfo build-id ${debuginfo} is not the running kernel's ${running}` };
    return { status: 'ready', detail: `build-id ${running} matches the running kernel` };
  }
  return { status: 'ready', detail: 'packages present at the kernel\'s build' };
}
