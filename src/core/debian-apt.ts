/**
 * What Debian/Ubuntu's apt and dpkg add around the package model of src/core/debian.ts: Ubuntu's
 * ddebs source, stap-prep's Debian branch compared with our list, and dpkg's status file.
 */
import type { StapPrepReport } from './stap-prep.js';

// ---------------------------------------------------------------------------------------------
// Ubuntu's debug-symbol archive
// ---------------------------------------------------------------------------------------------

export const UBUNTU_DDEBS = {
  url: 'http://ddebs.ubuntu.com',
  keyringPackage: 'ubuntu-dbgsym-keyring',
  keyring: '/usr/share/keyrings/ubuntu-dbgsym-keyring.gpg',
  /** Ours alone, so that removing it undoes exactly what kdebuginfo added. */
  sourcesFile: '/etc/apt/sources.list.d/kdebuginfo-ddebs.list',
  components: ['main', 'restricted', 'universe', 'multiverse'],
  /** Suites per release: the release pocket and -updates (where security kernels land too). */
  pockets: ['', '-updates'],
} as const;

/**
 * The apt source for Ubuntu's debug symbols: one `deb` line per pocket, signed-by the
 * ubuntu-dbgsym-keyring key. `url` lets --mirror point it at a proxy.
 */
export function ddebsSourceLines(codename: string, url: string = UBUNTU_DDEBS.url): string {
  const lines = UBUNTU_DDEBS.pockets.map(
    (p) => `deb [signed-by=${UBUNTU_DDEBS.keyring}] ${url} ${codename}${p} ${UBUNTU_DDEBS.components.join(' ')}`,
  );
  return `# Added by kdebuginfo: Ubuntu's debug symbol packages (linux-image-*-dbgsym)\n${lines.join('\n')}\n`;
}

/**
 * The indexes of the ddebs archive (at `url`, ddebs.ubuntu.com or the --mirror for it) that
 * apt-get update could not fetch: apt only warns about them and exits 0
 * (fixtures/captured/apt/ubuntu-update-ddebs-unreachable.txt).
 */
export function unreachableDdebs<T extends { url: string }>(failures: readonly T[], url: string = UBUNTU_DDEBS.url): T[] {
  const prefix = `${url.replace(/\/+$/, '')}/`;
  return failures.filter((f) => f.url.startsWith(prefix));
}

/** Does a configured apt source already serve the ddebs archive (ours, or one the admin wrote)? */
export function hasDdebsSource(sourceUrls: readonly string[], mirrorUrl: string = UBUNTU_DDEBS.url): boolean {
  const prefixes = [UBUNTU_DDEBS.url, mirrorUrl].map((u) => u.replace(/\/+$/, ''));
  return sourceUrls.some((u) => prefixes.some((p) => u === p || u.startsWith(`${p}/`) || u.startsWith(`${p} `)));
}

// ---------------------------------------------------------------------------------------------
// stap-prep's Debian branch
// ---------------------------------------------------------------------------------------------

/**
 * Where stap-prep's Debian branch (systemtap 4.8-2's /usr/bin/stap-prep, prep_deb_based) and our
 * plan disagree, as warnings. Expected, not disagreements: it also lists `make` and the kernel
 * image package itself. Its known faults:
 *  - it only knows the running kernel (it refuses a release argument on Debian/Ubuntu);
 *  - on Ubuntu it asks for `linux-image-<R>-dbgsym`, which signed kernels do not have
 *    (theirs is `linux-image-unsigned-<R>-dbgsym`);
 *  - on Debian it takes the build version as the 4th word of `uname -v`, which for
 *    `#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (...)` is the word `Debian`, so every installed
 *    package "does not match version of currently running kernel: Debian".
 * `ours` are the package names our plan uses; `imageNames` the kernel image's possible names.
 */
export function compareDebWithStapPrep(report: StapPrepReport, ours: { debuginfo: string; devel: string }, imageNames: readonly string[]): string[] {
  const warnings: string[] = [];
  const expected = new Set(['make', ...imageNames, ours.debuginfo, ours.devel]);
  const asked = [...report.missing, ...report.unavailable];
  const debugAsked = asked.filter((n) => /-dbg(sym)?$/.test(n) && n !== ours.debuginfo);
  if (debugAsked.length > 0) {
    warnings.push(`stap-prep asks for ${debugAsked.join(', ')}; this kernel's debug symbols are in ${ours.debuginfo}, which kdebuginfo installs instead`);
  }
  const other = asked.filter((n) => !expected.has(n) && !debugAsked.includes(n));
  if (other.length > 0) warnings.push(`stap-prep also asks for ${other.join(', ')}`);
  const bogus = report.versionMismatches.filter((m) => !/^\d/.test(m.required));
  if (bogus.length > 0) {
    warnings.push(
      `stap-prep reports ${bogus.map((m) => m.package).join(', ')} as not matching the running kernel's version "${bogus[0]?.required}": that is its own misreading of uname -v (the 4th word), not a real mismatch`,
    );
  }
  for (const m of report.versionMismatches.filter((x) => /^\d/.test(x.required))) {
    warnings.push(`stap-prep: ${m.package} is at ${m.installed} but the running kernel is build ${m.required}`);
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------------
// dpkg's status file
// ---------------------------------------------------------------------------------------------

export interface InstalledDeb {
  name: string;
  /** The full Debian version: `6.1.192-2`, `4.8-2`. */
  version: string;
  /** `amd64`, `all`. */
  arch: string;
}

/**
 * The installed packages in dpkg's status file (`<root>/var/lib/dpkg/status`): stanzas whose
 * Status ends in `installed` (not `config-files`, `half-installed`, ...). `wanted` limits the
 * result to those names; the stanzas of other packages are skipped at their first line, so a
 * desktop's 3 MB status file costs a few milliseconds. Reading the file, not asking dpkg-query,
 * works on an image root and on a host without dpkg (a control machine examining an image).
 */
export function parseDpkgStatus(text: string, wanted?: ReadonlySet<string>): InstalledDeb[] {
  const out: InstalledDeb[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const name = /^Package: *(\S+)/.exec(stanza.trimStart())?.[1];
    if (name === undefined || (wanted !== undefined && !wanted.has(name))) continue;
    const status = /^Status: *(.*)$/m.exec(stanza)?.[1]?.trim().split(/\s+/);
    if (status?.[2] !== 'installed') continue;
    const version = /^Version: *(\S+)/m.exec(stanza)?.[1];
    if (version === undefined) continue;
    out.push({ name, version, arch: /^Architecture: *(\S+)/m.exec(stanza)?.[1] ?? '' });
  }
  return out;
}
