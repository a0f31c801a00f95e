import type { KernelRelease, OsInfo } from './types.js';
import { parseKernelRelease } from './kernel-release.js';
import { inferOsFromKernel, parseOsFlag, parseOsRelease } from './os-release.js';
import { UsageError } from '../errors.js';
import { isDebFamily } from './debian.js';

export interface Target {
  kernel: KernelRelease;
  os: OsInfo;
  /** Sentences for the user about how the target was chosen (e.g. an inferred OS). */
  notes: string[];
}

/**
 * Which kernel and OS to serve: the flags when given, else the host's. A `--kernel` whose dist
 * tag does not belong to the host's distro (planning for another host from a control machine)
 * gets its OS from the dist tag, and the note says so.
 */
export function chooseTarget(input: {
  kernelFlag: string | undefined;
  osFlag: string | undefined;
  unameRelease: string;
  osRelease: { path: string; text: string } | undefined;
}): Target {
  const notes: string[] = [];
  const kernel = parseKernelRelease(input.kernelFlag ?? input.unameRelease);
  if (input.osFlag !== undefined) return { kernel, os: parseOsFlag(input.osFlag), notes };

  let hostOs: OsInfo | undefined;
  let hostOsError: unknown;
  if (input.osRelease) {
    try {
      hostOs = parseOsRelease(input.osRelease.text, input.osRelease.path);
    } catch (err) {
      hostOsError = err;
    }
  }
  if (hostOs && fitsDistTag(hostOs, kernel)) return { kernel, os: hostOs, notes };
  if (input.kernelFlag === undefined && !hostOs) {
    if (hostOsError) throw hostOsError;
    throw new UsageError('no /etc/os-release on this host: pass --os ID:MAJOR (e.g. --os centos:8)');
  }
  const inferred = inferOsFromKernel(kernel);
  notes.push(`${inferred.reason}; pass --os to choose another`);
  return { kernel, os: inferred.os, notes };
}

/** Does the kernel's dist tag belong to this OS? (`el8_5` on CentOS 8, `fc39` on Fedora 39) */
function fitsDistTag(os: OsInfo, k: KernelRelease): boolean {
  // An RPM kernel on a Debian/Ubuntu host (planning from a control machine, or a container on an
  // EL host): its OS comes from the dist tag. Debian/Ubuntu kernels never get here (debTargetFor).
  if (isDebFamily(os.id)) return false;
  if (os.id === 'fedora') return k.distKind === 'fc' && String(k.distMajor) === os.version;
  return k.distKind === 'el' && String(k.distMajor) === os.version;
}
