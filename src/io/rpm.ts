import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Exec } from './exec.js';
import { parseChecksigVerbose, type ChecksigResult } from '../core/checksig.js';
import { KdebuginfoError } from '../errors.js';

const rootArgs = (root: string) => (root === '/' ? [] : ['--root', root]);

/** The files an rpm database directory holds: sqlite (rpm 4.16+), Berkeley DB, ndb. */
const RPMDB_FILES = ['rpmdb.sqlite', 'Packages', 'Packages.db'];

/**
 * Does the database `rpm --root ROOT` would use exist? Querying one that does not creates it:
 * Debian's rpm made `<root>/root/.rpmdb/rpmdb.sqlite` (its %_dbpath is `~/.rpmdb`, HOME
 * expanded) and even `<root>` itself, which broke the promise that --dry-run writes nothing.
 * `rpm --eval` reads only macros. When the answer is unclear, say yes and let rpm query.
 */
export async function hasRpmDatabase(exec: Exec, root: string): Promise<boolean> {
  const r = await exec(['rpm', '--eval', '%{_dbpath}'], { allowFailure: true });
  const dbpath = r.stdout.trim();
  if (r.exitCode !== 0 || !dbpath.startsWith('/')) return true;
  const dir = root === '/' ? dbpath : join(root, dbpath);
  for (const file of RPMDB_FILES) {
    if (await lstat(join(dir, file)).then(() => true, () => false)) return true;
  }
  return false;
}

/**
 * Which of these exact NVRAs are installed in the root? `rpm -q` exits with the number of
 * packages not installed, so a non-zero exit is an answer, not a failure; but every name must get
 * one of its two answers (the NVRA, or "package X is not installed"). A database rpm cannot
 * open prints `error:` lines and answers neither: that is an error that says so, never
 * "nothing installed" (which would reinstall over a broken database).
 * A root without an rpm database has nothing installed, and is not queried (see hasRpmDatabase).
 */
export async function queryInstalled(exec: Exec, root: string, nvras: readonly string[]): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  if (nvras.length === 0) return out;
  if (!(await hasRpmDatabase(exec, root))) {
    for (const nvra of nvras) out.set(nvra, false);
    return out;
  }
  const r = await exec(['rpm', ...rootArgs(root), '-q', ...nvras], { allowFailure: true });
  const lines = new Set(r.stdout.split('\n').map((l) => l.trim()));
  const errors = r.stderr.split('\n').filter((l) => /^error:/.test(l.trim()));
  for (const nvra of nvras) {
    const installed = lines.has(nvra);
    if (!installed && !lines.has(`package ${nvra} is not installed`)) {
      const where = root === '/' ? 'this host' : root;
      throw new KdebuginfoError(`cannot read the rpm database of ${where}: rpm -q exited ${r.exitCode}${errors.length > 0 ? `: ${errors.slice(-2).join(' / ')}` : ' without answering for ' + nvra}`, {
        hint: `check it with rpm${root === '/' ? '' : ` --root ${root}`} -qa; rpm${root === '/' ? '' : ` --root ${root}`} --rebuilddb repairs an index`,
      });
    }
    out.set(nvra, installed);
  }
  return out;
}

/** The key files a root trusts: its distro keys in etc/pki/rpm-gpg/, plus any given. */
export async function trustedKeyFiles(root: string, extra: readonly string[]): Promise<string[]> {
  const dir = join(root, 'etc/pki/rpm-gpg');
  let distro: string[] = [];
  try {
    distro = (await readdir(dir)).filter((f) => f.startsWith('RPM-GPG-KEY')).sort().map((f) => join(dir, f));
  } catch {
    distro = [];
  }
  return [...distro, ...extra];
}

/**
 * Check each package's signature against exactly the given keys, in a throw-away rpm keyring
 * (`--dbpath` in a temp dir), so neither the host's nor the root's keyring is changed.
 */
export async function checkSignatures(exec: Exec, files: readonly string[], keyFiles: readonly string[]): Promise<Map<string, ChecksigResult>> {
  const db = await mkdtemp(join(tmpdir(), 'kdebuginfo-keyring-'));
  try {
    for (const key of keyFiles) {
      const r = await exec(['rpmkeys', '--dbpath', db, '--import', key], { allowFailure: true });
      if (r.exitCode !== 0) throw new KdebuginfoError(`cannot import GPG key ${key}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
    }
    // One rpmkeys call for all files (12 ms instead of ~30 ms a file): its -v output is a
    // `FILE:` line followed by that file's indented result lines.
    const r = await exec(['rpmkeys', '--dbpath', db, '--checksig', '-v', ...files], { allowFailure: true });
    const sections = splitPerFile(r.stdout + r.stderr, files);
    return new Map(files.map((f) => [f, parseChecksigVerbose(sections.get(f) ?? '')]));
  } finally {
    await rm(db, { recursive: true, force: true });
  }
}

function splitPerFile(output: string, files: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  for (const line of output.split('\n')) {
    const head = files.find((f) => line === `${f}:` || line.startsWith(`${f}: `));
    if (head) {
      current = head;
      out.set(head, `${line.slice(head.length + 1)}\n`);
    } else if (current) {
      out.set(current, `${out.get(current)}${line}\n`);
    }
  }
  return out;
}

/** Kernel releases with a modules directory in the root, newest last by mtime-free name order. */
export async function installedKernelReleases(root: string): Promise<string[]> {
  try {
    const entries = await readdir(join(root, 'lib/modules'), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}
