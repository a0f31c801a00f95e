/**
 * One explanation of a failed verification, for every distribution family: stap's diagnosis
 * (src/core/stap-messages.ts) made specific to the kernel, with the exact packages to install in
 * the family's own names (RPM: src/core/package-naming.ts; Debian/Ubuntu: src/core/debian.ts),
 * the build tree the devel package provides, the cache to clear, and the SystemTap versions
 * involved. Pure: the caller says which kernel, root, HOME and stap version.
 */
import { parseKernelRelease } from './kernel-release.js';
import { packagesFor } from './package-naming.js';
import { debPackagesFor, debPaths, isDebFamily, parseDebKernelRelease, type DebFamily, type DebKernelRelease } from './debian.js';
import { kernelSymbolOf, missingHeaderOf, type StapDiagnosis, type StapDiagnosisCode } from './stap-messages.js';
import type { ResolvedProbeCheck } from './fork-probe.js';
import type { KernelRelease, PackageSpec } from './types.js';

export type VerifyDiagnosisCode = StapDiagnosisCode | 'stap-missing' | 'probe-saw-nothing' | 'probe-points-unresolved' | 'timeout' | 'stap-failed';

export interface VerifyDiagnosis {
  code: VerifyDiagnosisCode;
  summary: string;
  fix: string;
  /** Exact packages to install or reinstall (RPM: name-version-release.arch; Debian/Ubuntu: the package name). */
  packages: string[];
  /** stap's lines that led here. */
  evidence: string[];
}

/** A kernel release read by the grammar of its family. */
export type KernelFamily = { kind: 'rpm'; kernel: KernelRelease } | { kind: 'deb'; kernel: DebKernelRelease };

/**
 * Whose kernel this is: the RPM grammar first (it refuses Debian/Ubuntu forms by name), then
 * Debian/Ubuntu's (`debFamily`, from --os, lets an Ubuntu flavour kdebuginfo has not seen through).
 * Undefined for a kernel of neither (a custom build): stap can still try, the fixes then name no packages.
 */
export function kernelFamilyOf(uname: string, debFamily?: DebFamily): KernelFamily | undefined {
  try {
    return { kind: 'rpm', kernel: parseKernelRelease(uname) };
  } catch {
    // not an RPM kernel
  }
  try {
    return { kind: 'deb', kernel: parseDebKernelRelease(uname, debFamily) };
  } catch {
    return undefined;
  }
}

/** The Debian family an --os value names (`debian:12`, `ubuntu:24.04`), if it names one. */
export function debFamilyOfOsFlag(os: string | undefined): DebFamily | undefined {
  const id = os?.split(':')[0]?.trim().toLowerCase();
  return id !== undefined && isDebFamily(id) ? id : undefined;
}

/** What a family calls the packages a kernel needs, and how it installs them. */
export interface FamilyPackages {
  family: KernelFamily['kind'];
  /** The debuginfo packages for exactly this kernel (RPM: debuginfo and -common NVRAs; Debian/Ubuntu: the -dbg/-dbgsym package). */
  debuginfo: string[];
  /** The build-tree package (kernel-devel NVRA, linux-headers-R). */
  devel: string[];
  /** Where the devel package puts the tree /lib/modules/R/build must point at. */
  buildTree: string;
  /** SystemTap's packages: what to upgrade when its runtime is older than the kernel (Debian ships the runtime sources in systemtap-common). */
  systemtap: string[];
  /** The host's package tool, to install and to reinstall one package. */
  tool: { install: string; reinstall: string };
}

const nvra = (p: PackageSpec) => `${p.name}-${p.version}-${p.release}.${p.arch}`;

export function familyPackagesFor(k: KernelFamily): FamilyPackages {
  if (k.kind === 'rpm') {
    const specs = packagesFor(k.kernel);
    const byRole = (...roles: Array<PackageSpec['role']>) => specs.filter((s) => roles.includes(s.role)).map(nvra);
    return {
      family: 'rpm',
      debuginfo: byRole('debuginfo', 'debuginfo-common'),
      devel: byRole('devel'),
      buildTree: `/usr/src/kernels/${k.kernel.uname}`,
      systemtap: ['systemtap', 'systemtap-runtime', 'systemtap-devel'],
      tool: { install: 'dnf install', reinstall: 'dnf reinstall' },
    };
  }
  // The first name of each role is the one to give when apt cannot be asked (src/core/debian.ts).
  const first = (role: 'debuginfo' | 'devel') => debPackagesFor(k.kernel).find((c) => c.role === role)?.names.slice(0, 1) ?? [];
  return {
    family: 'deb',
    debuginfo: first('debuginfo'),
    devel: first('devel'),
    buildTree: debPaths(k.kernel.uname).headersDir,
    systemtap: ['systemtap', 'systemtap-common', 'systemtap-runtime'],
    tool: { install: 'apt-get install', reinstall: 'apt-get install --reinstall' },
  };
}

/** The family's packages for a kernel release, or undefined for a kernel of no known family. */
export function familyPackagesOf(uname: string, debFamily?: DebFamily): FamilyPackages | undefined {
  const k = kernelFamilyOf(uname, debFamily);
  return k ? familyPackagesFor(k) : undefined;
}

/** Everything explainDiagnosis needs, whoever calls it. */
export interface ExplainContext {
  uname: string;
  /** The upstream version to name (`5.14.0`); undefined where the release does not say it (Debian's ABI form `6.1.0-56` is not the upstream 6.1.192). */
  kernelVersion: string | undefined;
  /** The HOME stap ran with: its .systemtap/cache is the one to clear. */
  home: string;
  /** `stap -V`, parsed. */
  version: { version: string; testedKernels?: { min: string; max: string } | undefined };
  /** The kdebuginfo command that installs what this kernel needs. */
  install: string;
  /** The family's package names for this kernel; undefined for a kernel of no known family. */
  packages: FamilyPackages | undefined;
}

/** The context for a kernel release, on the host (`root` '/') or in an image root. */
export function explainContextFor(o: {
  uname: string;
  root: string;
  home: string;
  version: ExplainContext['version'];
  debFamily?: DebFamily | undefined;
}): ExplainContext {
  const k = kernelFamilyOf(o.uname, o.debFamily);
  // apt installs into the running system only, so for an image root the command runs inside it.
  const install =
    o.root === '/'
      ? `kdebuginfo install --kernel ${o.uname}`
      : k?.kind === 'deb'
        ? `chroot ${o.root} kdebuginfo install --kernel ${o.uname}`
        : `kdebuginfo install --kernel ${o.uname} --root ${o.root}`;
  return {
    uname: o.uname,
    kernelVersion: k?.kind === 'rpm' ? k.kernel.version : undefined,
    home: o.home,
    version: o.version,
    install,
    packages: k ? familyPackagesFor(k) : undefined,
  };
}

/** `a`, `a and b`, `a, b and c`. */
function listAnd(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] as string}`;
}

/** stap's diagnosis, made specific: the exact packages for this kernel, the cache to clear, the versions involved. */
export function explainDiagnosis(d: StapDiagnosis, c: ExplainContext): VerifyDiagnosis {
  const p = c.packages;
  const out: VerifyDiagnosis = { code: d.code, summary: d.summary, fix: d.fix, packages: d.packages ?? [], evidence: d.evidence };
  switch (d.code) {
    case 'missing-debuginfo':
    case 'buildid-mismatch': {
      if (p && p.debuginfo.length > 0) {
        out.packages = p.debuginfo;
        out.fix =
          d.code === 'missing-debuginfo'
            ? `install ${listAnd(p.debuginfo)}: ${c.install}`
            : `install ${listAnd(p.debuginfo)} from the same build as the running kernel (its vmlinux build-id must equal /sys/kernel/notes; kdebuginfo doctor compares them)`;
      }
      break;
    }
    case 'devel-mismatch':
    case 'devel-incomplete': {
      const devel = p?.devel[0];
      if (p && devel) {
        out.packages = [devel];
        out.fix =
          d.code === 'devel-mismatch'
            ? `install ${devel}: ${c.install}; /lib/modules/${c.uname}/build must point at ${p.buildTree}`
            : `reinstall ${devel} (${p.tool.reinstall} ${devel}); a tree copied by hand or a partly unpacked package gives this`;
      }
      break;
    }
    case 'runtime-too-old':
      return runtimeTooOld(d, c);
    case 'stale-module':
      out.fix = `clear the cache and run verify again: rm -rf ${c.home}/.systemtap/cache`;
      break;
    default:
      break;
  }
  return out;
}

/**
 * Pass 4 failing inside SystemTap's own runtime: which runtime file, the kernel interface it trips
 * on (not the compiler's message), the versions SystemTap was tested with, and that only a newer
 * SystemTap fixes it. Captured: fixtures/captured/apt/stap-p4-runtime-too-old.txt (Debian 12) and
 * fixtures/captured/stap/fake-kbuild-runtime-too-old.txt.
 */
function runtimeTooOld(d: StapDiagnosis, c: ExplainContext): VerifyDiagnosis {
  const stap = `SystemTap ${c.version.version}`;
  const file = d.file ? (/(runtime\/.*)$/.exec(d.file)?.[1] ?? d.file) : 'its runtime';
  const line = d.evidence[0] ?? '';
  const symbol = kernelSymbolOf(line);
  const header = symbol === undefined ? missingHeaderOf(line) : undefined;
  const what = symbol ? `no longer matches the kernel's ${symbol}` : header ? `includes ${header}, which this kernel does not have` : 'does not compile against this kernel';
  const tested = c.version.testedKernels;
  const k = c.kernelVersion;
  const range = tested
    ? ` (${stap} was tested with kernels ${tested.min} ... ${tested.max}${k ? `; this kernel is ${k}` : ''})`
    : k
      ? ` (this kernel is ${k})`
      : '';
  const systemtap = c.packages?.systemtap ?? ['systemtap', 'systemtap-runtime'];
  return {
    code: d.code,
    summary: `Pass 4 failed inside ${stap}'s own runtime: ${file} ${what}. The runtime is older than the kernel ${c.uname}${range}; the debuginfo and the kernel headers are fine.`,
    fix: `upgrade ${listAnd(systemtap)} from ${c.version.version} to a release that supports ${k ? `Linux ${k}` : 'this kernel'}; the debuginfo and the kernel headers cannot fix this`,
    packages: systemtap,
    evidence: d.evidence,
  };
}

/** stap is not on PATH: install it, in the family's words. */
export function stapMissingDiagnosis(packages: FamilyPackages | undefined): VerifyDiagnosis {
  const pkgs = packages?.family === 'deb' ? ['systemtap'] : ['systemtap', 'systemtap-runtime'];
  return {
    code: 'stap-missing',
    summary: 'stap is not installed (not on PATH).',
    fix: packages
      ? `install SystemTap: ${packages.tool.install} ${pkgs.join(' ')} (then kdebuginfo doctor)`
      : `install SystemTap (${pkgs.join(' and ')}) with the system's package manager (then kdebuginfo doctor)`,
    packages: pkgs,
    evidence: [],
  };
}

/** Pass 2 exited 0, yet the fork path or nanosleep did not resolve to a function with its source file. */
export function unresolvedProbePointsDiagnosis(check: ResolvedProbeCheck, c: Pick<ExplainContext, 'uname' | 'install' | 'packages'>, evidence: string[]): VerifyDiagnosis {
  const debuginfo = c.packages?.debuginfo ?? [];
  return {
    code: 'probe-points-unresolved',
    summary: `stap pass 2 succeeded but did not resolve ${listAnd(check.missing)} with a source file: the debuginfo is not being used.`,
    fix: `the debuginfo stap reads must be for exactly ${c.uname} (kdebuginfo doctor compares build-ids)${debuginfo.length > 0 ? `; install ${listAnd(debuginfo)}: ${c.install}` : ''}`,
    packages: debuginfo,
    evidence,
  };
}
