import { onPath } from './which.js';
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


export interface InstallRequest {
  files: string[];
  /** '/' for the host, else an image root. */
  root: string;
  /** Distro major, for dnf's $releasever in a root that has no release package yet. */
  releasever: string;
  noGpgcheck: boolean;
}

/**
 * Install local package files. dnf/yum first try with every repo disabled (local files whose
 * dependencies are already met need no repo, and a dead end-of-life repo cannot fail that);
 * only if dependencies are missing do they retry with the configured repos, each allowed to be
 * unavailable. Never `--enablerepo=*` (what stap-prep does, FIELD-NOTES §4).
 */
export async function installFiles(exec: Exec, pm: PackageManagerName, req: InstallRequest): Promise<ExecResult> {
  if (pm === 'rpm') {
    const args = ['rpm', '-Uvh', '--replacepkgs'];
    if (req.root !== '/') args.push('--root', req.root);
    // Signatures were checked by kdebuginfo against the trusted keys before this point.
    args.push('--nosignature', ...req.files);
    return exec(args, { mutates: true });
  }
  const base = [pm, '-y', 'install'];
  if (req.root !== '/') base.push(`--installroot=${req.root}`, `--releasever=${req.releasever}`);
  if (req.noGpgcheck) base.push('--nogpgcheck');
  const offline = await exec([...base, '--disablerepo=*', ...req.files], { mutates: true, allowFailure: true });
  if (offline.exitCode === 0) return offline;
  const online = await exec([...base, '--setopt=*.skip_if_unavailable=True', ...req.files], { mutates: true, allowFailure: true });
  if (online.exitCode === 0) return online;
  const tail = (online.stderr || online.stdout).trim().split('\n').slice(-6).join('\n');
  throw new KdebuginfoError(`${pm} could not install ${req.files.length} package(s) (exit ${online.exitCode}):\n${tail}`);
}
