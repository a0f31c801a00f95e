/**
 * plan, resolve, install and download for Debian and Ubuntu hosts (issue 7). The same story and
 * the same result shapes as the RPM flow (PlanResult, ResolveResult, InstallResult,
 * DownloadResult), told with apt: apt owns mirrors and signatures here, so kdebuginfo asks it
 * which version of each package exists and where, pins the exact build, and installs with
 * `apt-get install`. Dispatch: `const deb = await debTargetFor(ctx, opts); if (deb) return planDeb(ctx, deb)`.
 *
 * The two packages per kernel (there is no -common on Debian): debuginfo is `linux-image-<R>-dbg`
 * (Debian) or `linux-image-unsigned-<R>-dbgsym` / `linux-image-<R>-dbgsym` (Ubuntu, from the ddebs
 * archive, whose apt source install adds); devel is `linux-headers-<R>` (src/core/debian.ts).
 *
 * Which build: a debug package helps only if it comes from the very build of the kernel (same
 * build-id), and one ABI (`6.1.0-56`) can see several uploads. So the version is pinned: the
 * running kernel's own build (`uname -v` on Debian, /proc/version_signature on Ubuntu), else the
 * installed image package's version, else apt's candidate for the debug package; the headers are
 * pinned to the same version.
 */
import { join, resolve as resolvePath } from 'node:path';
import type { Context } from '../context.js';
import type { PlanResult, TargetOptions } from './plan.js';
import type { ResolveResult } from './resolve.js';
import type { InstallOptions, InstallResult, PackageAction, VerifyLevel } from './install.js';
import type { DownloadResult, DownloadedPackage } from './download.js';
import {
  compareDebKernelReleases,
  compareDebWithStapPrep,
  ddebsSourceLines,
  debFileName,
  debImagePackages,
  debOsFromOsRelease,
  debPackagesFor,
  hasDdebsSource,
  inferDebOs,
  nearestKernelPackages,
  parseDebKernelRelease,
  parseDebOsFlag,
  runningBuildVersion,
  splitDebVersion,
  UBUNTU_DDEBS,
  unreachableDdebs,
  type DebKernelRelease,
  type DebOsInfo,
  type DebPackageRole,
} from '../core/debian.js';
import { finishInstall, verifyAfterInstall } from './install-result.js';
import { parseOsReleaseFields } from '../core/os-release.js';
import { parseKernelRelease } from '../core/kernel-release.js';
import { rewriteUrl, type MirrorRewrite } from '../core/mirrors.js';
import { formatBytes } from '../core/format.js';
import { defaultVerifyLevel } from '../core/verify-levels.js';
import { parseStapPrepOutput } from '../core/stap-prep.js';
import {
  aptDownload,
  aptInstall,
  aptInstallUris,
  aptPackageNames,
  aptPolicy,
  aptPrintUris,
  aptShow,
  aptSimulateInstall,
  aptSources,
  aptUpdate,
  dpkgArchitecture,
  dpkgInstalled,
  readKernelBuildFacts,
  thisMachineDebArch,
  fileDigests,
  writeAptSource,
  type AptPolicy,
  type AptUri,
} from '../io/apt.js';
import { readHostFacts } from '../io/host.js';
import { checkBundleKernel, type OpenedBundle } from '../io/bundle-read.js';
import { debVersionOf } from '../io/bundle.js';
import { installedKernelReleases } from '../io/rpm.js';
import { onPath } from '../io/package-manager.js';
import { promptConfirm } from '../io/prompt.js';
import { ExitCode, KdebuginfoError, UsageError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Result shapes: the RPM flow's, with the kernel flavour and OS id widened to Debian's words.
// (Assignable to PlanResult etc. once OsId has 'debian' | 'ubuntu' and PlanResult's flavour is a string.)
// ---------------------------------------------------------------------------------------------

type DebKernelJson = Omit<PlanResult['kernel'], 'flavor'> & { flavor: string };
type DebOsJson = { id: DebOsInfo['id']; version: string; name: string };

export interface DebPlanResult extends Omit<PlanResult, 'kernel' | 'os'> {
  kernel: DebKernelJson;
  os: DebOsJson;
}

export interface DebResolveResult extends Omit<ResolveResult, 'kernel' | 'os' | 'packages'> {
  kernel: DebKernelJson;
  os: DebOsJson;
  packages: Array<
    DebPlanResult['packages'][number] & { url: string; size: number | null; checksum: { type: string; value: string } | null; source: 'apt' }
  >;
}

export interface DebDownloadResult extends Omit<DownloadResult, 'kernel' | 'os'> {
  kernel: DebKernelJson;
  os: DebOsJson;
}

/** Runs a verification level for a Debian/Ubuntu kernel (the verify command's, when wired); `run` needs one. */
export type DebVerifier = (ctx: Context, args: { uname: string; level: VerifyLevel; root: string }) => Promise<{ ok: boolean; detail: string }>;

// ---------------------------------------------------------------------------------------------
// Target
// ---------------------------------------------------------------------------------------------

export interface DebTarget {
  kernel: DebKernelRelease;
  os: DebOsInfo;
  /** Debian architecture of the packages (`amd64`): the flavour's, else this host's dpkg's. */
  arch: string;
  /** Is this host's apt the target's (same distribution and release, no image root)? Only then is apt asked. */
  aptIsTarget: boolean;
  /** Is the target the kernel running here? */
  isRunning: boolean;
  /** The running kernel's `uname -v` and /proc/version_signature, when it is the target. */
  running: { unameV?: string; versionSignature?: string } | undefined;
  notes: string[];
}

/**
 * The Debian/Ubuntu target for these flags and this host, or undefined when the target is an RPM
 * distribution (the RPM flow's chooseTarget then decides). The kernel decides when it is
 * unambiguous: a Debian/Ubuntu release string from --kernel on a CentOS control host is planned
 * for that distribution (inferred, and said so); an RPM release on a Debian host goes to the RPM
 * flow, as before. On a Debian/Ubuntu host whose running kernel is neither (a custom build),
 * the error names it and asks for --kernel.
 */
export async function debTargetFor(ctx: Context, opts: TargetOptions, how: { announce?: boolean } = {}): Promise<DebTarget | undefined> {
  const root = opts.root ?? '/';
  const facts = await readHostFacts(root);
  const flagOs = opts.os === undefined ? undefined : parseDebOsFlag(opts.os);
  if (opts.os !== undefined && flagOs === undefined) return undefined;
  let hostOs: DebOsInfo | undefined;
  let hostOsError: unknown;
  if (facts.osRelease) {
    try {
      hostOs = debOsFromOsRelease(parseOsReleaseFields(facts.osRelease.text), facts.osRelease.path);
    } catch (err) {
      hostOsError = err; // thrown only if the kernel alone cannot say which release it is
    }
  }
  const known = flagOs ?? hostOs;
  const notes: string[] = [];

  const kernelArg = await pickDebKernel(root, opts.kernel, known?.id);
  if (kernelArg === null) return undefined;
  const uname = kernelArg ?? facts.unameRelease;
  const fromFlag = kernelArg !== undefined;
  const isRunning = root === '/' && uname === facts.unameRelease;
  const running = isRunning ? await readKernelBuildFacts() : undefined;

  let kernel: DebKernelRelease | undefined;
  let os: DebOsInfo;
  if (flagOs !== undefined) {
    kernel = parseDebKernelRelease(uname, flagOs.id);
    os = flagOs;
  } else {
    kernel = tryParse(uname, hostOs?.id) ?? tryParse(uname, undefined);
    if (kernel === undefined) {
      if (hostOs === undefined || isRpmKernel(uname)) return undefined;
      if (!fromFlag) {
        throw new UsageError(
          `the running kernel ${uname} is not a ${hostOs.name} kernel release kdebuginfo knows (e.g. ${hostOs.id === 'ubuntu' ? '6.8.0-45-generic' : '6.1.0-56-cloud-amd64'})`,
          'name the kernel to prepare with --kernel R (apt-cache search linux-headers lists the releases apt offers)',
        );
      }
      parseDebKernelRelease(uname, hostOs.id); // throws, naming the string
      return undefined;
    }
    const inferred = inferDebOs(kernel, running?.unameV);
    const hostFits =
      hostOs !== undefined &&
      hostOs.id === kernel.family &&
      (kernel.debianMajor === undefined || String(kernel.debianMajor) === hostOs.version);
    if (hostFits) {
      os = hostOs as DebOsInfo;
    } else if (inferred !== undefined) {
      os = inferred.os;
      notes.push(`${inferred.reason}; pass --os to choose another`);
    } else {
      if (hostOsError !== undefined) throw hostOsError;
      throw new UsageError(`cannot tell which ${kernel.family === 'ubuntu' ? 'Ubuntu' : 'Debian'} release kernel ${uname} belongs to`, `pass --os ${kernel.family}:VERSION`);
    }
  }

  const aptIsTarget = root === '/' && hostOs !== undefined && hostOs.id === os.id && hostOs.version === os.version && (await onPath('apt-cache', ctx.env));
  let arch = kernel.arch;
  if (arch === undefined) {
    arch = aptIsTarget ? await dpkgArchitecture(ctx.exec) : thisMachineDebArch();
    if (arch === undefined) throw new UsageError(`cannot tell the architecture of ${uname}`, 'run kdebuginfo on the target host');
    if (!aptIsTarget) notes.push(`assumed architecture ${arch} (this machine's) for ${uname}`);
  }
  if (how.announce !== false) for (const n of notes) ctx.ui.info(n);
  return { kernel, os, arch, aptIsTarget, isRunning, running, notes };
}

function tryParse(uname: string, family: DebOsInfo['id'] | undefined): DebKernelRelease | undefined {
  try {
    return parseDebKernelRelease(uname, family);
  } catch {
    return undefined;
  }
}

function isRpmKernel(uname: string): boolean {
  try {
    parseKernelRelease(uname);
    return true;
  } catch {
    return false;
  }
}

/**
 * `--kernel R | running | newest-installed`, as the RPM flow reads it. Undefined: the running
 * kernel. Null: nothing Debian-like is installed, so this is not a Debian/Ubuntu target.
 */
async function pickDebKernel(root: string, arg: string | undefined, family: DebOsInfo['id'] | undefined): Promise<string | undefined | null> {
  if (arg === 'running') return undefined;
  if (arg !== undefined && arg !== 'newest-installed') return arg;
  if (arg === undefined && root === '/') return undefined;
  const installed = (await installedKernelReleases(root))
    .map((r) => tryParse(r, family))
    .filter((k): k is DebKernelRelease => k !== undefined)
    .sort(compareDebKernelReleases)
    .map((k) => k.uname);
  const modules = join(root, 'lib/modules');
  if (family === undefined && installed.length === 0) return null;
  if (arg === 'newest-installed') {
    const newest = installed[installed.length - 1];
    if (!newest) throw new UsageError(`--kernel newest-installed: no kernel in ${modules}`, 'name one with --kernel R');
    return newest;
  }
  if (installed.length === 1) return installed[0] as string;
  if (installed.length === 0) throw new UsageError(`no kernel in ${modules}: name one with --kernel R`);
  throw new UsageError(`several kernels in ${modules} (${installed.join(', ')}): say which with --kernel R or --kernel newest-installed`);
}

// ---------------------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------------------

/** One planned package with what apt said about it. */
interface DebPlanned {
  role: DebPackageRole;
  name: string;
  /** The full Debian version to install (`6.1.192-2`), or null when unknown (apt not asked, or it has none). */
  version: string | null;
  /** apt's answer for that name at that version: URL, size, sha256. */
  uri: AptUri | undefined;
  policy: AptPolicy | undefined;
}

interface DebPlanDetail {
  result: DebPlanResult;
  planned: DebPlanned[];
  /** Where the pinned version came from, for messages. */
  versionSource: 'running' | 'installed' | 'candidate' | 'none';
  /** Does apt here serve Ubuntu's debug symbols? (Always true on Debian.) */
  hasDebugSource: boolean;
  /** The configured apt sources; asked only where needed (Ubuntu's ddebs check, not-found messages). */
  sources: string[] | undefined;
  /** Installed versions (dpkg) of the planned packages and of the kernel image packages. */
  installed: Map<string, string>;
}

export async function planDeb(ctx: Context, target: DebTarget, opts: { rewrites?: readonly MirrorRewrite[] } = {}): Promise<DebPlanResult> {
  return (await buildDebPlan(ctx, target, opts.rewrites ?? [])).result;
}

/**
 * Ask apt and dpkg (when this host's apt is the target's) and decide names and the build version.
 * `withUris: false` leaves out `apt-get download --print-uris` (the URL, size and checksum of
 * each file), which an install that finds everything present does not need: apt calls take about
 * a second each on a Debian 12 box without a package cache file.
 */
async function buildDebPlan(ctx: Context, target: DebTarget, rewrites: readonly MirrorRewrite[], opts: { withUris: boolean } = { withUris: true }): Promise<DebPlanDetail> {
  const { kernel: k, os } = target;
  const notes = [...target.notes];
  const candidates = debPackagesFor(k);
  const images = debImagePackages(k);
  const ddebsUrl = rewriteUrl(UBUNTU_DDEBS.url, rewrites);
  if (rewrites.length > 0) {
    notes.push(
      os.id === 'ubuntu'
        ? `--mirror applies to the ddebs source kdebuginfo adds (${ddebsUrl}); the other apt sources are apt's own configuration`
        : '--mirror does not apply on Debian: apt installs from its own configured sources (point them at your mirror in /etc/apt/sources.list.d/)',
    );
  }

  let policy = new Map<string, AptPolicy>();
  let sources: string[] | undefined;
  let installed = new Map<string, string>();
  if (target.aptIsTarget) {
    const names = [...candidates.flatMap((c) => c.names), ...images];
    [policy, sources, installed] = await Promise.all([
      aptPolicy(ctx.exec, names),
      os.id === 'ubuntu' ? aptSources(ctx.exec) : Promise.resolve(undefined),
      dpkgInstalled(ctx.exec, names),
    ]);
  } else {
    notes.push(`apt on this machine does not serve ${os.name}: package versions and URLs come from apt on the target itself`);
  }
  const hasDebugSource = os.id !== 'ubuntu' || !target.aptIsTarget || hasDdebsSource(sources ?? [], ddebsUrl);
  if (!hasDebugSource) {
    notes.push(
      `Ubuntu's debug symbols are in the ddebs archive, which apt here is not configured for: kdebuginfo install adds ${UBUNTU_DDEBS.sourcesFile} (${ddebsUrl} ${os.codename ?? '<codename>'}{,-updates}, signed by ${UBUNTU_DDEBS.keyringPackage})`,
    );
  }

  // Which build: the running one, else the installed image, else what apt offers for the debug package.
  const debuginfoName = candidates[0]?.names.find((n) => policy.has(n)) ?? (candidates[0]?.names[0] as string);
  const runningVersion = target.isRunning && target.running ? runningBuildVersion(k.family, target.running) : undefined;
  const imageVersion = images.map((n) => installed.get(n)).find((v) => v !== undefined);
  // The debug package's candidate; when apt has no debug package (Ubuntu before the ddebs source
  // answers), the headers' candidate, so the headers resolve and only the debug package is missing.
  const develName = candidates.find((c) => c.role === 'devel')?.names.find((n) => policy.has(n));
  const debugCandidate = policy.get(debuginfoName)?.candidate ?? undefined;
  const candidateVersion = debugCandidate ?? (develName ? policy.get(develName)?.candidate : undefined) ?? undefined;
  let version: string | null = null;
  let versionSource: DebPlanDetail['versionSource'] = 'none';
  if (runningVersion !== undefined) {
    version = runningVersion;
    versionSource = 'running';
    notes.push(`version ${version}: the running kernel's own build (${k.family === 'ubuntu' ? '/proc/version_signature' : 'uname -v'})`);
  } else if (imageVersion !== undefined) {
    version = imageVersion;
    versionSource = 'installed';
    notes.push(`version ${version}: the installed kernel image's`);
  } else if (candidateVersion !== undefined) {
    version = candidateVersion;
    versionSource = 'candidate';
    notes.push(`version ${version}: apt's candidate${debugCandidate === undefined ? ` for ${develName} (apt has no debug package for this kernel)` : ''} (the kernel image is not installed here)`);
  }

  const planned: DebPlanned[] = candidates.map((c) => {
    const name = c.role === 'debuginfo' ? debuginfoName : (c.names.find((n) => policy.has(n)) ?? (c.names[0] as string));
    return { role: c.role, name, version, uri: undefined, policy: policy.get(name) };
  });
  const detail: DebPlanDetail = { result: planResult(target, planned, notes), planned, versionSource, hasDebugSource, sources, installed };
  if (opts.withUris) await fillUris(ctx, target, detail);
  return detail;
}

/** apt's URL, size and sha256 for each planned package at the pinned version (none when apt lacks it). */
async function fillUris(ctx: Context, target: DebTarget, detail: DebPlanDetail): Promise<void> {
  const version = detail.planned[0]?.version ?? null;
  if (!target.aptIsTarget || version === null) return;
  const known = detail.planned.filter((p) => p.policy?.versions.some((v) => v.version === version));
  const uris = await aptPrintUris(ctx.exec, known.map((p) => `${p.name}=${version}`));
  for (const p of detail.planned) p.uri = uris.get(`${p.name}=${version}`);
  detail.result = planResult(target, detail.planned, detail.result.notes);
}

function planResult(target: DebTarget, planned: readonly DebPlanned[], notes: string[]): DebPlanResult {
  const k = target.kernel;
  const os = target.os;
  const result: DebPlanResult = {
    kernel: { uname: k.uname, version: k.version, release: k.abi, arch: target.arch, flavor: k.flavor },
    os: { id: os.id, version: os.version, name: os.name },
    packages: planned.map((p) => {
      const v = p.version === null ? { upstream: '', revision: '' } : splitDebVersion(p.version);
      return {
        role: p.role,
        name: p.name,
        version: v.upstream,
        release: v.revision,
        arch: target.arch,
        file: p.uri?.file ?? (p.version === null ? '' : debFileName(p.name, p.version, target.arch)),
        candidates: p.uri ? [p.uri.url] : [],
      };
    }),
    notes,
  };
  return result;
}

// ---------------------------------------------------------------------------------------------
// Resolve
// ---------------------------------------------------------------------------------------------

export async function resolveDeb(ctx: Context, target: DebTarget, opts: { rewrites?: readonly MirrorRewrite[] } = {}): Promise<DebResolveResult> {
  const plan = await buildDebPlan(ctx, target, opts.rewrites ?? []);
  const missing = plan.planned.filter((p) => p.uri === undefined);
  if (missing.length > 0) throw await notFound(ctx, target, plan, missing, false);
  return resolvedResult(plan);
}

function resolvedResult(plan: DebPlanDetail): DebResolveResult {
  return {
    ...plan.result,
    packages: plan.result.packages.map((p, i) => {
      const uri = plan.planned[i]?.uri as AptUri;
      return { ...p, url: uri.url, size: uri.size, checksum: uri.checksum, source: 'apt' as const };
    }),
  };
}

/** Exit 3, naming what apt has instead (other versions of the package, neighbouring releases) and what to do. */
async function notFound(ctx: Context, target: DebTarget, plan: DebPlanDetail, missing: DebPlanned[], updated: boolean): Promise<KdebuginfoError> {
  const { kernel: k, os } = target;
  const lines = [`not found in any apt source: ${missing.map((m) => (m.version ? `${m.name}=${m.version}` : m.name)).join(', ')}`];
  if (!target.aptIsTarget) {
    lines.push(`(apt on this machine does not serve ${os.name}; run kdebuginfo on the target, or download there)`);
  } else {
    for (const m of missing) {
      const others = (m.policy?.versions ?? []).map((v) => v.version).filter((v) => v !== m.version);
      if (others.length > 0) {
        lines.push(`  ${m.name}: apt has ${others.join(', ')} but not ${m.version ?? 'the build of this kernel'}`);
        continue;
      }
      const near = nearestKernelPackages(m.name, k, await aptPackageNames(ctx.exec, m.name.slice(0, m.name.indexOf(k.uname))));
      lines.push(`  ${m.name}: no such package in apt's lists${near.length > 0 ? `; nearest there: ${near.join(', ')}` : ''}`);
    }
    plan.sources ??= await aptSources(ctx.exec);
    lines.push(`apt sources searched: ${plan.sources.length > 0 ? plan.sources.join('; ') : '(none)'}`);
  }
  let hint: string;
  if (!plan.hasDebugSource) {
    hint = `add Ubuntu's debug symbol archive (kdebuginfo install does it), or by hand: apt install ${UBUNTU_DDEBS.keyringPackage} and put these lines in ${UBUNTU_DDEBS.sourcesFile}:\n${ddebsSourceLines(os.codename ?? '<codename>')}`;
  } else if (plan.versionSource === 'running' || plan.versionSource === 'installed') {
    hint =
      os.id === 'debian'
        ? `the archive has moved on from build ${plan.planned[0]?.version}: snapshot.debian.org keeps every build (https://snapshot.debian.org/binary/${missing[0]?.name}/), or upgrade the kernel and reboot`
        : `the archive has moved on from build ${plan.planned[0]?.version}: Launchpad keeps every build (https://launchpad.net/ubuntu/+source/linux), or upgrade the kernel and reboot`;
  } else {
    hint = updated ? 'check --kernel (apt-cache search linux-image lists the releases apt offers)' : 'refresh apt\'s lists (apt-get update; kdebuginfo install does it when a package is missing), or check --kernel';
  }
  return new KdebuginfoError(lines.join('\n'), {
    exitCode: ExitCode.notFound,
    hint,
    detail: { kernel: plan.result.kernel, os: plan.result.os, missing: missing.map((m) => ({ role: m.role, name: m.name, version: m.version })), sources: plan.sources },
  });
}

// ---------------------------------------------------------------------------------------------
// Install
// ---------------------------------------------------------------------------------------------

/** How long apt may wait for the dpkg lock (another apt or unattended-upgrades): --no-wait is 0. */
const LOCK_WAIT_SECONDS = 600;

/**
 * The main job on Debian/Ubuntu: SystemTap itself if missing, the ddebs source on Ubuntu, the
 * pinned debug and headers packages through apt, verification, the report. Idempotent: a second
 * run finds both installed at the pinned version and changes nothing.
 */
export async function installDeb(ctx: Context, target: DebTarget, opts: InstallOptions, verifier?: DebVerifier): Promise<InstallResult> {
  const started = Date.now();
  const warnings: string[] = [];
  const { kernel: k } = target;
  checkDebInstallOptions(ctx, target, opts, warnings, { elsewhereHint: 'plan or download here and install there' });
  const waitSeconds = opts.wait ? LOCK_WAIT_SECONDS : 0;

  await ensureSystemtapDeb(ctx, opts, waitSeconds, warnings);

  let plan = await buildDebPlan(ctx, target, opts.rewrites, { withUris: false });
  if (target.isRunning) await compareWithDebStapPrep(ctx, target, plan, warnings);

  const base = {
    kernel: plan.result.kernel,
    os: plan.result.os,
    failed: false,
    rc: 0,
    warnings,
  };
  // Present means installed at the pinned build: another build of the same ABI is replaced.
  const presentIn = (installed: Map<string, string>) => (x: DebPlanned) => {
    const v = installed.get(x.name);
    return v !== undefined && (x.version === null || v === x.version);
  };
  let present = presentIn(plan.installed);
  const runVerification = debVerification(ctx, target, opts, verifier);
  const report = (p: DebPlanResult, action: (x: DebPlanned) => PackageAction, planned: DebPlanned[]) =>
    p.packages.map((x, i) => ({ role: x.role, name: x.name, file: x.file, action: action(planned[i] as DebPlanned), size: planned[i]?.uri?.size ?? null }));

  if (plan.planned.every(present)) {
    return finishInstall({
      ...base,
      changed: false,
      msg: `both packages for ${k.uname} are already installed${plan.planned[0]?.version ? ` (build ${plan.planned[0].version})` : ''}`,
      packages: report(plan.result, () => 'present', plan.planned),
      verify: await runVerification(),
      durationMs: Date.now() - started,
    });
  }

  // Ubuntu: the debug symbols come from the ddebs archive; add it when apt has no source for it.
  let updated = false;
  if (!plan.hasDebugSource) {
    await addDdebsSource(ctx, target, opts.rewrites, waitSeconds);
    updated = !ctx.dryRun;
    if (updated) plan = await buildDebPlan(ctx, target, opts.rewrites);
  }
  if (!updated) await fillUris(ctx, target, plan);
  // A package apt does not know (or not at this build) may only be missing from stale lists.
  const unlisted = plan.planned.filter((p) => !present(p) && p.uri === undefined);
  if (unlisted.length > 0 && !updated && !ctx.dryRun) {
    ctx.ui.info(`apt does not list ${unlisted.map((p) => p.name).join(', ')}${plan.planned[0]?.version ? ` at ${plan.planned[0].version}` : ''}: refreshing its lists (apt-get update)`);
    await aptUpdate(ctx.exec, { waitSeconds });
    updated = true;
    plan = await buildDebPlan(ctx, target, opts.rewrites);
  }
  present = presentIn(plan.installed);
  const missing = plan.planned.filter((p) => !present(p));
  const unresolved = missing.filter((p) => p.uri === undefined);
  if (unresolved.length > 0) {
    if (ctx.dryRun && !plan.hasDebugSource) {
      return finishInstall({
        ...base,
        changed: true,
        msg: `would add the ddebs source, refresh apt's lists and install ${missing.map((m) => m.name).join(', ')} for ${k.uname}`,
        packages: report(plan.result, (p) => (missing.includes(p) ? 'would-install' : 'present'), plan.planned),
        verify: null,
        durationMs: Date.now() - started,
      });
    }
    throw await notFound(ctx, target, plan, unresolved, updated);
  }

  const specs = missing.map((p) => `${p.name}=${p.version}`);
  const [{ alsoInstalled, extra }, fetches] = await Promise.all([
    simulateAptInstall(ctx, specs, missing.map((p) => p.name), warnings),
    aptInstallUris(ctx.exec, specs),
  ]);
  // Everything apt will fetch (dependencies too), not only our two files.
  const total = fetches.reduce((n, u) => n + (u.size ?? 0), 0);

  if (ctx.dryRun) {
    return finishInstall({
      ...base,
      changed: true,
      msg: `would download ${formatBytes(total)} and install ${missing.length} package(s) for ${k.uname} with apt${extra}`,
      packages: report(plan.result, (p) => (missing.includes(p) ? 'would-install' : 'present'), plan.planned),
      verify: null,
      durationMs: Date.now() - started,
    });
  }

  if (ctx.isInteractive && !opts.yes) {
    const list = missing.map((p) => `  ${p.uri?.file ?? p.name} (${p.uri?.size == null ? 'size unknown' : formatBytes(p.uri.size)})`).join('\n');
    ctx.ui.info(`To install for ${k.uname}:\n${list}${alsoInstalled.length > 0 ? `\n  and their dependencies: ${alsoInstalled.join(', ')}` : ''}`);
    if (!(await promptConfirm(ctx, `Download ${formatBytes(total)} and install ${missing.length} package(s) with apt?`))) {
      throw new KdebuginfoError('cancelled: nothing was installed', { exitCode: ExitCode.failed });
    }
  }
  for (const w of warnings.filter((x) => x.startsWith('apt also upgrades'))) ctx.ui.warn(w);
  ctx.ui.info(`installing ${specs.join(' ')} with apt-get (${formatBytes(total)} to download)`);
  const aptStarted = Date.now();
  await aptInstall(ctx.exec, specs, { waitSeconds });
  ctx.ui.info(`apt-get install took ${((Date.now() - aptStarted) / 1000).toFixed(1)} s`);

  const now = presentIn(await dpkgInstalled(ctx.exec, plan.planned.map((p) => p.name)));
  const stillMissing = missing.filter((p) => !now(p));
  if (stillMissing.length > 0) {
    throw new KdebuginfoError(`apt-get finished but ${stillMissing.map((p) => `${p.name}=${p.version}`).join(', ')} is not installed`);
  }
  return verifyAfterInstall(
    {
      ...base,
      changed: true,
      msg: `installed ${missing.length} package(s) for ${k.uname}${extra}`,
      packages: report(plan.result, (p) => (missing.includes(p) ? 'installed' : 'present'), plan.planned),
    },
    runVerification,
    started,
  );
}

// ---------------------------------------------------------------------------------------------
// Install from a bundle
// ---------------------------------------------------------------------------------------------

/**
 * `install --from-bundle` for a bundle of .debs (openBundle has checked every file's sha256):
 * `apt-get install -y --no-install-recommends /tmp/.../a.deb ...` of the files not installed yet,
 * which takes the same-build dependencies from the bundle itself and anything else (compiler,
 * make) from the host's own sources. The same story and result as installDeb, with the versions
 * named by the bundle instead of asked of apt. A package installed at the bundle's version is
 * `present`, and so is a dependency installed at that version or a newer one: linux-kbuild-<series>
 * is shared by every ABI of a series, and apt-get -y refuses a downgrade.
 */
export async function installDebBundle(ctx: Context, bundle: OpenedBundle, opts: InstallOptions, verifier?: DebVerifier): Promise<InstallResult> {
  const started = Date.now();
  const warnings: string[] = [];
  const { manifest, files } = bundle;
  checkBundleKernel(opts.kernel, manifest);
  const uname = manifest.kernel.uname;
  // The bundle names its kernel and release; whether this host's apt is that release's, is asked here.
  const target = await debTargetFor(ctx, { kernel: uname, os: `${manifest.os.id}:${manifest.os.version}`, root: undefined });
  if (target === undefined) throw new UsageError(`the bundle is for ${manifest.os.name}, which is not Debian or Ubuntu, yet holds .deb files`, 'make the bundle again with kdebuginfo bundle');
  checkDebInstallOptions(ctx, target, opts, warnings, { elsewhereHint: `install this bundle on a ${target.os.name} host`, gpgcheckApplies: true });
  await checkBundleArch(ctx, files);
  const waitSeconds = opts.wait ? LOCK_WAIT_SECONDS : 0;

  await ensureSystemtapDeb(ctx, opts, waitSeconds, warnings);
  const runVerification = debVerification(ctx, target, opts, verifier);
  const base = {
    kernel: { ...manifest.kernel },
    os: { ...manifest.os },
    failed: false,
    rc: 0,
    warnings,
  };
  const present = await bundlePackagesPresent(ctx, files);
  const missing = files.filter((f) => !present.has(f.name));
  const report = (action: (f: OpenedBundle['files'][number]) => PackageAction) =>
    files.map((f) => ({ role: f.role, name: f.name, file: f.file, action: action(f), size: f.size }));
  const build = files[0] ? ` (build ${debVersionOf(files[0])})` : '';

  if (missing.length === 0) {
    return finishInstall({
      ...base,
      changed: false,
      msg: `all ${files.length} packages of the bundle for ${uname} are already installed${build}`,
      packages: report(() => 'present'),
      verify: await runVerification(),
      durationMs: Date.now() - started,
    });
  }

  await vouchForBundleFiles(ctx, missing, opts.noGpgcheck, warnings);
  const paths = missing.map((f) => f.path);
  const { alsoInstalled, extra } = await simulateAptInstall(ctx, paths, missing.map((f) => f.name), warnings);
  const action = (installed: PackageAction) => (f: OpenedBundle['files'][number]) => (missing.includes(f) ? installed : 'present');
  if (ctx.dryRun) {
    return finishInstall({
      ...base,
      changed: true,
      msg: `would install ${missing.length} package(s) for ${uname} from the bundle with apt${extra}`,
      packages: report(action('would-install')),
      verify: null,
      durationMs: Date.now() - started,
    });
  }

  if (ctx.isInteractive && !opts.yes) {
    const list = missing.map((f) => `  ${f.file} (${formatBytes(f.size)})`).join('\n');
    ctx.ui.info(`To install for ${uname}:\n${list}${alsoInstalled.length > 0 ? `\n  and from this host's apt sources: ${alsoInstalled.join(', ')}` : ''}`);
    if (!(await promptConfirm(ctx, `Install ${missing.length} package(s) from the bundle with apt?`))) {
      throw new KdebuginfoError('cancelled: nothing was installed', { exitCode: ExitCode.failed });
    }
  }
  for (const w of warnings.filter((x) => x.startsWith('apt also upgrades'))) ctx.ui.warn(w);
  ctx.ui.info(`installing ${missing.map((f) => f.file).join(' ')} from the bundle with apt-get`);
  await aptInstall(ctx.exec, paths, { waitSeconds });

  const now = await bundlePackagesPresent(ctx, files);
  const stillMissing = missing.filter((f) => !now.has(f.name));
  if (stillMissing.length > 0) {
    throw new KdebuginfoError(`apt-get finished but ${stillMissing.map((f) => `${f.name}=${debVersionOf(f)}`).join(', ')} is not installed`);
  }
  return verifyAfterInstall(
    { ...base, changed: true, msg: `installed ${missing.length} package(s) for ${uname} from the bundle${extra}`, packages: report(action('installed')) },
    runVerification,
    started,
  );
}

/** Names of the bundle's packages dpkg has at the bundle's version (a dependency: at it or newer). */
async function bundlePackagesPresent(ctx: Context, files: OpenedBundle['files']): Promise<Set<string>> {
  const installed = await dpkgInstalled(ctx.exec, files.map((f) => f.name));
  const out = new Set<string>();
  for (const f of files) {
    const have = installed.get(f.name);
    if (have === undefined) continue;
    const want = debVersionOf(f);
    if (have === want || (f.dependencyOf !== undefined && (await isDebVersionAtLeast(ctx, have, want)))) out.add(f.name);
  }
  return out;
}

/** `dpkg --compare-versions A ge B`: Debian's own ordering (epochs, `~`), exit 0 yes, 1 no. */
async function isDebVersionAtLeast(ctx: Context, a: string, b: string): Promise<boolean> {
  const r = await ctx.exec(['dpkg', '--compare-versions', a, 'ge', b], { allowFailure: true });
  if (r.exitCode > 1) throw new KdebuginfoError(`dpkg --compare-versions ${a} ge ${b} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.exitCode === 0;
}

/**
 * A bundle's .debs carry no signature of their own, and the manifest's sha256 sums travel in the
 * same tarball: they show the copy is whole, not where it came from. What vouches for a .deb is
 * this host's apt: its lists are signed by the archive, and `apt-cache show NAME=VERSION` gives
 * the file's SHA256 there. A file whose sum differs, or that apt does not list (stale lists, an
 * air-gapped host), is refused unless --no-gpgcheck.
 */
async function vouchForBundleFiles(ctx: Context, files: OpenedBundle['files'], noGpgcheck: boolean, warnings: string[]): Promise<void> {
  const problems: string[] = [];
  for (const f of files) {
    const version = debVersionOf(f);
    const stanza = await aptShow(ctx.exec, f.name, version);
    const listed = stanza?.['SHA256']?.toLowerCase();
    if (listed === undefined) problems.push(`${f.file}: apt on this host does not list ${f.name}=${version}, so nothing vouches for it`);
    else if (listed !== f.sha256) problems.push(`${f.file}: its sha256 ${f.sha256} is not the ${listed} apt's signed lists give for ${f.name}=${version}`);
  }
  if (problems.length === 0) return;
  if (noGpgcheck) {
    const w = `--no-gpgcheck: installing on the bundle's own sha256 sums; apt's lists do not vouch for ${problems.length} file(s)`;
    warnings.push(w);
    ctx.ui.warn(w);
    return;
  }
  throw new KdebuginfoError(`the bundle's packages are not the ones apt's signed lists describe:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
    exitCode: ExitCode.failed,
    hint: 'refresh apt\'s lists (apt-get update) where the host reaches its mirror, or pass --no-gpgcheck to install on the bundle\'s sha256 sums alone',
  });
}

/** Ubuntu's releases name no architecture: an amd64 bundle must not reach an arm64 host's apt. */
async function checkBundleArch(ctx: Context, files: OpenedBundle['files']): Promise<void> {
  const host = await dpkgArchitecture(ctx.exec);
  const foreign = [...new Set(files.map((f) => f.arch).filter((a) => a !== 'all' && a !== host))];
  if (foreign.length > 0) throw new UsageError(`the bundle's packages are for ${foreign.join(', ')}, this host is ${host}`, 'make the bundle for this host\'s architecture');
}

/**
 * What every apt install refuses or ignores, before anything changes: --root (apt installs into
 * the running system), another --package-manager, a host whose apt is not the target's, a
 * non-root user without --dry-run; --gpg-key is a warning, and so is --no-gpgcheck except for
 * a bundle (gpgcheckApplies), whose files apt's lists must vouch for.
 */
function checkDebInstallOptions(ctx: Context, target: DebTarget, opts: InstallOptions, warnings: string[], how: { elsewhereHint: string; gpgcheckApplies?: boolean }): void {
  const root = opts.root ?? '/';
  const { kernel: k, os } = target;
  if (root !== '/') {
    throw new UsageError(`--root is not supported for ${os.name} targets: apt installs into the running system`, `run it inside the image instead: chroot ${root} kdebuginfo install --kernel ${k.uname}`);
  }
  if (opts.packageManager !== 'auto') {
    throw new UsageError(`--package-manager ${opts.packageManager}: ${os.name} packages are installed with apt`);
  }
  if (!target.aptIsTarget) {
    throw new UsageError(`this machine's apt does not serve ${os.name}: install runs on the target host`, how.elsewhereHint);
  }
  if (!ctx.isRoot && !ctx.dryRun) {
    throw new KdebuginfoError('installing packages on this host needs root', {
      exitCode: ExitCode.needsRoot,
      hint: 'run it with sudo, or use --dry-run to see what would change',
    });
  }
  const ignored = (what: string) => {
    warnings.push(`${what} is ignored on ${os.name}: apt checks the archive's signatures itself`);
    ctx.ui.warn(warnings[warnings.length - 1] as string);
  };
  if (opts.noGpgcheck && !how.gpgcheckApplies) ignored('--no-gpgcheck');
  if (opts.gpgKeys.length > 0) ignored('--gpg-key');
}

/**
 * The verification an install ends with, decided before anything changes, as in the RPM flow: a
 * level that cannot run is a usage error now, not a failure after the packages went in. The
 * returned function runs it (null for `none` and under --dry-run).
 */
function debVerification(ctx: Context, target: DebTarget, opts: InstallOptions, verifier: DebVerifier | undefined): () => Promise<InstallResult['verify']> {
  const uname = target.kernel.uname;
  const level = opts.verify ?? defaultDebVerifyLevel(target);
  if (level === 'run' && !target.isRunning) {
    throw new UsageError(`--verify run loads the probe into the running kernel, and ${uname} is not running here`, `use --verify compile (stap -p4 -r ${uname}) or --verify resolve`);
  }
  if (level === 'run' && !verifier) throw new UsageError('--verify run is not available in this build; use --verify compile, resolve or none');
  return async () => {
    if (level === 'none' || ctx.dryRun) return null;
    return { level, ...(await verifyDeb(ctx, target, level, verifier)) };
  };
}

/**
 * `apt-get install -s` of what is about to be installed (NAME=VERSION specs or .deb paths): which
 * other packages apt would install (for the message) and upgrade (a warning: the host changes
 * beyond our packages). A simulation: nothing changes, so it runs under --dry-run too.
 */
async function simulateAptInstall(ctx: Context, specs: readonly string[], ours: readonly string[], warnings: string[]): Promise<{ alsoInstalled: string[]; extra: string }> {
  const simulated = await aptSimulateInstall(ctx.exec, specs);
  const isOurs = new Set(ours);
  const alsoInstalled = simulated.filter((c) => !isOurs.has(c.name) && c.previous === null).map((c) => c.name);
  const alsoUpgraded = simulated.filter((c) => !isOurs.has(c.name) && c.previous !== null).map((c) => `${c.name} (${c.previous} -> ${c.version})`);
  if (alsoUpgraded.length > 0) warnings.push(`apt also upgrades ${alsoUpgraded.join(', ')} (dependencies of ${[...isOurs].join(', ')})`);
  return { alsoInstalled, extra: alsoInstalled.length > 0 ? `; apt also installs ${alsoInstalled.join(', ')}` : '' };
}

/** src/core/verify-levels.ts's default for install: `run` for the running kernel, `compile` for one that is not (apt has no image root). */
export function defaultDebVerifyLevel(target: Pick<DebTarget, 'isRunning'>): VerifyLevel {
  return defaultVerifyLevel('install', target.isRunning ? 'running' : 'installed');
}

/** SystemTap itself, from apt: asked on a terminal, done with --yes, exit 2 naming the flags otherwise. */
async function ensureSystemtapDeb(ctx: Context, opts: InstallOptions, waitSeconds: number, warnings: string[]): Promise<void> {
  if (!opts.systemtap || (await onPath('stap', ctx.env))) return;
  if (!opts.yes) {
    if (!ctx.isInteractive) {
      throw new UsageError('SystemTap (stap) is not installed: pass --yes to install systemtap too, or --no-systemtap to leave it out');
    }
    if (!(await promptConfirm(ctx, 'SystemTap is not installed. Install systemtap with apt?'))) {
      warnings.push('SystemTap is not installed: the probe cannot run until it is');
      return;
    }
  }
  ctx.ui.info('installing systemtap with apt-get');
  await aptInstall(ctx.exec, ['systemtap'], { waitSeconds });
}

/**
 * Ubuntu's ddebs archive: the keyring package from Ubuntu's main archive, our own source file,
 * then apt-get update. Under --dry-run only says what it would do.
 */
async function addDdebsSource(ctx: Context, target: DebTarget, rewrites: readonly MirrorRewrite[], waitSeconds: number): Promise<void> {
  const codename = target.os.codename;
  if (codename === undefined) {
    throw new UsageError(`cannot name the ddebs suites: the codename of ${target.os.name} is unknown`, 'add the ddebs source yourself (https://documentation.ubuntu.com/server/explanation/debugging/debug-symbol-packages/)');
  }
  const url = rewriteUrl(UBUNTU_DDEBS.url, rewrites);
  const text = ddebsSourceLines(codename, url);
  ctx.ui.info(`${ctx.dryRun ? 'would add' : 'adding'} Ubuntu's debug symbol archive: ${UBUNTU_DDEBS.sourcesFile} (keyring ${UBUNTU_DDEBS.keyringPackage})`);
  const keyring = await dpkgInstalled(ctx.exec, [UBUNTU_DDEBS.keyringPackage]);
  if (!keyring.has(UBUNTU_DDEBS.keyringPackage)) await aptInstall(ctx.exec, [UBUNTU_DDEBS.keyringPackage], { waitSeconds });
  await writeAptSource(UBUNTU_DDEBS.sourcesFile, text, ctx.dryRun);
  // apt-get update exits 0 when a source cannot be fetched (it only warns): without this check
  // the user would next read "no such package" for a source that was never reached.
  const failed = unreachableDdebs(await aptUpdate(ctx.exec, { waitSeconds }), url);
  if (failed.length > 0) {
    throw new KdebuginfoError(`apt-get update could not fetch Ubuntu's debug symbol archive: ${failed.map((f) => `${f.url}: ${f.reason}`).join('; ')}`, {
      exitCode: ExitCode.network,
      hint: `${url} must be reachable from this host (through a proxy: apt's Acquire::http::Proxy), or name a mirror of it with --mirror ${UBUNTU_DDEBS.url}=URL; the source is ${UBUNTU_DDEBS.sourcesFile}`,
    });
  }
}

/**
 * stap-prep's Debian branch knows only the running kernel and refuses a release argument, so it
 * is run (as nobody: it would apt-get install as root) only when the target is the running
 * kernel, and its list compared with ours.
 */
async function compareWithDebStapPrep(ctx: Context, target: DebTarget, plan: DebPlanDetail, warnings: string[]): Promise<void> {
  if (!(await onPath('stap-prep', ctx.env))) return;
  let argv = ['stap-prep'];
  if (ctx.isRoot) {
    if (await onPath('setpriv', ctx.env)) argv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...argv];
    else if (await onPath('runuser', ctx.env)) argv = ['runuser', '-u', 'nobody', '--', ...argv];
    else return;
  }
  const r = await ctx.exec(argv, { allowFailure: true, timeoutMs: 60_000, env: { DEBUGINFOD_URLS: undefined, HOME: '/tmp' } });
  if (r.timedOut) return;
  const report = parseStapPrepOutput(r.stdout, r.stderr, r.exitCode);
  if (report.branch !== 'deb' || (report.release !== undefined && report.release !== target.kernel.uname)) {
    ctx.ui.debug(`stap-prep took its ${report.branch} branch for ${report.release ?? '?'}; not comparing`);
    return;
  }
  const byRole = (role: DebPackageRole) => plan.planned.find((p) => p.role === role)?.name ?? '';
  const found = compareDebWithStapPrep(report, { debuginfo: byRole('debuginfo'), devel: byRole('devel') }, debImagePackages(target.kernel));
  for (const w of found) {
    warnings.push(w);
    ctx.ui.warn(w);
  }
}

// ---------------------------------------------------------------------------------------------
// Verify: the verify command's, shared by every family (src/commands/verify.ts)
// ---------------------------------------------------------------------------------------------

/**
 * Prove the debuginfo and headers work for this kernel: runVerify at `level`, through `verifier`
 * when one is given (install passes the verify command's), else the verify command's own. A
 * failure is a value ({ok: false, detail}) naming the cause and the fix in apt's package names.
 */
export async function verifyDeb(ctx: Context, target: DebTarget, level: Exclude<VerifyLevel, 'none'>, verifier?: DebVerifier): Promise<{ ok: boolean; detail: string }> {
  if (verifier) return verifier(ctx, { uname: target.kernel.uname, level, root: '/' });
  // Loaded here, not at the top: plan and resolve load this module too and need none of verify.
  const { verifyOutcome } = await import('./verify.js');
  return verifyOutcome(ctx, { kernel: target.kernel.uname, os: `${target.os.id}:${target.os.version}`, level, root: '/' });
}

// ---------------------------------------------------------------------------------------------
// Download
// ---------------------------------------------------------------------------------------------

/**
 * `apt-get download` the pinned debuginfo and headers packages into `dir`, plus the headers'
 * dependencies built from the same kernel upload (linux-headers-<abi>-common, linux-kbuild-<series>,
 * ...: without them the headers package does not install on an offline box). A file already in
 * `dir` whose sha256 matches apt's is not fetched again. Under --dry-run nothing is fetched.
 */
export async function downloadDeb(ctx: Context, target: DebTarget, dir: string, opts: { rewrites?: readonly MirrorRewrite[] } = {}): Promise<DebDownloadResult> {
  return (await downloadDebForBundle(ctx, target, dir, opts)).download;
}

/**
 * downloadDeb, also saying why each same-build dependency is there: `dependencyOf` maps its
 * package name to the package that depends on it (the headers). A bundle's install.sh and
 * `install --from-bundle` leave such a package alone when the host already has it at that version
 * or a newer one (linux-kbuild-<series> is shared by every ABI of a series).
 */
export async function downloadDebForBundle(
  ctx: Context,
  target: DebTarget,
  dir: string,
  opts: { rewrites?: readonly MirrorRewrite[] } = {},
): Promise<{ download: DebDownloadResult; dependencyOf: ReadonlyMap<string, string> }> {
  const dest = resolvePath(ctx.cwd, dir);
  const plan = await buildDebPlan(ctx, target, opts.rewrites ?? []);
  const missing = plan.planned.filter((p) => p.uri === undefined);
  if (missing.length > 0) throw await notFound(ctx, target, plan, missing, false);
  const resolved = resolvedResult(plan);
  const version = plan.planned[0]?.version as string;
  const devel = plan.planned.find((p) => p.role === 'devel') as DebPlanned;
  const deps = await sameBuildDependencies(ctx, devel, version);
  const items: Array<{ role: DebPackageRole; name: string; version: string; uri: AptUri }> = [
    ...plan.planned.map((p) => ({ role: p.role, name: p.name, version, uri: p.uri as AptUri })),
    ...deps.map((d) => ({ role: 'devel' as const, ...d })),
  ];
  const out: DownloadedPackage[] = [];
  const fetch: typeof items = [];
  for (const it of items) {
    const path = join(dest, it.uri.file);
    const sums = ctx.dryRun ? undefined : await fileDigests(path, ['sha256', it.uri.checksum?.type ?? 'sha256']);
    const cached = sums !== undefined && matchesApt(sums, it.uri.checksum);
    if (!cached) fetch.push(it);
    out.push(downloadedPackage(it, target.arch, {
      status: cached ? 'cached' : ctx.dryRun ? 'would-download' : 'downloaded',
      path: cached ? path : null,
      sha256: cached ? (sums.get('sha256') as string) : null,
    }));
  }
  if (ctx.dryRun) {
    for (const f of fetch) ctx.ui.info(`would download ${f.uri.url}`);
  } else if (fetch.length > 0) {
    ctx.ui.info(`downloading ${fetch.map((f) => f.uri.file).join(', ')} into ${dest} with apt-get`);
    await aptDownload(ctx.exec, fetch.map((f) => `${f.name}=${f.version}`), dest);
    for (const p of out.filter((x) => x.status === 'downloaded')) {
      const path = join(dest, p.file);
      const sums = await fileDigests(path, ['sha256', p.checksum?.type ?? 'sha256']);
      if (sums === undefined) throw new KdebuginfoError(`apt-get download finished but ${path} is not there`);
      const c = p.checksum;
      if (c !== null && sums.has(c.type) && !matchesApt(sums, c)) throw new KdebuginfoError(`${path}: ${c.type} ${sums.get(c.type)} is not apt's ${c.value}`);
      Object.assign(p, { path, sha256: sums.get('sha256'), fetchedBytes: p.size ?? 0 });
    }
  }
  const download: DebDownloadResult = {
    kernel: resolved.kernel,
    os: resolved.os,
    notes: resolved.notes,
    cacheDir: dest,
    dest,
    dryRun: ctx.dryRun,
    packages: out,
    fetchedBytes: out.reduce((n, p) => n + p.fetchedBytes, 0),
  };
  return { download, dependencyOf: new Map(deps.map((d) => [d.name, devel.name])) };
}

/**
 * Does a file's digest equal apt's (SHA256 on Debian's archive, SHA512 on Ubuntu's)? A file
 * apt gave no usable checksum for never counts as already fetched (apt-get download checks
 * what it fetches against the signed lists itself).
 */
function matchesApt(sums: ReadonlyMap<string, string>, checksum: AptUri['checksum']): boolean {
  if (checksum === null) return false;
  const sum = sums.get(checksum.type);
  return sum === undefined ? false : sum === checksum.value;
}

function downloadedPackage(
  it: { role: DebPackageRole; name: string; version: string; uri: AptUri },
  arch: string,
  s: Pick<DownloadedPackage, 'status' | 'path' | 'sha256'>,
): DownloadedPackage {
  const v = splitDebVersion(it.version);
  const fileArch = /_([a-z0-9]+)\.d?deb$/.exec(it.uri.file)?.[1] ?? arch;
  return {
    role: it.role,
    name: it.name,
    version: v.upstream,
    release: v.revision,
    arch: fileArch,
    file: it.uri.file,
    url: it.uri.url,
    size: it.uri.size,
    sha256: s.sha256,
    checksum: it.uri.checksum,
    verifiedBy: s.sha256 === null ? null : 'sha256',
    status: s.status,
    fetchedBytes: 0,
    path: s.path,
  };
}

/**
 * Dependencies of the headers package that apt has at this very version, i.e. built from the same
 * kernel upload: on Debian 12 `linux-headers-6.1.0-56-common (= 6.1.192-2)`,
 * `linux-kbuild-6.1 (>= 6.1.192-2)` and the unversioned `linux-compiler-gcc-12-x86`
 * (fixtures/captured/apt/show-headers.txt); not the generic toolchain a target already has.
 */
async function sameBuildDependencies(ctx: Context, devel: DebPlanned, version: string): Promise<Array<{ name: string; version: string; uri: AptUri }>> {
  const stanza = await aptShow(ctx.exec, devel.name, version);
  const names = dependencyNames(stanza?.['Depends'] ?? '');
  const uris = names.length === 0 ? new Map<string, AptUri | undefined>() : await aptPrintUris(ctx.exec, names.map((n) => `${n}=${version}`));
  return names.flatMap((name) => {
    const uri = uris.get(`${name}=${version}`);
    return uri ? [{ name, version, uri }] : [];
  });
}

/** The first alternative of each dependency in a Depends field, without version or arch qualifiers. */
function dependencyNames(depends: string): string[] {
  return depends
    .split(',')
    .map((d) => /^\s*([a-z0-9][a-z0-9+.-]*)/.exec(d.split('|')[0] ?? '')?.[1])
    .filter((n): n is string => n !== undefined);
}
