/**
 * `doctor`'s verdicts: facts about a box (gathered by src/io/doctor-facts.ts) in, a checklist
 * out. Pure: every check is a row of DOCTOR_CHECKS, a function of the facts alone, so tests can
 * drive each verdict from hand-written facts and the order of the table is the order printed.
 *
 * The facts name paths as the user should see them: `/lib/modules/<R>/build` on the host,
 * `<root>/lib/modules/<R>/build` under `--root`.
 */
import semver from 'semver';
import { nvraOf, rpmFileName } from './package-naming.js';
import type { PackageSpec } from './types.js';
import { formatBytes } from './format.js';
import { compareEvr } from './rpm-version.js';
import { parseKernelRelease } from './kernel-release.js';
import { fail, installCommand, isDebBox, kdebuginfoInstall, pass, skip, warn, type Verdict } from './doctor-verdict.js';
import {
  debDevelPackage,
  debDebuginfoPackage,
  debKernelUpstream,
  debMissingPurposes,
  checkDebuginfoDeb,
  checkDevelDeb,
  checkMirrorsDeb,
  checkRebootPendingDeb,
} from './doctor-deb.js';

export type { CheckStatus } from './doctor-verdict.js';

export * from './doctor-types.js';
export * from './doctor-parsers.js';
import type { CheckDefinition, DoctorCheck, DoctorFacts, DoctorTarget, InstalledRpm, RpmDoctorTarget, DiskPurpose } from './doctor-types.js';

/** Bytes each missing piece needs (sizes and their sources: docs/kernel-packages.md). */
export const DISK_NEEDS: Readonly<Record<DiskPurpose, number>> = {
  debuginfo: 4 * 1024 ** 3,
  devel: 100 * 1024 ** 2,
  downloads: 1024 ** 3,
  'stap-cache': 200 * 1024 ** 2,
};

export const NO_TARGET = 'no target kernel (see Target kernel)';

const nvra = nvraOf;

function imageRootReason(f: DoctorFacts): string {
  return `under --root ${f.root}: an image, not a running system (no proc/ or sys/ in it)`;
}

/** The target's architecture: RPM releases always say; a Debian/Ubuntu target carries the packages'. */
function targetArch(t: DoctorTarget): string {
  return t.packaging === 'deb' ? t.arch : t.kernel.arch;
}

export function isRunningTarget(f: DoctorFacts): boolean | undefined {
  if (!f.target || !f.isLiveSystem || f.running.release === undefined) return undefined;
  return f.running.release === f.target.kernel.uname;
}

function installedOf(f: DoctorFacts, name: string): InstalledRpm[] {
  return f.rpm.ok ? f.rpm.packages.filter((p) => p.name === name) : [];
}

function exactInstalled(f: DoctorFacts, spec: PackageSpec): boolean {
  return installedOf(f, spec.name).some((p) => p.version === spec.version && p.release === spec.release && p.arch === spec.arch);
}

/** "installed instead: a, b" for the same package name at other versions. */
function othersNote(f: DoctorFacts, spec: PackageSpec): string {
  const others = installedOf(f, spec.name)
    .filter((p) => !(p.version === spec.version && p.release === spec.release && p.arch === spec.arch))
    .map(nvra);
  return others.length > 0 ? `; installed instead: ${others.join(', ')}` : '';
}

/**
 * The debuginfo-common package this kernel's debuginfo really needs: its `Requires` when the
 * debuginfo package is installed (the naming rule can be wrong, docs/kernel-packages.md), else the rule's.
 */
function commonSpec(f: DoctorFacts, t: RpmDoctorTarget): PackageSpec {
  const rule = t.packages.find((p) => p.role === 'debuginfo-common') as PackageSpec;
  const debuginfo = t.packages.find((p) => p.role === 'debuginfo') as PackageSpec;
  const installed = installedOf(f, debuginfo.name).find((p) => p.version === debuginfo.version && p.release === debuginfo.release);
  const req = installed?.requires.map((r) => /^(\S*-debuginfo-common\S*) = (?:\d+:)?([^-\s]+)-(\S+)$/.exec(r)).find((m) => m !== null);
  if (!req) return rule;
  const [, name, version, release] = req as unknown as [string, string, string, string];
  return { ...rule, name, version, release, file: rpmFileName({ name, version, release, arch: rule.arch }) };
}

function specOf(t: RpmDoctorTarget, role: PackageSpec['role']): PackageSpec {
  return t.packages.find((p) => p.role === role) as PackageSpec;
}

/**
 * Is upstream kernel version `a` newer than `b` (`6.1.0-rc3` counts as `6.1.0`)? These are
 * upstream x.y.z numbers, which semver orders; RPM EVRs go through rpmvercmp instead.
 */
export function isNewerUpstream(a: string, b: string): boolean {
  const x = semver.coerce(a);
  const y = semver.coerce(b);
  return x !== null && y !== null && semver.gt(x, y);
}

// --- the checks ------------------------------------------------------------------------------

function checkDistro(f: DoctorFacts): Verdict {
  const t = f.target;
  if (f.hostOs === undefined) {
    if (t) return warn(`no os-release in ${f.root === '/' ? '/etc' : `${f.root}/etc`}; planning for ${t.os.name} (${t.notes.join('; ') || 'from --os'})`, 'pass --os ID:MAJOR to say which distribution this is');
    return fail('no os-release file: cannot tell which distribution this is', 'pass --os ID:MAJOR (e.g. --os centos-stream:9)');
  }
  if (!f.hostOs.ok) {
    if (t) {
      return fail(`${f.hostOs.problem}; the packages named here are for ${t.os.name}, which this box is not`, `run kdebuginfo doctor on the ${t.os.name} host that runs the kernel`);
    }
    return fail(f.hostOs.problem, 'kdebuginfo prepares CentOS, CentOS Stream, RHEL, Rocky, AlmaLinux, Oracle Linux, Fedora, Debian and Ubuntu boxes');
  }
  const host = f.hostOs.os;
  if (t && (t.os.id !== host.id || t.os.version !== host.version)) {
    return warn(`this box is ${host.name} but the packages are planned for ${t.os.name}`, `check --kernel and --os: on ${host.name} the kernel should carry its dist tag`);
  }
  if (host.id === 'rhel') {
    return warn(`${host.name}: no public debuginfo mirror`, "enable the subscription's debug repos and run `dnf debuginfo-install kernel-$(uname -r)`, or point --mirror at your Satellite/Pulp copy");
  }
  return pass(host.name);
}

function checkKernel(f: DoctorFacts): Verdict {
  const t = f.target;
  if (!t) {
    const inContainer = f.container.kind !== undefined && f.isLiveSystem;
    const why = f.targetError ?? 'no kernel to check';
    if (inContainer) {
      return fail(
        `${why}. This is a ${f.container.kind} container: uname -r is the host's kernel, not one this container's distribution ships`,
        'run kdebuginfo on the host, or pass --kernel with the release the host runs',
      );
    }
    return fail(why, `pass --kernel R (a uname -r string of a ${isDebBox(f) ? 'Debian or Ubuntu' : 'CentOS, RHEL, Rocky, Alma, Oracle or Fedora'} kernel)`);
  }
  const k = t.kernel;
  const what = `${k.uname} (${k.flavor} flavour, ${targetArch(t)})`;
  if (f.root !== '/' && !f.isLiveSystem) return pass(`${what}, in the image root ${f.root}`);
  const running = isRunningTarget(f);
  if (running === true) return pass(`${what}, the running kernel`);
  if (running === false) {
    return pass(`${what}; not the running kernel (${f.running.release}): only compile-time verification is possible (kdebuginfo verify --level compile)`);
  }
  return pass(what);
}

function checkStap(f: DoctorFacts): Verdict {
  const fixInstall = installCommand(f, ['systemtap', 'systemtap-runtime']);
  if (!f.stap.path) return fail(`stap is not installed${f.root === '/' ? ' (not on PATH)' : ` in ${f.root}`}`, fixInstall);
  if (!f.stap.version) return pass(`${f.stap.path} (version unknown: no systemtap package in the ${isDebBox(f) ? 'dpkg' : 'rpm'} database)`);
  const tested = f.stap.testedKernels;
  const name = `SystemTap ${f.stap.version}`;
  const detail = `${name} at ${f.stap.path}${tested ? ` (tested with kernels ${tested.min} ... ${tested.max})` : ''}`;
  const t = f.target;
  // Debian's ABI form hides the upstream version (6.1.0-56 is Linux 6.1.192): the package version says it.
  const upstream = t === undefined ? undefined : t.packaging === 'deb' ? debKernelUpstream(f, t) : t.kernel.version;
  if (tested && t && upstream && isNewerUpstream(upstream, tested.max)) {
    const packages = isDebBox(f) ? 'systemtap and systemtap-runtime' : 'systemtap, systemtap-runtime and systemtap-devel';
    return warn(
      `${detail}; kernel ${t.kernel.uname}${t.kernel.uname.startsWith(upstream) ? '' : ` (Linux ${upstream})`} is newer than any it was tested with, so pass 4 may fail inside SystemTap's own runtime`,
      `upgrade ${packages} from ${f.stap.version} to a release that supports Linux ${upstream}`,
    );
  }
  return pass(detail);
}

function checkCompiler(f: DoctorFacts): Verdict {
  const missing = [f.gcc ? undefined : 'gcc', f.make ? undefined : 'make'].filter((x): x is string => x !== undefined);
  if (missing.length > 0) {
    return fail(`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing: SystemTap compiles its probe module with them (pass 4)`, installCommand(f, missing));
  }
  return pass(`gcc (${f.gcc}), make (${f.make})`);
}

function checkDevel(f: DoctorFacts): Verdict {
  const t = f.target;
  if (!t) return skip(NO_TARGET);
  if (t.packaging === 'deb') return checkDevelDeb(f, t);
  const spec = specOf(t, 'devel');
  const want = nvra(spec);
  if (!f.rpm.ok) {
    if (f.devel?.treeExists) return warn(`${f.devel.treeDir} exists, but the rpm database could not be read (${f.rpm.problem})`, `check that ${want} is installed`);
    return fail(`${want}: the rpm database could not be read (${f.rpm.problem}) and ${f.devel?.treeDir ?? `/usr/src/kernels/${t.kernel.uname}`} does not exist`, installCommand(f, [want]));
  }
  if (exactInstalled(f, spec)) {
    if (f.devel && !f.devel.treeExists) {
      return fail(`${want} is installed but ${f.devel.treeDir} is missing`, `reinstall it: ${f.root === '/' ? 'dnf' : `dnf --installroot ${f.root}`} reinstall ${want}`);
    }
    return pass(`${want} installed`);
  }
  const others = othersNote(f, spec);
  return fail(
    `${want} is not installed${others}`,
    `${kdebuginfoInstall(f, t)} (or ${installCommand(f, [want])}); a plain \`dnf install kernel-devel\` installs the newest, not this kernel's`,
  );
}

/** The devel package's name as a fix names it, the tree it provides, and which package owns the build link. */
function develWords(t: DoctorTarget): { pkg: string; tree: string; linkOwner: string } {
  const R = t.kernel.uname;
  if (t.packaging === 'deb') {
    const pkg = debDevelPackage(t);
    return { pkg, tree: `/usr/src/linux-headers-${R}`, linkOwner: `the headers package; apt-get install --reinstall ${pkg} restores it` };
  }
  return { pkg: nvra(specOf(t, 'devel')), tree: `/usr/src/kernels/${R}`, linkOwner: `the kernel's own package; reinstalling kernel-core ${R} restores it` };
}

function checkBuildLink(f: DoctorFacts): Verdict {
  const t = f.target;
  if (!t || !f.devel) return skip(NO_TARGET);
  const d = f.devel;
  const R = t.kernel.uname;
  const w = develWords(t);
  const linkFix = `ln -sfn ${w.tree} ${d.linkPath} (the link belongs to ${w.linkOwner})`;
  if (d.link === 'missing') {
    return fail(`${d.linkPath} does not exist`, d.treeExists ? linkFix : `install ${w.pkg} first (see ${t.packaging === 'deb' ? 'linux-headers' : 'kernel-devel'}), then: ${linkFix}`);
  }
  if (d.resolvedDir === undefined) {
    return fail(`${d.linkPath} points at ${d.linkTarget ?? '?'}, which does not exist`, d.treeExists ? linkFix : `install ${w.pkg} (it provides ${w.tree})`);
  }
  const via = d.link === 'symlink' ? ` -> ${d.resolvedDir}` : ' (a directory, not a link)';
  if (d.utsRelease === undefined) {
    return fail(`${d.linkPath}${via}: not a configured kernel tree (${d.utsProblem ?? 'no include/generated/utsrelease.h'})`, `reinstall ${w.pkg}`);
  }
  if (d.utsRelease !== R) {
    return fail(
      `${d.linkPath}${via} is a tree built for ${d.utsRelease}, not ${R} (its include/generated/utsrelease.h says so)`,
      d.treeExists ? linkFix : `install ${w.pkg}, then: ${linkFix}`,
    );
  }
  return pass(`${d.linkPath}${via} (UTS_RELEASE "${R}")`);
}

function checkDebuginfo(f: DoctorFacts): Verdict {
  const t = f.target;
  if (!t) return skip(NO_TARGET);
  if (t.packaging === 'deb') return checkDebuginfoDeb(f, t);
  const specs = [specOf(t, 'debuginfo'), commonSpec(f, t)];
  const names = specs.map(nvra);
  if (!f.rpm.ok) {
    if (f.debuginfo?.exists) return warn(`${f.debuginfo.vmlinuxPath} exists, but the rpm database could not be read (${f.rpm.problem})`, `check that ${names.join(' and ')} are installed`);
    return fail(`the rpm database could not be read (${f.rpm.problem}) and ${f.debuginfo?.vmlinuxPath ?? 'the debuginfo vmlinux'} does not exist`, installCommand(f, names));
  }
  const missing = specs.filter((s) => !exactInstalled(f, s));
  if (missing.length > 0) {
    const others = missing.map((s) => othersNote(f, s)).join('');
    return fail(`not installed: ${missing.map(nvra).join(', ')}${others}`, `${kdebuginfoInstall(f, t)} (or ${installCommand(f, missing.map(nvra))})`);
  }
  if (f.debuginfo && !f.debuginfo.exists) {
    return fail(`${names.join(' and ')} are installed but ${f.debuginfo.vmlinuxPath} is missing`, `reinstall ${names[0]}`);
  }
  return pass(`${names.join(', ')} installed`);
}

function checkBuildId(f: DoctorFacts): Verdict {
  const t = f.target;
  if (!t) return skip(NO_TARGET);
  const d = f.debuginfo;
  const debugPackage = t.packaging === 'deb' ? debDebuginfoPackage(f, t) : nvra(specOf(t, 'debuginfo'));
  if (!d || !d.exists) return skip(`no debuginfo vmlinux to compare (see ${t.packaging === 'deb' ? 'the debug symbols check' : 'kernel-debuginfo'})`);
  if (d.buildId === undefined) {
    return warn(`${d.vmlinuxPath} has no GNU build-id note${d.problem ? ` (${d.problem})` : ''}: nothing to compare`, `reinstall ${debugPackage}`);
  }
  if (!f.isLiveSystem) return skip(`${imageRootReason(f)}; run doctor on the booted system to compare build-ids`);
  if (isRunningTarget(f) === false) {
    return skip(`${t.kernel.uname} is not the running kernel (${f.running.release}): only the running kernel's build-id can be read`);
  }
  const running = f.running.buildId;
  if (running === undefined) return skip(`the running kernel's build-id is unknown: ${f.running.notesProblem ?? `${f.running.notesPath} not readable`}`);
  if (running === d.buildId) return pass(`${d.buildId} in ${d.vmlinuxPath} and ${f.running.notesPath}`);
  return fail(
    `the debuginfo is from another build: ${d.vmlinuxPath} has build-id ${d.buildId}, the running kernel (${f.running.notesPath}) has ${running}`,
    t.packaging === 'deb'
      ? `install ${debugPackage} from the same build as the running kernel: kdebuginfo install --kernel ${t.kernel.uname} pins the running build's version`
      : `install kernel-debuginfo from the same build as the running kernel (${debugPackage} from your distribution's own repository; a rebuild with the same version-release is not the same build)`,
  );
}

function checkPrivileges(f: DoctorFacts): Verdict {
  if (!f.isLiveSystem) return skip(`${imageRootReason(f)}: privileges are those of whoever runs stap there`);
  if (f.user.isRoot) return pass('running as root');
  const usr = f.user.groups.includes('stapusr');
  const dev = f.user.groups.includes('stapdev');
  if (usr && dev) return pass('member of stapusr and stapdev: may compile and load probe modules');
  const fix = 'run stap as root (sudo), or: usermod -aG stapusr,stapdev <user> and log in again';
  if (usr) return warn('member of stapusr only: may load signed or pre-built modules, but not compile new ones', fix);
  return warn(`not root, and in neither stapusr nor stapdev (groups: ${f.user.groups.join(', ') || 'none'})`, fix);
}

function checkLockdown(f: DoctorFacts): Verdict {
  if (!f.isLiveSystem) return skip(`${imageRootReason(f)}: lockdown and Secure Boot belong to the booted system`);
  const s = f.security;
  const signFix =
    'probe modules must be signed: enroll a Machine Owner Key for a systemtap compile server (stap-server; stap prints the mokutil --import command) and use it with --use-server, or turn Secure Boot off in the firmware';
  if (s.lockdown === 'integrity' || s.lockdown === 'confidentiality') {
    return fail(`kernel lockdown is "${s.lockdown}" (${s.lockdownPath}): the kernel refuses unsigned modules${s.secureBoot ? ' (Secure Boot is on)' : ''}`, signFix);
  }
  if (s.sigEnforce === true) return fail('module signature enforcement is on (module.sig_enforce=1): unsigned SystemTap modules are refused', signFix);
  if (s.secureBoot === true) {
    return warn('Secure Boot is on: distribution kernels refuse unsigned modules under it, even when lockdown is not reported', signFix);
  }
  const parts = [
    s.lockdown === undefined ? 'no lockdown reported' : `lockdown "${s.lockdown}"`,
    !s.efi ? 'not booted with EFI' : s.secureBoot === false ? 'Secure Boot off' : 'Secure Boot state unknown',
  ];
  return pass(parts.join(', '));
}

function checkContainer(f: DoctorFacts): Verdict {
  if (!f.isLiveSystem) return skip(imageRootReason(f));
  const c = f.container;
  if (c.kind === undefined) return pass('not in a container');
  const release = f.running.release ?? 'unknown';
  return warn(
    `in a ${c.kind} container (${c.evidence.join(', ')}): uname -r (${release}) is the host's kernel, so the packages must be the host kernel's`,
    `probe from the host, or run a privileged container (CAP_SYS_MODULE) with the host's /lib/modules, ${isDebBox(f) ? '/usr/src' : '/usr/src/kernels'}, /usr/lib/debug and debugfs mounted`,
  );
}

function checkStaleCache(f: DoctorFacts): Verdict {
  if (!f.isLiveSystem) return skip(imageRootReason(f));
  const c = f.cache;
  if (!c.exists) return pass(`no ${c.dir} yet`);
  if (c.modules.length === 0) return pass(`${c.dir}: no compiled modules`);
  // Modules load into the running kernel: judge them against it, whatever kernel is targeted.
  const R = f.running.release ?? f.target?.kernel.uname;
  const otherRelease = c.modules.filter((m) => m.release !== undefined && R !== undefined && m.release !== R);
  const older = c.modules.filter(
    (m) => !otherRelease.includes(m) && c.kernelTimeMs !== undefined && m.mtimeMs < c.kernelTimeMs,
  );
  if (otherRelease.length === 0 && older.length === 0) return pass(`${c.dir}: ${c.modules.length} compiled module(s), none stale`);
  const parts: string[] = [];
  if (otherRelease.length > 0) {
    const releases = [...new Set(otherRelease.map((m) => m.release as string))].sort();
    parts.push(`${otherRelease.length} built for other kernels (${releases.join(', ')})`);
  }
  if (older.length > 0) parts.push(`${older.length} compiled before kernel ${R} was built`);
  return warn(
    `${c.dir}: ${parts.join('; ')}; a stale module gives "module version mismatch" at load time`,
    `rm -rf ${c.dir} (stap compiles again on the next run)`,
  );
}

function checkDiskSpace(f: DoctorFacts): Verdict {
  if (f.disk.length === 0) return skip('no filesystem to measure');
  const t = f.target;
  const wanted = new Set<DiskPurpose>(['stap-cache']);
  if (t?.packaging === 'deb') {
    for (const p of debMissingPurposes(f, t)) wanted.add(p);
  } else if (t && f.rpm.ok) {
    const debuginfoMissing = [specOf(t, 'debuginfo'), commonSpec(f, t)].some((s) => !exactInstalled(f, s));
    if (debuginfoMissing) {
      wanted.add('debuginfo');
      wanted.add('downloads');
    }
    if (!exactInstalled(f, specOf(t, 'devel'))) wanted.add('devel');
  }
  const byDevice = new Map<number, { paths: string[]; free: number; need: number; what: string[] }>();
  for (const d of f.disk) {
    if (!wanted.has(d.purpose)) continue;
    const entry = byDevice.get(d.device) ?? { paths: [], free: d.freeBytes, need: 0, what: [] };
    entry.paths.push(d.path);
    entry.need += DISK_NEEDS[d.purpose];
    entry.what.push(`${formatBytes(DISK_NEEDS[d.purpose])} ${d.purpose}`);
    byDevice.set(d.device, entry);
  }
  const all = [...byDevice.values()];
  const short = all.filter((e) => e.free < e.need);
  const describe = (e: (typeof all)[number]) => `${e.paths[0]}: ${formatBytes(e.free)} free, needs ${formatBytes(e.need)} (${e.what.join(' + ')})`;
  if (short.length > 0) return fail(short.map(describe).join('; '), 'free some space, or put the download cache elsewhere with --cache-dir DIR');
  return pass(all.map(describe).join('; '));
}

function checkRebootPending(f: DoctorFacts): Verdict {
  if (!f.isLiveSystem) return skip(imageRootReason(f));
  const running = f.running.release;
  if (running === undefined) return skip('the running kernel is unknown');
  if (isDebBox(f)) return checkRebootPendingDeb(f, running);
  const parsed = f.installedKernels.flatMap((k) => {
    try {
      return [parseKernelRelease(k)];
    } catch {
      return [];
    }
  });
  if (parsed.length === 0) return skip(`no RPM kernel under ${f.root === '/' ? '' : f.root}/lib/modules`);
  let runningKernel;
  try {
    runningKernel = parseKernelRelease(running);
  } catch {
    return skip(`the running kernel ${running} is not an RPM kernel release`);
  }
  // Compare within the running kernel's flavour: a debug kernel beside it is a choice, not an update.
  const same = parsed.filter((k) => k.flavor === runningKernel.flavor && k.arch === runningKernel.arch);
  same.sort((a, b) => compareEvr({ version: a.version, release: a.release }, { version: b.version, release: b.release }));
  const newest = same[same.length - 1];
  if (newest && compareEvr({ version: newest.version, release: newest.release }, { version: runningKernel.version, release: runningKernel.release }) > 0) {
    return warn(
      `kernel ${newest.uname} is installed but ${running} is running: a reboot is pending`,
      `after the reboot the probe needs packages for ${newest.uname}: kdebuginfo install --kernel ${newest.uname} (now, so they are there at boot)`,
    );
  }
  return pass(`${running} is the newest installed ${runningKernel.flavor} kernel`);
}

function checkMirrors(f: DoctorFacts): Verdict {
  if (f.target?.packaging === 'deb') return checkMirrorsDeb(f, f.target);
  if (f.mirrors === undefined) return skip('--offline');
  if (!f.target) return skip(NO_TARGET);
  if (f.mirrors.length === 0) return skip(`no public location for ${f.target.os.name} (name yours with --mirror)`);
  const bad = f.mirrors.filter((m) => !m.ok);
  if (bad.length === 0) return pass(`first location of each package answers: ${f.mirrors.map((m) => new URL(m.url).host).filter((h, i, a) => a.indexOf(h) === i).join(', ')}`);
  return warn(
    bad.map((m) => `${m.file}: ${m.url}: ${m.reason ?? 'failed'}`).join('; '),
    'only the first location of each package is tried here; `kdebuginfo resolve` tries them all. Check HTTPS_PROXY/HTTP_PROXY/NO_PROXY, or name a reachable mirror with --mirror FROM=TO',
  );
}

/** The checklist, in the order it is printed. */
export const DOCTOR_CHECKS: readonly CheckDefinition[] = [
  { id: 'distro', title: 'Supported distro', evaluate: checkDistro },
  { id: 'kernel', title: 'Target kernel', evaluate: checkKernel },
  { id: 'stap', title: 'SystemTap', evaluate: checkStap },
  { id: 'compiler', title: 'gcc and make', evaluate: checkCompiler },
  { id: 'devel', title: 'kernel-devel', debTitle: 'linux-headers', evaluate: checkDevel },
  { id: 'build-link', title: 'Build tree link', evaluate: checkBuildLink },
  { id: 'debuginfo', title: 'kernel-debuginfo(-common)', debTitle: 'Debug symbols', evaluate: checkDebuginfo },
  { id: 'build-id', title: 'Build-id = running kernel', evaluate: checkBuildId },
  { id: 'privileges', title: 'Privileges', evaluate: checkPrivileges },
  { id: 'lockdown', title: 'Lockdown / Secure Boot', evaluate: checkLockdown },
  { id: 'container', title: 'Container', evaluate: checkContainer },
  { id: 'stale-cache', title: 'SystemTap module cache', evaluate: checkStaleCache },
  { id: 'disk-space', title: 'Disk space', evaluate: checkDiskSpace },
  { id: 'reboot-pending', title: 'Newest kernel running', evaluate: checkRebootPending },
  { id: 'mirrors', title: 'Mirrors reachable', debTitle: 'apt sources', evaluate: checkMirrors },
];

export function evaluateDoctor(facts: DoctorFacts, checks: readonly CheckDefinition[] = DOCTOR_CHECKS): DoctorCheck[] {
  const deb = isDebBox(facts);
  return checks.map((c) => {
    const v = c.evaluate(facts);
    return { id: c.id, title: deb && c.debTitle ? c.debTitle : c.title, status: v.status, detail: v.detail, fix: v.status === 'pass' || v.status === 'skip' ? null : (v.fix ?? null) };
  });
}

/** Ready: nothing failed. Warnings are allowed. */
export function isReady(checks: readonly DoctorCheck[]): boolean {
  return checks.every((c) => c.status !== 'fail');
}
