/**
 * doctor's package checks for Debian and Ubuntu kernels (issue 7). The box is judged by what
 * dpkg's status file lists and, online, by what apt offers; the RPM checks are in doctor.ts,
 * which dispatches here for a `packaging: 'deb'` target. Pure, like doctor.ts.
 *
 * Which build: a debug package helps only if it comes from the very build of the kernel (the
 * same build-id), and one ABI (`6.1.0-56`) can see several uploads. The build is the running
 * kernel's own version (`uname -v`, /proc/version_signature), else the installed image package's.
 * Headers from another upload of the same ABI still compile modules for it (that is what the
 * ABI promises), so a version difference there is a warning; in the debug package it is a failure.
 */
import type { DebDoctorTarget, DiskPurpose, DoctorFacts } from './doctor-types.js';
import { compareDebKernelReleases, parseDebKernelRelease, splitDebVersion, UBUNTU_DDEBS, type DebKernelRelease, type InstalledDeb } from './debian.js';
import { fail, installCommand, kdebuginfoInstall, pass, skip, warn, type Verdict } from './doctor-verdict.js';

function installedDeb(f: DoctorFacts, name: string): InstalledDeb | undefined {
  return f.dpkg?.ok ? f.dpkg.packages.find((p) => p.name === name) : undefined;
}

function namesOf(t: DebDoctorTarget, role: 'debuginfo' | 'devel'): string[] {
  return t.packages.find((p) => p.role === role)?.names ?? [];
}

/** The installed one of the role's names, else the first (the one to install). */
function packageOf(f: DoctorFacts, t: DebDoctorTarget, role: 'debuginfo' | 'devel'): { name: string; installed: InstalledDeb | undefined } {
  const names = namesOf(t, role);
  for (const name of names) {
    const installed = installedDeb(f, name);
    if (installed) return { name, installed };
  }
  return { name: names[0] as string, installed: undefined };
}

export function debDevelPackage(t: DebDoctorTarget): string {
  return namesOf(t, 'devel')[0] as string;
}

export function debDebuginfoPackage(f: DoctorFacts, t: DebDoctorTarget): string {
  return packageOf(f, t, 'debuginfo').name;
}

/** The kernel's build: the running one's version, else the installed image package's. */
export function debBuild(f: DoctorFacts, t: DebDoctorTarget): { version: string; source: string } | undefined {
  if (t.runningBuild !== undefined && f.running.release === t.kernel.uname) {
    return { version: t.runningBuild, source: t.kernel.family === 'ubuntu' ? 'the running kernel, /proc/version_signature' : 'the running kernel, uname -v' };
  }
  for (const name of t.images) {
    const image = installedDeb(f, name);
    if (image) return { version: image.version, source: `the installed ${name}` };
  }
  return undefined;
}

/**
 * The upstream Linux version of the kernel: the build's package version says it
 * (`6.1.192-2` -> `6.1.192` for `6.1.0-56-cloud-amd64`), else an installed package of this
 * release does, else only the release string's (`6.1.0`).
 */
export function debKernelUpstream(f: DoctorFacts, t: DebDoctorTarget): string {
  const version = debBuild(f, t)?.version ?? packageOf(f, t, 'devel').installed?.version ?? packageOf(f, t, 'debuginfo').installed?.version;
  if (version === undefined) return t.kernel.version;
  // Ubuntu's upstream part is `6.8.0` already; Debian's is the real stable release.
  return splitDebVersion(version).upstream.replace(/[~+].*$/, '');
}

function pinned(name: string, version: string | undefined): string {
  return version === undefined ? name : `${name}=${version}`;
}

export function checkDevelDeb(f: DoctorFacts, t: DebDoctorTarget): Verdict {
  const { name, installed } = packageOf(f, t, 'devel');
  const build = debBuild(f, t);
  const fix = `${kdebuginfoInstall(f, t)} (or ${installCommand(f, [pinned(name, build?.version)])})`;
  if (!f.dpkg?.ok) {
    const problem = f.dpkg?.problem ?? 'not read';
    if (f.devel?.treeExists) return warn(`${f.devel.treeDir} exists, but dpkg's status could not be read (${problem})`, `check that ${name} is installed`);
    return fail(`${name}: dpkg's status could not be read (${problem}) and ${f.devel?.treeDir ?? `/usr/src/linux-headers-${t.kernel.uname}`} does not exist`, fix);
  }
  if (!installed) return fail(`${name} is not installed`, fix);
  if (f.devel && !f.devel.treeExists) {
    return fail(`${name} ${installed.version} is installed but ${f.devel.treeDir} is missing`, `reinstall it: ${installCommand(f, ['--reinstall', name])}`);
  }
  if (build && installed.version !== build.version) {
    return warn(
      `${name} ${installed.version} is installed, but the kernel is build ${build.version} (${build.source}): the same ABI, so modules compile, but not the same sources`,
      `${installCommand(f, [pinned(name, build.version)])}`,
    );
  }
  return pass(`${name} ${installed.version} installed`);
}

export function checkDebuginfoDeb(f: DoctorFacts, t: DebDoctorTarget): Verdict {
  const { name, installed } = packageOf(f, t, 'debuginfo');
  const build = debBuild(f, t);
  const ddebs = t.os.id === 'ubuntu' ? `it adds Ubuntu's debug symbol archive, ${UBUNTU_DDEBS.url}, to apt if missing; ` : '';
  const fix = `${kdebuginfoInstall(f, t)} (${ddebs}or ${installCommand(f, [pinned(name, build?.version)])})`;
  const vmlinux = f.debuginfo;
  if (!f.dpkg?.ok) {
    const problem = f.dpkg?.problem ?? 'not read';
    if (vmlinux?.exists) return warn(`${vmlinux.vmlinuxPath} exists, but dpkg's status could not be read (${problem})`, `check that ${name} is installed`);
    return fail(`${name}: dpkg's status could not be read (${problem}) and ${vmlinux?.vmlinuxPath ?? 'the debug vmlinux'} does not exist`, fix);
  }
  if (!installed) return fail(`${name} is not installed`, fix);
  if (build && installed.version !== build.version) {
    return fail(
      `${name} ${installed.version} is from another build than the kernel (${build.version}, ${build.source}): its DWARF does not describe this kernel`,
      `${installCommand(f, [pinned(name, build.version)])} (${kdebuginfoInstall(f, t)} pins it)`,
    );
  }
  if (vmlinux && !vmlinux.exists) {
    return fail(`${name} ${installed.version} is installed but ${vmlinux.vmlinuxPath} is missing`, `reinstall it: ${installCommand(f, ['--reinstall', name])}`);
  }
  return pass(`${name} ${installed.version} installed${vmlinux ? ` (${vmlinux.vmlinuxPath})` : ''}`);
}

/** What the missing packages will take on disk (see DISK_NEEDS). */
export function debMissingPurposes(f: DoctorFacts, t: DebDoctorTarget): DiskPurpose[] {
  if (!f.dpkg?.ok) return [];
  const out: DiskPurpose[] = [];
  if (!packageOf(f, t, 'debuginfo').installed) out.push('debuginfo', 'downloads');
  if (!packageOf(f, t, 'devel').installed) out.push('devel');
  return out;
}

export function checkRebootPendingDeb(f: DoctorFacts, running: string): Verdict {
  const family = f.target?.packaging === 'deb' ? f.target.kernel.family : f.hostOs?.ok ? (f.hostOs.os.id === 'ubuntu' ? 'ubuntu' : 'debian') : undefined;
  let runningKernel: DebKernelRelease;
  try {
    runningKernel = parseDebKernelRelease(running, family);
  } catch {
    return skip(`the running kernel ${running} is not a Debian or Ubuntu kernel release`);
  }
  const same = f.installedKernels.flatMap((k) => {
    try {
      const parsed = parseDebKernelRelease(k, runningKernel.family);
      return parsed.flavorTag === runningKernel.flavorTag ? [parsed] : [];
    } catch {
      return [];
    }
  });
  same.sort(compareDebKernelReleases);
  const newest = same[same.length - 1];
  if (newest && compareDebKernelReleases(newest, runningKernel) > 0) {
    return warn(
      `kernel ${newest.uname} is installed but ${running} is running: a reboot is pending`,
      `after the reboot the probe needs packages for ${newest.uname}: kdebuginfo install --kernel ${newest.uname} (now, so they are there at boot)`,
    );
  }
  return pass(`${running} is the newest installed ${runningKernel.flavorTag} kernel`);
}

/**
 * Does apt here offer the target's packages at the build's version? Asked only when this host's
 * apt is the target's; apt, not kdebuginfo, reaches the mirrors on Debian and Ubuntu.
 */
export function checkMirrorsDeb(f: DoctorFacts, t: DebDoctorTarget): Verdict {
  if (f.offline) return skip('--offline');
  if (!t.aptIsTarget) return skip(`apt on this machine does not serve ${t.os.name}${f.root === '/' ? '' : ` (--root ${f.root})`}: run doctor on the target itself`);
  if (f.apt === undefined) return skip('apt was not asked');
  if (!f.apt.ok) return warn(`apt-cache policy failed: ${f.apt.problem}`, 'run apt-cache policy yourself to see why (a damaged list: apt-get update)');
  const offered = f.apt.offers;
  const build = debBuild(f, t);
  const problems: string[] = [];
  const offers: string[] = [];
  const archive = t.os.id === 'ubuntu' ? 'Launchpad (launchpad.net/ubuntu/+source/linux)' : 'snapshot.debian.org';
  let fix = `apt-get update${build ? `; builds that have left the archive are on ${archive}` : ''}`;
  for (const role of ['debuginfo', 'devel'] as const) {
    const names = namesOf(t, role);
    const known = offered.filter((a) => names.includes(a.name));
    if (known.length === 0) {
      problems.push(`apt knows no ${names.join(' or ')}`);
      if (role === 'debuginfo' && t.os.id === 'ubuntu') {
        fix = `Ubuntu's debug symbols are in the ddebs archive: kdebuginfo install adds ${UBUNTU_DDEBS.sourcesFile} (${UBUNTU_DDEBS.url}, keyring ${UBUNTU_DDEBS.keyringPackage}); then apt-get update`;
      }
      continue;
    }
    const versions = known.flatMap((a) => a.versions);
    const name = known[0]?.name as string;
    if (versions.length === 0) {
      problems.push(`apt's sources no longer offer ${name} (only the installed copy)`);
      continue;
    }
    if (build && !versions.includes(build.version)) {
      problems.push(`apt offers ${name} only at ${versions.join(', ')}, not build ${build.version}`);
      continue;
    }
    offers.push(`${name} ${build?.version ?? versions[0] ?? ''}`.trim());
  }
  if (problems.length > 0) return warn(problems.join('; '), fix);
  return pass(`apt offers ${offers.join(' and ')}`);
}
