/**
 * Everything `doctor` looks at, read from the box: files first (fast, no processes), one
 * `rpm -qa` for the installed kernel and systemtap packages, one `stap -V`, and HEAD requests
 * unless offline. The verdicts are in src/core/doctor.ts.
 *
 * `--root DIR`: every path is read under DIR, including the running-system files
 * (`proc/sys/kernel/osrelease`, `sys/kernel/notes`, `sys/kernel/security/lockdown`,
 * `sys/firmware/efi`, `proc/1/cgroup`, `.dockerenv`, the user's `~/.systemtap/cache`). A real
 * image root has no `proc/` or `sys/`, so doctor treats it as an image and skips the
 * running-system checks; a root that holds them (a snapshot of a system, or the stand-ins the
 * tests write, e.g. a `sys/kernel/notes` blob made from a fixture build-id) is treated as a
 * running system whose kernel those files describe. Two things always come from this host:
 * who runs doctor (root, groups) and the download cache's filesystem.
 */
import { lstat, open, readFile, readdir, readlink, stat, statfs } from 'node:fs/promises';
import { findOnPath } from './which.js';
import { nearestExisting } from './cache.js';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Context } from '../context.js';
import type { PlannedPackage } from '../core/resolver.js';
import {
  containerFromCgroup,
  parseLockdown,
  parseSecureBootVar,
  parseUtsRelease,
  parseVermagic,
  type CachedModule,
  type DevelTreeFacts,
  type DiskFacts,
  type DiskPurpose,
  type DoctorFacts,
  type DoctorTarget,
  type InstalledRpm,
  type MirrorProbe,
} from '../core/doctor.js';
import {
  ELF_HEADER_MAX_SIZE,
  nameSections,
  parseElfHeader,
  parseSectionHeaders,
  sectionNameTable,
  sectionTableSize,
} from '../core/elf-notes.js';
import { parseStapVersion } from '../core/stap-messages.js';
import { debPaths, parseDpkgStatus, splitDebVersion } from '../core/debian.js';
import { aptPolicy } from './apt.js';
import { readBuildIdFromFile, readRunningKernelBuildId } from './elf.js';
import { readHostFacts } from './host.js';
import { installedKernelReleases } from './rpm.js';
import { chooseCacheDir } from './cache.js';

/** The SecureBoot variable's file name under efivars (EFI global variable GUID). */
const SECURE_BOOT_VAR = 'SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c';

/**
 * Where rpm keeps its database: /var/lib/rpm (EL, Fedora before 36), /usr/lib/sysimage/rpm
 * (Fedora 36+, EL10), and Debian's rpm default `~/.rpmdb` (%_dbpath, HOME expanded; what
 * `rpm --root R -i` on Debian writes under R).
 */
function rpmDbDirs(home: string): string[] {
  return ['/usr/lib/sysimage/rpm', '/var/lib/rpm', join(home, '.rpmdb')];
}
const RPMDB_FILES = ['rpmdb.sqlite', 'Packages', 'Packages.db'];

/** Enough for any real cache; a bigger one is summarised from the first this many modules. */
const MAX_CACHED_MODULES = 500;

/** One line per package: name, version, release, arch, then every Requires (`name op version`), `|`-separated. */
const RPM_QUERY_FORMAT = '%{NAME}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t[%{REQUIRENAME} %{REQUIREFLAGS:depflags} %{REQUIREVERSION}|]\n';

/** `/x` on the host, `<root>/x` under --root. */
export function inRoot(root: string, abs: string): string {
  return root === '/' ? abs : join(root, abs);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** File text, or undefined when it is not there or not readable (no sysfs, EACCES on /proc/1/environ). */
async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A tool of an image root: `<root>/usr/bin/X` or `<root>/bin/X`. */
async function findInRoot(root: string, name: string): Promise<string | undefined> {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin']) {
    const p = inRoot(root, join(dir, name));
    if (await exists(p)) return p;
  }
  return undefined;
}

export interface SystemFacts {
  root: string;
  isLiveSystem: boolean;
  osRelease: { path: string; text: string } | undefined;
  running: { release: string | undefined; releaseSource: string | undefined };
  installedKernels: string[];
}

/** What decides the target: the os-release, the running kernel, the kernels installed. */
export async function readSystemFacts(root: string): Promise<SystemFacts> {
  const host = await readHostFacts(root);
  const isLiveSystem = root === '/' || (await exists(join(root, 'proc'))) || (await exists(join(root, 'sys')));
  let release: string | undefined;
  let releaseSource: string | undefined;
  if (root === '/') {
    release = host.unameRelease;
    releaseSource = 'uname -r';
  } else {
    const path = inRoot(root, '/proc/sys/kernel/osrelease');
    release = (await readText(path))?.trim() || undefined;
    releaseSource = release === undefined ? undefined : path;
  }
  return { root, isLiveSystem, osRelease: host.osRelease, running: { release, releaseSource }, installedKernels: await installedKernelReleases(root) };
}

export interface GatherOptions {
  root: string;
  system: SystemFacts;
  hostOs: DoctorFacts['hostOs'];
  target: DoctorTarget | undefined;
  targetError: string | undefined;
  planned: readonly PlannedPackage[];
  offline: boolean;
  userAgent: string;
  /** Group names of the user running doctor; read from this process when not given. */
  groups?: string[];
}

export async function gatherDoctorFacts(ctx: Context, o: GatherOptions): Promise<DoctorFacts> {
  const { root, system, target } = o;
  const R = target?.kernel.uname;
  const live = system.isLiveSystem;
  const home = ctx.env.HOME || homedir();
  const cacheDir = inRoot(root, join(home, '.systemtap/cache'));

  // Independent reads run together; rpm and stap -V are the only processes.
  const deb = target?.packaging === 'deb' ? target : undefined;
  const paths = R === undefined ? undefined : deb ? { tree: debPaths(R).headersDir, vmlinux: debPaths(R).debugVmlinux } : { tree: `/usr/src/kernels/${R}`, vmlinux: `/usr/lib/debug/lib/modules/${R}/vmlinux` };
  // Debian/Ubuntu: dpkg's status file for the target's packages and systemtap; apt-cache policy unless offline.
  const debNames = deb ? [...deb.packages.flatMap((p) => p.names), ...deb.images, 'systemtap'] : [];
  const [rpm, dpkg, apt, tools, devel, debuginfo, running, security, container, cache, groups, mirrors] = await Promise.all([
    target && !deb ? queryRpm(ctx, root, home) : Promise.resolve<DoctorFacts['rpm']>({ ok: false, problem: target ? 'not queried: a Debian/Ubuntu target' : 'not queried: no target kernel' }),
    deb ? readDpkgStatus(root, new Set(debNames)) : Promise.resolve(undefined),
    deb && deb.aptIsTarget && !o.offline ? queryApt(ctx, debNames.filter((n) => n !== 'systemtap')) : Promise.resolve(undefined),
    readTools(ctx, root),
    R && paths ? readDevelTree(root, R, paths.tree) : Promise.resolve(undefined),
    paths ? readDebuginfo(root, paths.vmlinux) : Promise.resolve(undefined),
    readRunningBuildId(root, live),
    live ? readSecurity(root) : Promise.resolve(noSecurity(root)),
    live ? detectContainer(root) : Promise.resolve({ kind: undefined, evidence: [] }),
    live ? readStapCache(cacheDir, root, system.running.release ?? R) : Promise.resolve({ dir: cacheDir, exists: false, modules: [], kernelTimeMs: undefined }),
    o.groups ? Promise.resolve(o.groups) : readGroupNames(),
    o.offline || !target || deb ? Promise.resolve(undefined) : probeMirrors(o.planned, o.userAgent, ctx.env, ctx.ui.debug),
  ]);

  // Under --root, stap's version comes from the root's package database (its stap cannot be run here).
  let stap = tools.stap;
  if (root !== '/' && stap.path && rpm.ok) {
    const pkg = rpm.packages.find((p) => p.name === 'systemtap');
    if (pkg) stap = { ...stap, version: pkg.version, versionSource: 'rpm' };
  }
  if (root !== '/' && stap.path && dpkg?.ok) {
    const pkg = dpkg.packages.find((p) => p.name === 'systemtap');
    if (pkg) stap = { ...stap, version: splitDebVersion(pkg.version).upstream, versionSource: 'dpkg' };
  }

  const disk = await measureDisk([
    { purpose: 'debuginfo', path: inRoot(root, '/usr/lib/debug') },
    { purpose: 'devel', path: inRoot(root, deb ? '/usr/src' : '/usr/src/kernels') },
    { purpose: 'downloads', path: chooseCacheDir({ flag: undefined, env: ctx.env, isRoot: ctx.isRoot, cwd: ctx.cwd }) },
    { purpose: 'stap-cache', path: cacheDir },
  ]);

  return {
    root,
    isLiveSystem: live,
    osRelease: system.osRelease,
    hostOs: o.hostOs,
    target,
    targetError: o.targetError,
    running: { release: system.running.release, releaseSource: system.running.releaseSource, ...running },
    user: { isRoot: ctx.isRoot, groups },
    stap,
    gcc: tools.gcc,
    make: tools.make,
    rpm,
    dpkg,
    apt,
    devel,
    debuginfo,
    security,
    container,
    cache,
    disk,
    installedKernels: system.installedKernels,
    mirrors,
    offline: o.offline,
  };
}

/** `--root R --dbpath D` for the database that really exists there, so Debian's ~/.rpmdb default never applies. */
async function rpmDbArgs(root: string, home: string): Promise<string[] | undefined> {
  for (const dir of rpmDbDirs(home)) {
    for (const file of RPMDB_FILES) {
      if (await exists(inRoot(root, join(dir, file)))) return [...(root === '/' ? [] : ['--root', root]), '--dbpath', dir];
    }
  }
  return undefined;
}

/** One rpm call: every installed kernel* and systemtap* package, with Requires. */
async function queryRpm(ctx: Context, root: string, home: string): Promise<DoctorFacts['rpm']> {
  const dbArgs = await rpmDbArgs(root, home);
  if (!dbArgs) {
    return { ok: false, problem: `no rpm database in ${rpmDbDirs(home).map((d) => inRoot(root, d)).join(', ')}` };
  }
  try {
    const r = await ctx.exec(['rpm', ...dbArgs, '-qa', '--qf', RPM_QUERY_FORMAT, 'kernel*', 'systemtap*'], {
      allowFailure: true,
      timeoutMs: 30_000,
    });
    if (r.exitCode !== 0 && r.stdout.trim() === '') {
      return { ok: false, problem: `rpm exited with ${r.exitCode}: ${r.stderr.trim().split('\n').pop() ?? ''}` };
    }
    return { ok: true, packages: parseRpmQuery(r.stdout) };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}

export function parseRpmQuery(stdout: string): InstalledRpm[] {
  const out: InstalledRpm[] = [];
  for (const line of stdout.split('\n')) {
    const [name, version, release, arch, requires] = line.split('\t');
    if (!name || !version || release === undefined || arch === undefined) continue;
    out.push({
      name,
      version,
      release,
      arch,
      requires: (requires ?? '')
        .split('|')
        .map((r) => r.trim().replace(/\s+/g, ' '))
        .filter(Boolean),
    });
  }
  return out;
}

async function readTools(ctx: Context, root: string): Promise<{ stap: DoctorFacts['stap']; gcc: string | undefined; make: string | undefined }> {
  if (root !== '/') {
    const [stapPath, gcc, make] = await Promise.all([findInRoot(root, 'stap'), findInRoot(root, 'gcc'), findInRoot(root, 'make')]);
    return { stap: { path: stapPath, version: undefined, testedKernels: undefined, versionSource: undefined }, gcc, make };
  }
  const [stapPath, gcc, make] = await Promise.all([findOnPath('stap', ctx.env), findOnPath('gcc', ctx.env), findOnPath('make', ctx.env)]);
  let version: ReturnType<typeof parseStapVersion>;
  if (stapPath) {
    try {
      const r = await ctx.exec([stapPath, '-V'], { allowFailure: true, timeoutMs: 10_000 });
      version = parseStapVersion(`${r.stdout}\n${r.stderr}`);
    } catch {
      version = undefined;
    }
  }
  return {
    stap: { path: stapPath, version: version?.version, testedKernels: version?.testedKernels, versionSource: version ? 'stap -V' : undefined },
    gcc,
    make,
  };
}

/** Debian and Ubuntu: installed packages from `<root>/var/lib/dpkg/status` (no process, works on an image). */
async function readDpkgStatus(root: string, wanted: ReadonlySet<string>): Promise<NonNullable<DoctorFacts['dpkg']>> {
  const path = inRoot(root, '/var/lib/dpkg/status');
  try {
    return { ok: true, packages: parseDpkgStatus(await readFile(path, 'utf8'), wanted) };
  } catch (err) {
    return { ok: false, problem: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

/** What apt offers of each name (`apt-cache policy`: reads the package lists, not the network). */
async function queryApt(ctx: Context, names: string[]): Promise<DoctorFacts['apt']> {
  try {
    const policy = await aptPolicy(ctx.exec, names);
    const offers = [...policy.values()].map((p) => ({
      name: p.name,
      // Versions from a configured source; /var/lib/dpkg/status alone means installed, not offered.
      versions: p.versions.filter((v) => v.sources.some((s) => s !== '/var/lib/dpkg/status')).map((v) => v.version),
      sources: [...new Set(p.versions.flatMap((v) => v.sources).filter((s) => s !== '/var/lib/dpkg/status'))],
    }));
    return { ok: true, offers };
  } catch (err) {
    return { ok: false, problem: (err as Error).message.split('\n')[0] ?? String(err) };
  }
}

async function readDevelTree(root: string, R: string, tree: string): Promise<DevelTreeFacts> {
  const treeDir = inRoot(root, tree);
  const linkPath = inRoot(root, `/lib/modules/${R}/build`);
  const facts: DevelTreeFacts = {
    treeDir,
    treeExists: await exists(treeDir),
    linkPath,
    link: 'missing',
    linkTarget: undefined,
    resolvedDir: undefined,
    utsRelease: undefined,
    utsProblem: undefined,
  };
  let st;
  try {
    st = await lstat(linkPath);
  } catch {
    return facts;
  }
  let resolved: string;
  if (st.isSymbolicLink()) {
    facts.link = 'symlink';
    facts.linkTarget = await readlink(linkPath);
    // An absolute target means the same path inside the root, as it will when the root boots.
    resolved = facts.linkTarget.startsWith('/') ? inRoot(root, facts.linkTarget) : resolve(dirname(linkPath), facts.linkTarget);
  } else if (st.isDirectory()) {
    facts.link = 'directory';
    resolved = linkPath;
  } else {
    facts.link = 'other';
    return facts;
  }
  try {
    if (!(await stat(resolved)).isDirectory()) return facts;
  } catch {
    return facts;
  }
  facts.resolvedDir = resolved;
  const uts = join(resolved, 'include/generated/utsrelease.h');
  const text = await readText(uts);
  if (text === undefined) facts.utsProblem = `no ${uts}`;
  else {
    facts.utsRelease = parseUtsRelease(text);
    if (facts.utsRelease === undefined) facts.utsProblem = `${uts} has no UTS_RELEASE`;
  }
  return facts;
}

async function readDebuginfo(root: string, vmlinux: string): Promise<NonNullable<DoctorFacts['debuginfo']>> {
  const vmlinuxPath = inRoot(root, vmlinux);
  if (!(await exists(vmlinuxPath))) return { vmlinuxPath, exists: false, buildId: undefined, problem: undefined };
  try {
    return { vmlinuxPath, exists: true, buildId: await readBuildIdFromFile(vmlinuxPath), problem: undefined };
  } catch (err) {
    return { vmlinuxPath, exists: true, buildId: undefined, problem: (err as Error).message };
  }
}

async function readRunningBuildId(root: string, live: boolean): Promise<{ buildId: string | undefined; notesPath: string; notesProblem: string | undefined }> {
  const notesPath = inRoot(root, '/sys/kernel/notes');
  if (!live) return { buildId: undefined, notesPath, notesProblem: 'not a running system' };
  if (!(await exists(notesPath))) return { buildId: undefined, notesPath, notesProblem: `${notesPath} does not exist (no sysfs here?)` };
  try {
    const buildId = await readRunningKernelBuildId(notesPath);
    return { buildId, notesPath, notesProblem: buildId === undefined ? `${notesPath} holds no GNU build-id note` : undefined };
  } catch (err) {
    return { buildId: undefined, notesPath, notesProblem: (err as Error).message };
  }
}

function noSecurity(root: string): DoctorFacts['security'] {
  return { lockdown: undefined, lockdownPath: inRoot(root, '/sys/kernel/security/lockdown'), efi: false, secureBoot: undefined, sigEnforce: undefined };
}

async function readSecurity(root: string): Promise<DoctorFacts['security']> {
  const lockdownPath = inRoot(root, '/sys/kernel/security/lockdown');
  const [lockdown, efi, sb, sig] = await Promise.all([
    readText(lockdownPath),
    exists(inRoot(root, '/sys/firmware/efi')),
    readFile(inRoot(root, `/sys/firmware/efi/efivars/${SECURE_BOOT_VAR}`)).catch(() => undefined),
    readText(inRoot(root, '/sys/module/module/parameters/sig_enforce')),
  ]);
  const sigValue = sig?.trim();
  return {
    lockdown: lockdown === undefined ? undefined : parseLockdown(lockdown),
    lockdownPath,
    efi,
    secureBoot: sb === undefined ? undefined : parseSecureBootVar(sb),
    sigEnforce: sigValue === 'Y' || sigValue === '1' ? true : sigValue === 'N' || sigValue === '0' ? false : undefined,
  };
}

/** docker's /.dockerenv, podman's /run/.containerenv, process 1's cgroup path or `container=` variable. */
async function detectContainer(root: string): Promise<DoctorFacts['container']> {
  const evidence: string[] = [];
  let kind: string | undefined;
  const note = (k: string, why: string) => {
    kind ??= k;
    evidence.push(why);
  };
  const dockerenv = inRoot(root, '/.dockerenv');
  const containerenv = inRoot(root, '/run/.containerenv');
  const cgroupPath = inRoot(root, '/proc/1/cgroup');
  const environPath = inRoot(root, '/proc/1/environ');
  const [hasDocker, hasPodman, cgroup, environ] = await Promise.all([
    exists(dockerenv),
    exists(containerenv),
    readText(cgroupPath),
    readText(environPath),
  ]);
  if (hasDocker) note('docker', dockerenv);
  if (hasPodman) note('podman', containerenv);
  const fromCgroup = cgroup === undefined ? undefined : containerFromCgroup(cgroup);
  if (fromCgroup) note(fromCgroup, `${cgroupPath} names ${fromCgroup}`);
  const variable = environ?.split('\0').find((v) => v.startsWith('container='));
  if (variable) note(variable.slice('container='.length) || 'unknown', `${variable} in ${environPath}`);
  return { kind, evidence };
}

/**
 * Compiled modules in stap's cache (`<xx>/stap_<hash>.ko`), each with the release its
 * `vermagic` names, and when the kernel R (the running one, else the target) was built: rpm gives package files the build
 * time as mtime, so a module older than the kernel image (or the build tree's .config) was
 * compiled against something else. Not the directory's mtime: depmod touches it on every
 * module package install.
 */
async function readStapCache(dir: string, root: string, R: string | undefined): Promise<DoctorFacts['cache']> {
  const kernelTimeMs = R === undefined ? undefined : await firstMtime([
    inRoot(root, `/lib/modules/${R}/vmlinuz`),
    inRoot(root, `/boot/vmlinuz-${R}`),
    inRoot(root, `/usr/src/kernels/${R}/.config`),
    inRoot(root, `/usr/src/linux-headers-${R}/.config`),
  ]);
  let subdirs: string[];
  try {
    subdirs = await readdir(dir);
  } catch {
    return { dir, exists: false, modules: [], kernelTimeMs };
  }
  const modules: CachedModule[] = [];
  for (const sub of subdirs.sort()) {
    if (modules.length >= MAX_CACHED_MODULES) break;
    let files: string[];
    try {
      files = await readdir(join(dir, sub));
    } catch {
      continue; // a file, not a hash directory (cache_mb_limit, cache_clean_interval_s)
    }
    for (const f of files.sort()) {
      if (!/^stap_.*\.ko$/.test(f) || modules.length >= MAX_CACHED_MODULES) continue;
      const path = join(dir, sub, f);
      try {
        const s = await stat(path);
        modules.push({ path, mtimeMs: s.mtimeMs, release: await readVermagicRelease(path) });
      } catch {
        // vanished while reading: stap cleaned it
      }
    }
  }
  return { dir, exists: true, modules, kernelTimeMs };
}

async function firstMtime(paths: string[]): Promise<number | undefined> {
  for (const p of paths) {
    try {
      return (await stat(p)).mtimeMs;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The release in a module's .modinfo `vermagic=`, reading only the headers and that section. */
export async function readVermagicRelease(path: string): Promise<string | undefined> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const read = async (offset: number, length: number) => {
      if (length < 0 || offset + length > size || length > 16 * 1024 * 1024) throw new Error('out of range');
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, offset);
      return buf;
    };
    const header = parseElfHeader(await read(0, Math.min(ELF_HEADER_MAX_SIZE, size)), path);
    let sections = parseSectionHeaders(await read(header.shoff, sectionTableSize(header)), header, path);
    const strtab = sectionNameTable(header, sections);
    if (!strtab) return undefined;
    sections = nameSections(sections, await read(strtab.offset, strtab.size));
    const modinfo = sections.find((s) => s.name === '.modinfo');
    return modinfo ? parseVermagic(await read(modinfo.offset, modinfo.size)) : undefined;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Names of this process's groups, from /etc/group (doctor judges the user who runs it). */
async function readGroupNames(): Promise<string[]> {
  const gids = new Set(typeof process.getgroups === 'function' ? process.getgroups() : []);
  if (typeof process.getegid === 'function') gids.add(process.getegid());
  const text = (await readText('/etc/group')) ?? '';
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name && gid !== undefined && gids.has(Number(gid))) names.push(name);
  }
  return names;
}

async function measureDisk(claims: Array<{ purpose: DiskPurpose; path: string }>): Promise<DiskFacts[]> {
  const out: DiskFacts[] = [];
  for (const c of claims) {
    try {
      const existing = await nearestExisting(c.path);
      const [s, fs] = await Promise.all([stat(existing), statfs(existing)]);
      out.push({ purpose: c.purpose, path: c.path, device: s.dev, freeBytes: fs.bavail * fs.bsize });
    } catch {
      // unmeasurable (permissions): leave it out
    }
  }
  return out;
}

/**
 * HEAD (or a one-byte GET where HEAD is refused) of the first candidate of each package, through
 * the proxy `env` names for it. A proxy that cannot be used is that probe's reason, naming it.
 */
async function probeMirrors(
  planned: readonly PlannedPackage[],
  userAgent: string,
  env: Record<string, string | undefined>,
  debug: (line: string) => void,
): Promise<MirrorProbe[]> {
  const withUrl = planned.filter((p) => p.candidates[0] !== undefined);
  if (withUrl.length === 0) return [];
  const [{ createHttpClient }, { createMirrorClient }, { ProxyUnreachableError }] = await Promise.all([
    import('./http.js'),
    import('./mirror-client.js'),
    import('./proxy.js'),
  ]);
  const http = await createHttpClient({ userAgent, env, debug, connectTimeoutMs: 5_000, idleTimeoutMs: 10_000, retries: 0 });
  const client = createMirrorClient(http, debug);
  return Promise.all(
    withUrl.map(async (p) => {
      const url = p.candidates[0] as string;
      let r;
      try {
        r = await client.probe(url);
      } catch (err) {
        if (!(err instanceof ProxyUnreachableError)) throw err;
        r = { ok: false as const, reason: err.reason };
      }
      return { role: p.role, file: p.file, url, ok: r.ok, reason: r.ok ? undefined : r.reason };
    }),
  );
}
