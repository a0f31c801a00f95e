/**
 * Which Debian or Ubuntu kernel and release a command serves. Which build: a debug package helps
 * only if it comes from the very build of the kernel (same build-id), and one ABI (`6.1.0-56`)
 * can see several uploads, so plan.ts pins the version (docs/kernel-releases.md).
 */
import { join } from 'node:path';
import type { Context } from '../../context.js';
import type { TargetOptions } from '../types.js';
import {
  compareDebKernelReleases,
  debOsFromOsRelease,
  inferDebOs,
  parseDebKernelRelease,
  parseDebOsFlag,
  type DebKernelRelease,
  type DebOsInfo,
} from '../../core/debian.js';
import { parseOsReleaseFields } from '../../core/os-release.js';
import { looksLikeRpmKernel, parseKernelRelease } from '../../core/kernel-release.js';
import { dpkgArchitecture, readKernelBuildFacts, thisMachineDebArch } from '../../io/apt.js';
import { readHostFacts } from '../../io/host.js';
import { installedKernelReleases } from '../../io/rpm.js';
import { onPath } from '../../io/which.js';
import { UsageError } from '../../errors.js';


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
      // An RPM-shaped string (even a wrong one) is the RPM parser's to judge: its error names what is missing.
      if (hostOs === undefined || isRpmKernel(uname) || looksLikeRpmKernel(uname)) return undefined;
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

