/**
 * The installed kernel debug and devel packages of a root, with their size on disk, for the
 * lifecycle commands (src/commands/list.ts, remove.ts). RPM: one `rpm -qa` call; Debian/Ubuntu:
 * dpkg's status file, read without a process (so an image root works, as for doctor).
 */
import { lstat, readFile } from 'node:fs/promises';
import type { Exec } from './exec.js';
import { hasRpmDatabase } from './rpm.js';
import { inRoot } from './doctor-facts.js';
import { parseDpkgStatus } from '../core/debian.js';
import { parseDpkgInstalledSizes, type InstalledPackage } from '../core/lifecycle.js';
import { KdebuginfoError } from '../errors.js';

const RPM_FORMAT = '%{NAME}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SIZE}\\t%{INSTALLTID}\\n';

/** Every installed `kernel*` package (the kernel's debuginfo, -common and -devel among them). */
export async function rpmKernelPackages(exec: Exec, root: string): Promise<InstalledPackage[]> {
  if (!(await hasRpmDatabase(exec, root))) return [];
  const r = await exec(['rpm', ...(root === '/' ? [] : ['--root', root]), '-qa', '--qf', RPM_FORMAT, 'kernel*'], { allowFailure: true });
  // rpm -qa with a pattern exits 0 whether or not anything matched; an error is a database it cannot read.
  if (r.exitCode !== 0) {
    const where = root === '/' ? 'this host' : root;
    throw new KdebuginfoError(`cannot read the rpm database of ${where}: rpm -qa exited ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  }
  const out: InstalledPackage[] = [];
  for (const line of r.stdout.split('\n')) {
    const [name, version, release, arch, size, tid] = line.split('\t');
    if (!name || !version || !release || !arch || size === undefined || tid === undefined) continue;
    out.push({ name, version, release, arch, key: `${name}-${version}-${release}.${arch}`, size: Number(size) || 0, installTid: tid });
  }
  return out;
}

/** Every installed package in `<root>/var/lib/dpkg/status`, sized from its Installed-Size. */
export async function debInstalledPackages(root: string): Promise<InstalledPackage[]> {
  const path = inRoot(root, '/var/lib/dpkg/status');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new KdebuginfoError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const sizes = parseDpkgInstalledSizes(text);
  return parseDpkgStatus(text).map((p) => ({ name: p.name, version: p.version, release: '', arch: p.arch, key: p.name, size: sizes.get(p.name) ?? 0, installTid: '' }));
}

/** Entries of a .list file read at most: a kernel package has a few thousand files. */
const MAX_LISTED_FILES = 200_000;

/**
 * The bytes of a package's regular files, from dpkg's own list of them
 * (`var/lib/dpkg/info/<name>[:<arch>].list`): for a package whose control file has no
 * Installed-Size (dpkg-deb does not add one; dpkg-gencontrol does). Links and directories are not counted.
 */
export async function debListedBytes(root: string, name: string, arch: string): Promise<number> {
  let text: string | undefined;
  for (const file of [`${name}:${arch}.list`, `${name}.list`]) {
    text = await readFile(inRoot(root, `/var/lib/dpkg/info/${file}`), 'utf8').catch(() => undefined);
    if (text !== undefined) break;
  }
  let total = 0;
  for (const path of (text ?? '').split('\n').slice(0, MAX_LISTED_FILES)) {
    if (!path.startsWith('/')) continue;
    const st = await lstat(inRoot(root, path)).catch(() => undefined);
    if (st?.isFile()) total += st.size;
  }
  return total;
}
