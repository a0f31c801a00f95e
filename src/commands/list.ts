import type { Context } from '../context.js';
import { formatBytes } from '../core/format.js';
import { parseOsReleaseFields } from '../core/os-release.js';
import { debOsFromOsRelease, compareDebKernelReleases, isDebKernelRelease, parseDebKernelRelease, debPaths, type DebFamily } from '../core/debian.js';
import { parseKernelRelease } from '../core/kernel-release.js';
import {
  debPackagesOf,
  isRecorded,
  judgeKernel,
  rpmBuildsOf,
  rpmPackagesOf,
  type InstalledPackage,
  type KernelPackage,
  type KernelStatus,
  type LifecycleFamily,
  type LifecycleRole,
} from '../core/lifecycle.js';
import { installedKernels } from '../backends/rpm/target.js';
import { readHostFacts } from '../io/host.js';
import { inRoot, readSystemFacts } from '../io/doctor-facts.js';
import { installedKernelReleases } from '../io/rpm.js';
import { debInstalledPackages, debListedBytes, rpmKernelPackages } from '../io/kernel-packages.js';
import { readInstallRecord } from '../io/install-record.js';
import { readBuildIdFromFile, readRunningKernelBuildId } from '../io/elf.js';

export interface ListOptions {
  root: string | undefined;
}

export interface ListedPackage {
  role: LifecycleRole;
  name: string;
  version: string;
  /** What the package manager removes it by: RPM name-version-release.arch, Debian the name. */
  key: string;
  /** Bytes on disk (RPM %{SIZE}, Debian Installed-Size). */
  size: number;
  /** Recorded by kdebuginfo's install and still that installation (src/core/lifecycle.ts). */
  byKdebuginfo: boolean;
}

export interface ListedKernel {
  kernel: string;
  /** Is its modules directory (`lib/modules/<R>`) in the root? False: only its debug packages remain. */
  kernelInstalled: boolean;
  running: boolean;
  ready: boolean;
  status: KernelStatus;
  detail: string;
  /** The running kernel only: the debuginfo vmlinux's build-id and the running kernel's. */
  buildId: { debuginfo: string | null; running: string | null } | null;
  packages: ListedPackage[];
  diskBytes: number;
}

export interface ListResult {
  root: string;
  family: LifecycleFamily;
  running: string | null;
  kernels: ListedKernel[];
  totalBytes: number;
}

/** The root's packaging family, from its os-release (Debian, Ubuntu and derivatives: deb). */
async function familyOf(root: string): Promise<{ family: LifecycleFamily; debFamily: DebFamily | undefined }> {
  const os = (await readHostFacts(root)).osRelease;
  const deb = os ? debOsFromOsRelease(parseOsReleaseFields(os.text), os.path) : undefined;
  return deb ? { family: 'deb', debFamily: deb.id } : { family: 'rpm', debFamily: undefined };
}

/**
 * Every kernel installed in the root (and every build whose debug packages outlived its kernel),
 * what is installed for each, whether it is ready, and the disk its packages use.
 */
export async function runList(ctx: Context, opts: ListOptions): Promise<ListResult> {
  const root = opts.root ?? '/';
  const { family, debFamily } = await familyOf(root);
  const system = await readSystemFacts(root);
  const running = system.running.release ?? null;
  const installed = family === 'rpm' ? await rpmKernelPackages(ctx.exec, root) : await debInstalledPackages(root);
  const kernels: Array<{ kernel: string; kernelInstalled: boolean; packages: KernelPackage[]; imageVersion?: string | undefined }> = [];

  if (family === 'rpm') {
    const names = await installedKernels(root);
    if (running !== null && !names.includes(running) && isRpmRelease(running)) names.push(running);
    const builds = new Set<string>();
    for (const R of names) {
      const k = parseKernelRelease(R);
      builds.add(`${k.version}-${k.release}.${k.arch}`);
      kernels.push({ kernel: R, kernelInstalled: system.installedKernels.includes(R), packages: rpmPackagesOf(k, installed) });
    }
    // Debug packages whose kernel is gone: shown under their build, for `prune` to find.
    for (const [build, pkgs] of rpmBuildsOf(installed)) {
      if (builds.has(build) || !isRpmRelease(build)) continue;
      kernels.push({ kernel: build, kernelInstalled: false, packages: rpmPackagesOf(parseKernelRelease(build), pkgs) });
    }
  } else {
    const names = (await installedKernelReleases(root)).filter((R) => isDebKernelRelease(R, debFamily));
    if (running !== null && !names.includes(running) && isDebKernelRelease(running, debFamily)) names.push(running);
    names.sort((a, b) => compareDebKernelReleases(parseDebKernelRelease(a, debFamily), parseDebKernelRelease(b, debFamily)));
    for (const R of names) {
      const { packages, imageVersion } = debPackagesOf(parseDebKernelRelease(R, debFamily), installed);
      for (const p of packages) if (p.size === 0) p.size = await debListedBytes(root, p.name, p.arch);
      kernels.push({ kernel: R, kernelInstalled: system.installedKernels.includes(R), packages, imageVersion });
    }
  }

  const listed: ListedKernel[] = [];
  for (const k of kernels) {
    const record = await readInstallRecord(root, k.kernel);
    const isRunning = k.kernel === running && system.isLiveSystem;
    let buildId: { debuginfo: string | undefined; running: string | undefined } | undefined;
    if (isRunning && k.packages.length > 0) {
      const vmlinux = inRoot(root, family === 'rpm' ? `/usr/lib/debug/lib/modules/${k.kernel}/vmlinux` : debPaths(k.kernel).debugVmlinux);
      buildId = {
        debuginfo: await readBuildIdFromFile(vmlinux).catch(() => undefined),
        running: await readRunningKernelBuildId(inRoot(root, '/sys/kernel/notes')).catch(() => undefined),
      };
    }
    const verdict = judgeKernel({ family, packages: k.packages, imageVersion: k.imageVersion, buildId });
    const packages = k.packages.map((p) => listedPackage(family, p, isRecorded(family, p, record)));
    listed.push({
      kernel: k.kernel,
      kernelInstalled: k.kernelInstalled,
      running: isRunning,
      ready: verdict.status === 'ready',
      ...verdict,
      buildId: buildId ? { debuginfo: buildId.debuginfo ?? null, running: buildId.running ?? null } : null,
      packages,
      diskBytes: sumBytes(packages),
    });
  }
  // A -common package shared by two flavours of one build is counted once in the total.
  const unique = new Map(listed.flatMap((k) => k.packages.map((p) => [p.key, p.size] as const)));
  return { root, family, running, kernels: listed, totalBytes: [...unique.values()].reduce((a, b) => a + b, 0) };
}

function isRpmRelease(R: string): boolean {
  try {
    parseKernelRelease(R);
    return true;
  } catch {
    return false;
  }
}

function listedPackage(family: LifecycleFamily, p: KernelPackage, byKdebuginfo: boolean): ListedPackage {
  return { role: p.role, name: p.name, version: family === 'rpm' ? `${p.version}-${p.release}` : p.version, key: p.key, size: p.size, byKdebuginfo };
}

const sumBytes = (ps: ReadonlyArray<Pick<InstalledPackage, 'size'>>) => ps.reduce((n, p) => n + p.size, 0);

export function formatList(r: ListResult): string {
  if (r.kernels.length === 0) return `no kernel installed in ${r.root}\n`;
  const rows = r.kernels.map((k) => [
    `${k.kernel}${k.running ? ' (running)' : ''}${k.kernelInstalled || k.running ? '' : ' (kernel removed)'}`,
    k.status,
    formatBytes(k.diskBytes),
    k.packages.length === 0 ? '-' : k.packages.map((p) => `${p.name}${p.byKdebuginfo ? '' : ' (not by kdebuginfo)'}`).join(', '),
  ]);
  const head = ['KERNEL', 'STATUS', 'DISK', 'PACKAGES'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  const details = r.kernels.filter((k) => k.status !== 'ready' && k.status !== 'none').map((k) => `${k.kernel}: ${k.detail}`);
  return [line(head), ...rows.map(line), '', `total: ${formatBytes(r.totalBytes)}`, ...details].join('\n') + '\n';
}
