import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Exec, ExecResult } from './exec.js';
import { KdebuginfoError } from '../errors.js';

export type PackageManagerName = 'dnf5' | 'dnf' | 'yum' | 'rpm';

/** The first of dnf5, dnf, yum, rpm on PATH (or the one asked for). */
export async function findPackageManager(
  env: Record<string, string | undefined>,
  wanted: PackageManagerName | 'auto' = 'auto',
): Promise<PackageManagerName | undefined> {
  const order: PackageManagerName[] = wanted === 'auto' ? ['dnf5', 'dnf', 'yum', 'rpm'] : [wanted];
  for (const name of order) if (await onPath(name, env)) return name;
  return undefined;
}

export async function onPath(cmd: string, env: Record<string, string | undefined>): Promise<boolean> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

export interface InstallRequest {
  files: string[];
  /** '/' for the host, else an image root. */
  root: string;
  /** Distro major, for dnf's $releasever in a root that has no release package yet. */
  releasever: string;
  noGpgcheck: boolean;
}

/**
 * dnf's and yum's own install-only lists (what they keep side by side instead of upgrading),
 * from dnf.conf(5) and yum.conf(5) of dnf 4 / dnf5 and yum 3.4 (CentOS 7). `--setopt` of a list
 * replaces it under yum, so the defaults are passed along with ours.
 */
const INSTALL_ONLY_DEFAULTS: Readonly<Record<Exclude<PackageManagerName, 'rpm'>, readonly string[]>> = {
  dnf5: ['kernel', 'kernel-PAE', 'installonlypkg(kernel)', 'installonlypkg(kernel-module)', 'installonlypkg(vm)', 'multiversion(kernel)'],
  dnf: ['kernel', 'kernel-PAE', 'installonlypkg(kernel)', 'installonlypkg(kernel-module)', 'installonlypkg(vm)', 'multiversion(kernel)'],
  yum: [
    'kernel', 'kernel-bigmem', 'installonlypkg(kernel)', 'installonlypkg(kernel-module)', 'installonlypkg(vm)', 'kernel-enterprise',
    'kernel-smp', 'kernel-debug', 'kernel-unsupported', 'kernel-source', 'kernel-devel', 'kernel-PAE', 'kernel-PAE-debug',
  ],
};

/**
 * The options that make dnf and yum keep every other kernel's packages. Kernel debuginfo and
 * devel packages are install-only, like the kernel itself: each kernel needs its own, so a
 * second kernel's must be added beside the first's, never replace them. Two things stood in the
 * way (both seen with dnf 4.14 --installroot on the fixture packages, see
 * test/io/package-manager.test.ts):
 *   - dnf keeps only `installonly_limit` (3 in the shipped dnf.conf) versions of each
 *     install-only name and removed the oldest kernel's debuginfo and -common when a fourth
 *     kernel's went in: 0 means no limit (dnf.conf(5), yum.conf(5));
 *   - dnf and yum treat a package as install-only only when it is in `installonlypkgs` by name or
 *     by a provide. The fixture packages, like EL8 and later kernel packages, provide
 *     `installonlypkg(kernel)`; a package that does not (yum's default list names kernel-devel
 *     but no debuginfo package) would be upgraded, erasing the other kernel's. Our packages'
 *     names are added, so that never depends on how a package was built.
 */
export function installOnlyOptions(pm: Exclude<PackageManagerName, 'rpm'>, names: readonly string[]): string[] {
  const list = [...new Set([...INSTALL_ONLY_DEFAULTS[pm], ...names])];
  return [`--setopt=installonlypkgs=${list.join(',')}`, '--setopt=installonly_limit=0'];
}

/** The package names of local RPM files (`rpm -qp`, which reads only the files' headers). */
export async function packageNames(exec: Exec, files: readonly string[]): Promise<string[]> {
  const r = await exec(['rpm', '-qp', '--nosignature', '--nodigest', '--qf', '%{NAME}\\n', ...files]);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^[A-Za-z0-9][A-Za-z0-9+._-]*$/.test(l));
}

/**
 * Install local package files, keeping every other kernel's packages (installOnlyOptions). rpm
 * installs with -i, never -U: -U is an upgrade and erased the other kernel's kernel-debuginfo,
 * -common and -devel (fixtures/bundle/install.sh says the same). dnf/yum first try with every
 * repo disabled (local files whose dependencies are already met need no repo, and a dead
 * end-of-life repo cannot fail that); only if dependencies are missing do they retry with the
 * configured repos, each allowed to be unavailable. Never `--enablerepo=*` (what stap-prep does,
 * src/io/stap-prep.ts).
 */
export async function installFiles(exec: Exec, pm: PackageManagerName, req: InstallRequest): Promise<ExecResult> {
  if (pm === 'rpm') {
    // --oldpackage: without it rpm -i refuses a kernel older than one already installed ("which
    // is newer than ... is already installed"), though the two go side by side.
    const args = ['rpm', '-ivh', '--oldpackage', '--replacepkgs'];
    if (req.root !== '/') args.push('--root', req.root);
    // Signatures were checked by kdebuginfo against the trusted keys before this point.
    args.push('--nosignature', ...req.files);
    return exec(args, { mutates: true });
  }
  const base = [pm, '-y', 'install', ...installOnlyOptions(pm, await packageNames(exec, req.files))];
  if (req.root !== '/') base.push(`--installroot=${req.root}`, `--releasever=${req.releasever}`);
  if (req.noGpgcheck) base.push('--nogpgcheck');
  const offline = await exec([...base, '--disablerepo=*', ...req.files], { mutates: true, allowFailure: true });
  if (offline.exitCode === 0) return offline;
  const online = await exec([...base, '--setopt=*.skip_if_unavailable=True', ...req.files], { mutates: true, allowFailure: true });
  if (online.exitCode === 0) return online;
  const tail = (online.stderr || online.stdout).trim().split('\n').slice(-6).join('\n');
  throw new KdebuginfoError(`${pm} could not install ${req.files.length} package(s) (exit ${online.exitCode}):\n${tail}`);
}
