/**
 * The Debian/Ubuntu plan, told with apt: apt owns mirrors and signatures here, so kdebuginfo asks
 * it which version of each package exists and where, and pins the exact build. The two packages
 * per kernel (there is no -common on Debian): debuginfo is `linux-image-<R>-dbg` (Debian) or
 * `linux-image-unsigned-<R>-dbgsym` / `linux-image-<R>-dbgsym` (Ubuntu, from the ddebs archive);
 * devel is `linux-headers-<R>` (src/core/debian.ts, docs/mirror-layouts.md).
 */
import type { Context } from '../../context.js';
import type { PlanResult, Resolved } from '../types.js';
import type { DebTarget } from './target.js';
import {
  ddebsSourceLines,
  debFileName,
  debImagePackages,
  debPackagesFor,
  hasDdebsSource,
  nearestKernelPackages,
  runningBuildVersion,
  splitDebVersion,
  UBUNTU_DDEBS,
  type DebPackageRole,
} from '../../core/debian.js';
import { rewriteUrl, type MirrorRewrite } from '../../core/mirrors.js';
import { aptPackageNames, aptPolicy, aptPrintUris, aptSources, dpkgInstalled, type AptPolicy, type AptUri } from '../../io/apt.js';
import { ExitCode, KdebuginfoError } from '../../errors.js';


/** One planned package with what apt said about it. */
export interface DebPlanned {
  role: DebPackageRole;
  name: string;
  /** The full Debian version to install (`6.1.192-2`), or null when unknown (apt not asked, or it has none). */
  version: string | null;
  /** apt's answer for that name at that version: URL, size, sha256. */
  uri: AptUri | undefined;
  policy: AptPolicy | undefined;
}

export interface DebPlanDetail {
  result: PlanResult;
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

/**
 * Ask apt and dpkg (when this host's apt is the target's) and decide names and the build version.
 * `withUris: false` leaves out `apt-get download --print-uris` (the URL, size and checksum of
 * each file), which an install that finds everything present does not need: apt calls take about
 * a second each on a Debian 12 box without a package cache file.
 */
export async function buildDebPlan(ctx: Context, target: DebTarget, rewrites: readonly MirrorRewrite[], opts: { withUris: boolean } = { withUris: true }): Promise<DebPlanDetail> {
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
export async function fillUris(ctx: Context, target: DebTarget, detail: DebPlanDetail): Promise<void> {
  const version = detail.planned[0]?.version ?? null;
  if (!target.aptIsTarget || version === null) return;
  const known = detail.planned.filter((p) => p.policy?.versions.some((v) => v.version === version));
  const uris = await aptPrintUris(ctx.exec, known.map((p) => `${p.name}=${version}`));
  for (const p of detail.planned) p.uri = uris.get(`${p.name}=${version}`);
  detail.result = planResult(target, detail.planned, detail.result.notes);
}

function planResult(target: DebTarget, planned: readonly DebPlanned[], notes: string[]): PlanResult {
  const k = target.kernel;
  const os = target.os;
  const result: PlanResult = {
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

/** Each planned package as a resolved one: apt's pool URL, size and checksum (from its signed lists). */
export function resolvedPackages(target: DebTarget, planned: readonly DebPlanned[]): Resolved[] {
  return planned.map((p) => resolvedOf(target, p.role, p.name, p.version as string, p.uri as AptUri));
}

export function resolvedOf(target: DebTarget, role: DebPackageRole, name: string, version: string, uri: AptUri): Resolved {
  const v = splitDebVersion(version);
  const fileArch = /_([a-z0-9]+)\.d?deb$/.exec(uri.file)?.[1] ?? target.arch;
  return {
    role,
    name,
    version: v.upstream,
    release: v.revision,
    arch: fileArch,
    file: uri.file,
    url: uri.url,
    size: uri.size,
    checksum: uri.checksum,
    source: 'apt',
    candidates: [uri.url],
  };
}

/** Exit 3, naming what apt has instead (other versions of the package, neighbouring releases) and what to do. */
export async function notFound(ctx: Context, target: DebTarget, plan: DebPlanDetail, missing: DebPlanned[], updated: boolean): Promise<KdebuginfoError> {
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

