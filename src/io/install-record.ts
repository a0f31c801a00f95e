/**
 * What kdebuginfo installed, per kernel: `<root>/var/lib/kdebuginfo/installed/<R>.json`, written
 * by the install flow after a successful install, read by `list` and `remove`, and removed (or
 * shrunk) by `remove`. /var/lib (FHS: state an application keeps between runs) is root's; the
 * record lives in the root the packages went into, so an image carries its own.
 *
 * Each package is recorded with its stamp (src/core/lifecycle.ts): the RPM's INSTALLTID read
 * right after the install, or the .deb's version. A record cannot make kdebuginfo remove what
 * the user installed: a package counts only while it carries the recorded stamp.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Exec } from './exec.js';
import { inRoot } from './doctor-facts.js';
import { hasRpmDatabase } from './rpm.js';
import { parseDpkgStatus } from '../core/debian.js';
import { checkReleaseToken } from '../core/kernel-release.js';
import type { InstallRecord, LifecycleFamily, RecordedPackage } from '../core/lifecycle.js';
import { KdebuginfoError } from '../errors.js';

export const RECORD_DIR = '/var/lib/kdebuginfo/installed';
/** A record holds a few package names: anything bigger was not written by kdebuginfo. */
const MAX_RECORD_BYTES = 64 * 1024;

function recordPath(root: string, kernel: string): string {
  checkReleaseToken(kernel, 'kernel release');
  return inRoot(root, join(RECORD_DIR, `${kernel}.json`));
}

/**
 * The record for kernel R, or undefined when there is none. A record that is not a regular file,
 * too big or not of our shape is an error naming it (never silently "nothing is ours", which
 * would make remove ask about everything, nor "all is ours").
 */
export async function readInstallRecord(root: string, kernel: string): Promise<InstallRecord | undefined> {
  const path = recordPath(root, kernel);
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  });
  if (st === undefined) return undefined;
  const bad = (why: string) => new KdebuginfoError(`install record ${path}: ${why}`, { hint: `remove it (rm ${path}) to treat every package of ${kernel} as not installed by kdebuginfo` });
  if (!st.isFile()) throw bad('not a regular file');
  if (st.size > MAX_RECORD_BYTES) throw bad(`${st.size} bytes, more than a record can be (${MAX_RECORD_BYTES})`);
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw bad('not JSON');
  }
  const r = data as Partial<InstallRecord>;
  const isPackage = (p: unknown): p is RecordedPackage =>
    typeof p === 'object' && p !== null && ['name', 'key', 'stamp'].every((k) => typeof (p as Record<string, unknown>)[k] === 'string');
  if (r.format !== 1 || r.kernel !== kernel || (r.family !== 'rpm' && r.family !== 'deb') || !Array.isArray(r.packages) || !r.packages.every(isPackage)) {
    throw bad(`not a kdebuginfo install record for ${kernel}`);
  }
  return { format: 1, kernel, family: r.family, packages: r.packages.map(({ name, key, stamp }) => ({ name, key, stamp })) };
}

/**
 * Replace the record atomically: a new file made with O_EXCL (never opened through a link) in
 * the record directory, renamed over the old one. No packages left: the record is removed.
 */
export async function saveInstallRecord(root: string, record: InstallRecord): Promise<void> {
  const path = recordPath(root, record.kernel);
  if (record.packages.length === 0) {
    await rm(path, { force: true });
    return;
  }
  await mkdir(inRoot(root, RECORD_DIR), { recursive: true, mode: 0o755 });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o644);
  try {
    try {
      await fh.writeFile(`${JSON.stringify(record, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    // Nothing half-written left behind: the old record stays whole.
    await rm(tmp, { force: true });
    throw err;
  }
}

/** RPM: INSTALLTID of each installed NVRA (absent when not installed). */
export async function rpmInstallTids(exec: Exec, root: string, nvras: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (nvras.length === 0 || !(await hasRpmDatabase(exec, root))) return out;
  const r = await exec(['rpm', ...(root === '/' ? [] : ['--root', root]), '-q', '--qf', '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\t%{INSTALLTID}\\n', ...nvras], { allowFailure: true });
  for (const line of r.stdout.split('\n')) {
    const [nvra, tid] = line.split('\t');
    if (nvra && tid && /^\d+$/.test(tid)) out.set(nvra, tid);
  }
  return out;
}

/**
 * What the install flow calls after a successful install (the packages it installed now, not
 * those already present): records each with its stamp, merged into the kernel's record.
 */
export async function recordInstall(
  exec: Exec,
  o: { root: string; family: LifecycleFamily; kernel: string; packages: ReadonlyArray<{ name: string; key: string }> },
): Promise<void> {
  let stamps: Map<string, string>;
  if (o.family === 'rpm') {
    stamps = await rpmInstallTids(exec, o.root, o.packages.map((p) => p.key));
  } else {
    const text = await readFile(inRoot(o.root, '/var/lib/dpkg/status'), 'utf8');
    stamps = new Map(parseDpkgStatus(text, new Set(o.packages.map((p) => p.key))).map((p) => [p.name, p.version]));
  }
  const fresh = o.packages.flatMap((p) => {
    const stamp = stamps.get(p.key);
    return stamp === undefined ? [] : [{ name: p.name, key: p.key, stamp }];
  });
  const old = (await readInstallRecord(o.root, o.kernel))?.packages ?? [];
  const packages = [...old.filter((p) => !fresh.some((f) => f.key === p.key)), ...fresh];
  await saveInstallRecord(o.root, { format: 1, kernel: o.kernel, family: o.family, packages });
}
