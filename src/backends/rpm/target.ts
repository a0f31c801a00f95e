import { join } from 'node:path';
import type { KernelRelease } from '../../core/types.js';
import { chooseTarget, type Target } from '../../core/target.js';
import { parseKernelRelease } from '../../core/kernel-release.js';
import { compareEvr } from '../../core/rpm-version.js';
import type { HostFacts } from '../../io/host.js';
import { installedKernelReleases } from '../../io/rpm.js';
import { UsageError } from '../../errors.js';
import type { TargetOptions } from '../types.js';

/** The RPM target for these flags and this host's facts (the kernel's dist tag, the host's os-release). */
export async function readRpmTarget(opts: TargetOptions, facts: HostFacts): Promise<Target> {
  const root = opts.root ?? '/';
  return chooseTarget({
    kernelFlag: await pickKernel(root, opts.kernel),
    osFlag: opts.os,
    unameRelease: facts.unameRelease,
    osRelease: facts.osRelease,
  });
}

/**
 * `--kernel R | running | newest-installed`, or none: the running kernel on the host; in an
 * image root (`--root`), where the host's running kernel means nothing, the one kernel
 * installed there. Undefined means the running kernel.
 */
export async function pickKernel(root: string, arg: string | undefined): Promise<string | undefined> {
  if (arg === 'running') return undefined;
  if (arg !== undefined && arg !== 'newest-installed') return arg;
  if (arg === undefined && root === '/') return undefined;
  const installed = await installedKernels(root);
  const modules = join(root, 'lib/modules');
  if (arg === 'newest-installed') {
    const newest = installed[installed.length - 1];
    if (!newest) throw new UsageError(`--kernel newest-installed: no kernel in ${modules}`, 'name one with --kernel R');
    return newest;
  }
  if (installed.length === 1) return installed[0];
  if (installed.length === 0) throw new UsageError(`no kernel in ${modules}: name one with --kernel R`);
  throw new UsageError(`several kernels in ${modules} (${installed.join(', ')}): say which with --kernel R or --kernel newest-installed`);
}

/** Kernel releases installed in the root, oldest first in rpm order; names that are not kernel releases are left out. */
export async function installedKernels(root: string): Promise<string[]> {
  const parsed: KernelRelease[] = [];
  for (const n of await installedKernelReleases(root)) {
    try {
      parsed.push(parseKernelRelease(n));
    } catch {
      // not a kernel release we know (a stray directory): ignore it
    }
  }
  parsed.sort((a, b) => compareEvr({ version: a.version, release: a.release }, { version: b.version, release: b.release }));
  return parsed.map((k) => k.uname);
}
