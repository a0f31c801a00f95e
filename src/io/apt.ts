/**
 * apt and dpkg, through Context.exec only (argv arrays, LC_ALL=C, mutating calls skipped under
 * --dry-run). apt owns mirrors and signatures on Debian and Ubuntu: kdebuginfo asks it what
 * exists (`apt-cache policy`, `apt-cache show`, `apt-get download --print-uris`, all read-only
 * and local: they read the package lists, not the network), installs with
 * `apt-get install -y --no-install-recommends NAME=VERSION ...` and fetches files with
 * `apt-get download`.
 *
 * The parsers are exported and tested against real captures in fixtures/captured/apt/ (each file
 * says how it was made). What the captures showed about the tools, relied on below:
 *  - `apt-cache policy NAME...` prints nothing at all, and exits 0, for a name apt does not know;
 *  - `apt-cache show` and `apt-get download` exit 100 with `E: ...` on stderr for an unknown
 *    name or version;
 *  - `dpkg-query -W` exits 1 when any name is unknown, and still prints the known ones;
 *  - `apt-get download --print-uris` prints `'URL' FILE SIZE SHA256:HEX` per package, not in the
 *    order asked.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { machine, version as unameVersion } from 'node:os';
import { dirname } from 'node:path';
import type { Exec } from './exec.js';
import { KdebuginfoError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Parsers (pure)
// ---------------------------------------------------------------------------------------------

export interface AptPolicyVersion {
  version: string;
  /** Pin priority apt gives this version (500 for a normal source, 100 for the installed one). */
  priority: number;
  isInstalled: boolean;
  /** `http://deb.debian.org/debian-security bookworm-security/main amd64 Packages`, `/var/lib/dpkg/status`. */
  sources: string[];
}

export interface AptPolicy {
  name: string;
  installed: string | null;
  candidate: string | null;
  versions: AptPolicyVersion[];
}

const NONE = '(none)';

/** `apt-cache policy NAME...`: one block per package apt knows; unknown names are simply absent. */
export function parseAptPolicy(stdout: string): Map<string, AptPolicy> {
  const out = new Map<string, AptPolicy>();
  let current: AptPolicy | undefined;
  let version: AptPolicyVersion | undefined;
  for (const line of stdout.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^(\S+):$/.exec(line))) {
      current = { name: m[1] as string, installed: null, candidate: null, versions: [] };
      version = undefined;
      out.set(current.name, current);
    } else if (!current) {
      continue;
    } else if ((m = /^ {2}Installed: (.*)$/.exec(line))) {
      current.installed = m[1] === NONE ? null : (m[1] as string).trim();
    } else if ((m = /^ {2}Candidate: (.*)$/.exec(line))) {
      current.candidate = m[1] === NONE ? null : (m[1] as string).trim();
    } else if ((m = /^ (\*\*\*| {3}) (\S+) (-?\d+)$/.exec(line))) {
      version = { version: m[2] as string, priority: Number(m[3]), isInstalled: m[1] === '***', sources: [] };
      current.versions.push(version);
    } else if (version && (m = /^ {8}-?\d+ (.+)$/.exec(line))) {
      version.sources.push((m[1] as string).trim());
    }
  }
  return out;
}

/**
 * The sources apt is configured with, from `apt-cache policy` without arguments: the URL and
 * suite of each `Packages` index (`http://ddebs.ubuntu.com noble/main amd64 Packages`).
 */
export function parseAptSources(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^ *-?\d+ ((?:https?|ftp|file|cdrom|mirror\+\w+|tor\+\w+):\S*.*)$/.exec(line);
    if (m) out.push((m[1] as string).trim());
  }
  return out;
}

/** Stanzas of a Debian control file (`apt-cache show`, `dpkg-query -s`): folded fields joined with newlines. */
export function parseControlStanzas(text: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  let cur: Record<string, string> | undefined;
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (cur) out.push(cur);
      cur = undefined;
      last = undefined;
      continue;
    }
    if (/^\s/.test(line)) {
      if (cur && last) cur[last] += `\n${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    cur ??= {};
    last = line.slice(0, i);
    cur[last] = line.slice(i + 1).trim();
  }
  if (cur) out.push(cur);
  return out;
}

export interface AptUri {
  url: string;
  file: string;
  size: number | null;
  checksum: { type: string; value: string } | null;
}

/** `apt-get download --print-uris` / `apt-get install --print-uris`: `'URL' FILE SIZE [TYPE:HEX]`. */
export function parsePrintUris(stdout: string): AptUri[] {
  const out: AptUri[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^'([^']+)' (\S+) (\d+)(?: (\w+):([0-9a-fA-F]+))?\s*$/.exec(line);
    if (!m) continue;
    const type = m[4]?.toLowerCase();
    out.push({
      url: m[1] as string,
      file: m[2] as string,
      size: Number(m[3]),
      checksum: type && m[5] ? { type: type === 'md5sum' ? 'md5' : type, value: m[5].toLowerCase() } : null,
    });
  }
  return out;
}

export interface AptFetchFailure {
  /** `http://ddebs.ubuntu.com/dists/noble/InRelease` */
  url: string;
  /** `Could not resolve 'ddebs.ubuntu.com'`, `404  Not Found [IP: ...]` */
  reason: string;
}

/**
 * The indexes `apt-get update` could not fetch: its `W: Failed to fetch URL  REASON` lines (or
 * `E:` ones). apt exits 0 when a source is unreachable, warning only, and carries on with the
 * lists it has (fixtures/captured/apt/ubuntu-update-ddebs-unreachable.txt, real Ubuntu 24.04).
 */
export function parseAptUpdateFailures(stderr: string): AptFetchFailure[] {
  const out: AptFetchFailure[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^[WE]: Failed to fetch (\S+)\s+(.*)$/.exec(line.trim());
    if (m) out.push({ url: m[1] as string, reason: (m[2] as string).trim() });
  }
  return out;
}

export interface AptSimulatedChange {
  name: string;
  version: string;
  /** The version it replaces, for an upgrade or downgrade. */
  previous: string | null;
}

/** `apt-get install -s ...`: the `Inst` lines, i.e. every package apt would install or upgrade. */
export function parseSimulatedInstall(stdout: string): AptSimulatedChange[] {
  const out: AptSimulatedChange[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^Inst (\S+)(?: \[([^\]]+)\])? \((\S+)/.exec(line);
    if (m) out.push({ name: m[1] as string, version: m[3] as string, previous: m[2] ?? null });
  }
  return out;
}

/** `dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Status}\n'`: installed versions by name. */
export function parseDpkgQuery(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [name, version, status] = line.split('\t');
    // `config-files` (removed, configuration kept) and `not-installed` are not installed.
    if (name && version && status === 'installed') out.set(name.replace(/:[a-z0-9]+$/, ''), version);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Queries (read-only)
// ---------------------------------------------------------------------------------------------

/** `apt-cache policy` for these names; a name apt does not know is absent from the map. */
export async function aptPolicy(exec: Exec, names: readonly string[]): Promise<Map<string, AptPolicy>> {
  if (names.length === 0) return new Map();
  const r = await exec(['apt-cache', 'policy', ...names]);
  return parseAptPolicy(r.stdout);
}

/** The configured apt sources (see parseAptSources). */
export async function aptSources(exec: Exec): Promise<string[]> {
  const r = await exec(['apt-cache', 'policy']);
  return parseAptSources(r.stdout);
}

/** `apt-cache show NAME=VERSION`: that version's control stanza, or undefined when apt has no such version. */
export async function aptShow(exec: Exec, name: string, version: string): Promise<Record<string, string> | undefined> {
  const r = await exec(['apt-cache', 'show', `${name}=${version}`], { allowFailure: true });
  if (r.exitCode !== 0) return undefined;
  return parseControlStanzas(r.stdout).find((s) => s['Package'] === name && s['Version'] === version);
}

/**
 * Where apt would fetch each NAME=VERSION from, with size and checksum, without fetching:
 * `apt-get download --print-uris` reads only the local lists. Undefined for a spec apt cannot
 * find (it then fails the whole call, so each is asked alone after a failure).
 */
export async function aptPrintUris(exec: Exec, specs: readonly string[]): Promise<Map<string, AptUri | undefined>> {
  const out = new Map<string, AptUri | undefined>();
  if (specs.length === 0) return out;
  const byFile = (uris: AptUri[], spec: string) => {
    const [name, version] = spec.split('=');
    const v = version ? version.replace(/^\d+:/, '') : '';
    return uris.find((u) => u.file.startsWith(`${name}_${v}`));
  };
  const all = await exec(['apt-get', 'download', '--print-uris', ...specs], { allowFailure: true });
  if (all.exitCode === 0) {
    const uris = parsePrintUris(all.stdout);
    for (const s of specs) out.set(s, byFile(uris, s));
    return out;
  }
  for (const s of specs) {
    const one = await exec(['apt-get', 'download', '--print-uris', s], { allowFailure: true });
    out.set(s, one.exitCode === 0 ? byFile(parsePrintUris(one.stdout), s) : undefined);
  }
  return out;
}

/** Installed versions of these packages (dpkg's `installed` state only). */
export async function dpkgInstalled(exec: Exec, names: readonly string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  // Exit 1 when any name is unknown to dpkg: an answer, not a failure.
  const r = await exec(['dpkg-query', '-W', '-f', '${Package}\\t${Version}\\t${db:Status-Status}\\n', ...names], { allowFailure: true });
  if (r.exitCode > 1) throw new KdebuginfoError(`dpkg-query failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return parseDpkgQuery(r.stdout);
}

/** dpkg's architecture (`amd64`, `arm64`): the arch of the packages this host installs. */
export async function dpkgArchitecture(exec: Exec): Promise<string> {
  return (await exec(['dpkg', '--print-architecture'])).stdout.trim();
}

/** Package names apt knows that start with the prefix (`apt-cache pkgnames linux-image-6.1.0`). */
export async function aptPackageNames(exec: Exec, prefix: string): Promise<string[]> {
  const r = await exec(['apt-cache', 'pkgnames', prefix], { allowFailure: true });
  return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}

/** Every file `apt-get install` of these specs would fetch, dependencies included (nothing is fetched). */
export async function aptInstallUris(exec: Exec, specs: readonly string[]): Promise<AptUri[]> {
  const r = await exec(['apt-get', 'install', '--print-uris', '-qq', '-y', '--no-install-recommends', ...specs]);
  return parsePrintUris(r.stdout);
}

/** What `apt-get install` of these specs would install or upgrade (a simulation: nothing changes). */
export async function aptSimulateInstall(exec: Exec, specs: readonly string[]): Promise<AptSimulatedChange[]> {
  const r = await exec(['apt-get', 'install', '-s', '-y', '--no-install-recommends', '--allow-downgrades', ...specs]);
  return parseSimulatedInstall(r.stdout);
}

// ---------------------------------------------------------------------------------------------
// Changes (skipped under --dry-run by exec)
// ---------------------------------------------------------------------------------------------

/**
 * How long apt may wait for another package manager's lock (`DPkg::Lock::Timeout`, apt 1.9.11+):
 * --no-wait fails at once, as kdebuginfo's own lock does.
 */
function lockOptions(waitSeconds: number): string[] {
  return ['-o', `DPkg::Lock::Timeout=${Math.max(0, Math.round(waitSeconds))}`];
}

/** Non-interactive apt: no debconf questions, no config-file prompts. */
const NONINTERACTIVE_ENV = { DEBIAN_FRONTEND: 'noninteractive' };

/** `apt-get update`; returns the indexes it could not fetch (it exits 0 for those: see parseAptUpdateFailures). */
export async function aptUpdate(exec: Exec, opts: { waitSeconds: number; timeoutMs?: number }): Promise<AptFetchFailure[]> {
  const r = await exec(['apt-get', ...lockOptions(opts.waitSeconds), 'update'], { mutates: true, env: NONINTERACTIVE_ENV, timeoutMs: opts.timeoutMs ?? 600_000 });
  return parseAptUpdateFailures(r.stderr);
}

/**
 * `apt-get install -y --no-install-recommends --allow-downgrades NAME=VERSION ...`. Recommends
 * stay out (kernel headers recommend a whole toolchain a SystemTap box may not want; what stap
 * needs it depends on). Downgrades are allowed because the version is pinned on purpose: the
 * debug package must be the kernel's own build even when a later upload of the same ABI is
 * installed, and apt-get -y refuses that without the flag ("Packages were downgraded and -y was
 * used without --allow-downgrades").
 */
export async function aptInstall(exec: Exec, specs: readonly string[], opts: { waitSeconds: number; timeoutMs?: number }): Promise<void> {
  const r = await exec(
    ['apt-get', ...lockOptions(opts.waitSeconds), 'install', '-y', '--no-install-recommends', '--allow-downgrades', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...specs],
    { mutates: true, allowFailure: true, env: NONINTERACTIVE_ENV, timeoutMs: opts.timeoutMs ?? 3_600_000 },
  );
  if (r.exitCode !== 0 || r.timedOut) {
    const errors = (r.stderr + '\n' + r.stdout).split('\n').filter((l) => /^(E|W): /.test(l));
    const tail = errors.length > 0 ? errors.slice(-6) : (r.stderr || r.stdout).trim().split('\n').slice(-6);
    throw new KdebuginfoError(`apt-get could not install ${specs.join(' ')} (${r.timedOut ? 'timed out' : `exit ${r.exitCode}`}):\n${tail.join('\n')}`, {
      hint: /Could not get lock|Unable to acquire the dpkg frontend lock/.test(r.stderr) ? 'another package manager holds the dpkg lock: wait for it, or run again without --no-wait' : undefined,
    });
  }
}

/** Write an apt source file (skipped under --dry-run, like every change). */
export async function writeAptSource(path: string, text: string, dryRun: boolean): Promise<void> {
  if (dryRun) return;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, { mode: 0o644 });
}

/**
 * What the running kernel says about its own build: `uname -v` (Debian puts the package version
 * there: `#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (...)`) and Ubuntu's /proc/version_signature
 * (`Ubuntu 6.8.0-45.45-generic 6.8.12`). Parsed by runningBuildVersion in src/core/debian.ts.
 */
export async function readKernelBuildFacts(): Promise<{ unameV?: string; versionSignature?: string }> {
  const out: { unameV?: string; versionSignature?: string } = { unameV: unameVersion() };
  try {
    out.versionSignature = (await readFile('/proc/version_signature', 'utf8')).trim();
  } catch {
    // not an Ubuntu kernel
  }
  return out;
}

/** uname -m to Debian architecture, for a control host without dpkg. */
const MACHINE_TO_DEB_ARCH: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  aarch64: 'arm64',
  ppc64le: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
  i686: 'i386',
  armv7l: 'armhf',
  loongarch64: 'loong64',
};

/** This machine's architecture in Debian's words (`amd64`), when dpkg cannot be asked; undefined if unknown. */
export function thisMachineDebArch(): string | undefined {
  return MACHINE_TO_DEB_ARCH[machine()];
}
