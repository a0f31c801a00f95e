/**
 * Parses what systemtap's own `stap-prep` (4.x to 5.5) printed, so `doctor` can show its
 * verdict next to ours and say where they differ.
 *
 * stap-prep is a bash script; what it prints was read from Debian 12's /usr/bin/stap-prep
 * (systemtap 4.8) and upstream's current one, and captured for real in
 * fixtures/captured/stap-prep/ (see fixtures/captured/capture.sh). Its two branches:
 *  - rpm (lsb_release absent or not Debian/Ubuntu): `Need to install the following packages:`
 *    then one NEVRA per line (the `rpm -q` names reported `is not installed`); as root it then runs
 *    `<dnf|yum> install -y --enablerepo=\*`, re-runs `rpm -q` (`package X is not installed` lines)
 *    and on failure prints `problem installing rpm(s) <list>` with the list continuing one NEVRA a
 *    line up to `in case of file conflicts, ...`, exiting with rpm's count of missing packages.
 *    Non-root with packages missing exits 0.
 *  - deb: `Need to install <pkg>`, `You need package <pkg> but it does not seem to be available`,
 *    `Package <pkg> version <v> does not match version of currently running kernel: <v>`,
 *    `Be root or adduser <user> <group>`; with a release argument it refuses on stderr, exit 1.
 * Since 5.1 a bare number line can appear (docs/stap-prep.md: an unredirected `expr`); such lines
 * are tolerated wherever they come.
 */

export type StapPrepBranch = 'rpm' | 'deb' | 'unknown';

export type StapPrepDebuginfod = 'not-configured' | 'downloaded' | 'download-failed' | 'unknown';

export interface StapPrepVersionMismatch {
  package: string;
  installed: string;
  /** The version the running kernel needs, as stap-prep computed it. */
  required: string;
}

export interface StapPrepReport {
  exitCode: number;
  /** Which branch of the script ran, judged from what it printed; `unknown` when it printed nothing telling (all installed). */
  branch: StapPrepBranch;
  /** From `Configuring for kernel release <R>`. */
  release?: string;
  debuginfod: StapPrepDebuginfod;
  /** What stap-prep says must be installed: NEVRAs on the rpm branch, package names on the deb branch; in its order. */
  missing: string[];
  /** deb branch: packages it could not find in any configured repository. */
  unavailable: string[];
  /** deb branch: installed packages whose version is not the running kernel's. */
  versionMismatches: StapPrepVersionMismatch[];
  /** rpm branch as root: what was still missing after its own install attempt. */
  installFailed: string[];
  /** `Error:` (dnf/yum) and `E:` (apt) lines from its stderr: why its install attempt failed. */
  installErrors: string[];
  /** deb branch as non-root: the groups it suggests joining (`Be root or adduser <user> <group>`). */
  groupHints: string[];
  /** deb branch: it refused a release argument (`Specifying kernel version is not yet support ...`). */
  refusedRelease: boolean;
  /** stdout lines skipped on purpose: stray numbers, rpm's recheck, hint lines. */
  ignored: string[];
  /** stdout lines not recognised (package-manager chatter when run as root, or a newer stap-prep). */
  unrecognized: string[];
  /** Nothing missing, unavailable or mismatched, and exit 0. Says nothing about group membership. */
  isReady: boolean;
}

/**
 * A package token as stap-prep prints it: no whitespace, at least one `-`, not a bare number
 * (the stray `expr` output since 5.1). Deliberately loose: stap-prep's own names can be wrong
 * (`kernel-debug-5.14.0-290.el9+rt-.x86_64`), and those are exactly what we want to show.
 */
const PACKAGE_TOKEN = /^[A-Za-z0-9_.+~^:-]*-[A-Za-z0-9_.+~^:-]*$/;
const STRAY_NUMBER = /^\s*\d+\s*$/;

function isPackageToken(line: string): boolean {
  return PACKAGE_TOKEN.test(line) && !STRAY_NUMBER.test(line);
}

const DEB_REFUSAL = 'Specifying kernel version is not yet support';

export function parseStapPrepOutput(stdout: string, stderr: string, exitCode: number): StapPrepReport {
  const report: StapPrepReport = {
    exitCode,
    branch: 'unknown',
    debuginfod: 'unknown',
    missing: [],
    unavailable: [],
    versionMismatches: [],
    installFailed: [],
    installErrors: [],
    groupHints: [],
    refusedRelease: false,
    ignored: [],
    unrecognized: [],
    isReady: false,
  };
  let sawRpm = false;
  let sawDeb = false;
  // Which multi-line list the following package lines belong to.
  let list: 'missing' | 'install-failed' | undefined;

  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const text = line.trim();

    if (list !== undefined) {
      if (isPackageToken(text)) {
        (list === 'missing' ? report.missing : report.installFailed).push(text);
        continue;
      }
      if (STRAY_NUMBER.test(text)) {
        report.ignored.push(line);
        continue;
      }
      list = undefined;
      if (/^in case of file conflicts/.test(text)) {
        report.ignored.push(line);
        continue;
      }
    }

    let m: RegExpExecArray | null;
    if (text === '') continue;
    if ((m = /^Configuring for kernel release (\S+)/.exec(text))) {
      report.release = m[1];
    } else if (text.startsWith('Debuginfo automatic downloading is not configured') || text.startsWith('Suggestion: consider configuring automatic debuginfo downloading')) {
      // 4.x wording, then 5.x wording.
      report.debuginfod = 'not-configured';
    } else if (text.startsWith('Please wait, attempting to download') || text.startsWith('Increasing DEBUGINFOD_TIMEOUT')) {
      report.ignored.push(line);
    } else if (text.startsWith('Download successful.')) {
      report.debuginfod = 'downloaded';
    } else if (text === 'Download failed.') {
      report.debuginfod = 'download-failed';
    } else if (/^[-dlrwxsStT]{10}[.+]?\s/.test(text)) {
      // `ls -ald` of the file debuginfod-find fetched.
      report.ignored.push(line);
    } else if (text === 'Need to install the following packages:') {
      sawRpm = true;
      list = 'missing';
    } else if ((m = /^problem installing rpm\(s\) (\S+)$/.exec(text))) {
      sawRpm = true;
      report.installFailed.push(m[1] as string);
      list = 'install-failed';
    } else if (/^package \S+ is not installed$/.test(text)) {
      // rpm -q's recheck after the install attempt; the `problem installing` list repeats it.
      report.ignored.push(line);
    } else if ((m = /^You need package (\S+) but it does not seem to be available$/.exec(text))) {
      sawDeb = true;
      report.unavailable.push(m[1] as string);
    } else if ((m = /^Need to install (\S+)$/.exec(text))) {
      sawDeb = true;
      report.missing.push(m[1] as string);
    } else if ((m = /^Package (\S+) version (\S+) does not match version of currently running kernel: (\S+)$/.exec(text))) {
      sawDeb = true;
      report.versionMismatches.push({ package: m[1] as string, installed: m[2] as string, required: m[3] as string });
    } else if ((m = /^Be root or adduser \S+ (\S+)$/.exec(text))) {
      sawDeb = true;
      report.groupHints.push(m[1] as string);
    } else if (/^(Debian|Ubuntu) -dbgsym packages are typically/.test(text) || text.startsWith('Follow https://') || text.startsWith('Consider apt-get upgrade')) {
      report.ignored.push(line);
    } else if (STRAY_NUMBER.test(text)) {
      report.ignored.push(line);
    } else {
      report.unrecognized.push(line);
    }
  }

  for (const raw of stderr.split('\n')) {
    const text = raw.trim();
    if (text.startsWith(DEB_REFUSAL)) {
      report.refusedRelease = true;
      sawDeb = true;
    } else if (/^(Error|E):\s/.test(text)) {
      report.installErrors.push(text);
    }
  }

  report.branch = sawRpm && !sawDeb ? 'rpm' : sawDeb && !sawRpm ? 'deb' : 'unknown';
  report.isReady =
    exitCode === 0 &&
    !report.refusedRelease &&
    report.missing.length === 0 &&
    report.unavailable.length === 0 &&
    report.versionMismatches.length === 0 &&
    report.installFailed.length === 0;
  return report;
}

export interface PlanComparison {
  /** Names stap-prep asks for that our plan does not contain. */
  onlyStapPrep: string[];
  /** Names in our plan that stap-prep did not ask for. */
  onlyOurs: string[];
  both: string[];
}

/** `kernel-devel-5.14.0-362.el9.x86_64.rpm` and `kernel-devel-5.14.0-362.el9.x86_64` are the same package. */
function normalizeName(name: string): string {
  return name.trim().replace(/\.rpm$/, '');
}

/**
 * Where stap-prep's package list and ours disagree. Compares exact NEVRAs, because the point is
 * to show its wrong names: for `+64k`, `+rt`, `+rt-debug` and `.centos.plus` kernels it asks for
 * packages that do not exist (e.g. `kernel-debug-5.14.0-290.el9+rt-.x86_64`, captured in
 * fixtures/captured/stap-prep/rpm-nonroot-el9-rt-debug.txt).
 *
 * Expected differences that are not errors: stap-prep lists the kernel image package itself
 * (pass it in `ourPackageNames` to compare it too) and never lists `-debuginfo-common`, which its
 * dnf pulls in as a dependency. `yum-utils`, which it asks for on hosts without dnf only to get
 * debuginfo-install, is not a kernel package and is left out of `onlyStapPrep`.
 * Only meaningful for the rpm branch: the deb branch names Debian packages.
 */
export function compareWithPlan(report: StapPrepReport, ourPackageNames: string[]): PlanComparison {
  const theirs = [...new Set([...report.missing, ...report.installFailed].map(normalizeName))].filter((n) => n !== 'yum-utils');
  const ours = [...new Set(ourPackageNames.map(normalizeName))];
  const theirSet = new Set(theirs);
  const ourSet = new Set(ours);
  return {
    onlyStapPrep: theirs.filter((n) => !ourSet.has(n)),
    onlyOurs: ours.filter((n) => !theirSet.has(n)),
    both: ours.filter((n) => theirSet.has(n)),
  };
}
