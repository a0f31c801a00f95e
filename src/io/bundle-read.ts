import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagingOf, type BundleManifest } from './bundle.js';
import { isSafeFileName } from '../core/file-name.js';
import { KdebuginfoError, UsageError } from '../errors.js';

/** What package names and versions may be (Debian policy §5.6.1, §5.6.12; RPM's NEVRA parts): no leading `-`, no blanks. */
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;
const VERSION_PART = /^(?:\d+:)?[A-Za-z0-9][A-Za-z0-9.+~^_:-]*$/;
const RELEASE_PART = /^(?:[A-Za-z0-9][A-Za-z0-9.+~^_]*)?$/;
const ARCH = /^[A-Za-z0-9_]+$/;

export interface OpenedBundle {
  manifest: BundleManifest;
  /** Absolute paths of the package files, in manifest order, checksums verified. */
  files: Array<BundleManifest['packages'][number] & { path: string }>;
  /** Remove the unpacked copy. */
  close(): Promise<void>;
}

/**
 * Unpack a bundle made by `kdebuginfo bundle` into a temp dir and check it: one top directory,
 * a manifest of format 1, package file names that are plain names, every file's sha256 as the
 * manifest says. Nothing from the archive is used as a path before that check.
 */
export async function openBundle(file: string): Promise<OpenedBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'kdebuginfo-bundle-'));
  const close = () => rm(dir, { recursive: true, force: true });
  try {
    const tar = await import('tar');
    try {
      // Only plain files and directories; tar strips absolute paths and `..` itself.
      await tar.x({ file, cwd: dir, strict: true, filter: (_p, entry) => 'type' in entry && (entry.type === 'File' || entry.type === 'Directory') });
    } catch (err) {
      throw new UsageError(`--from-bundle ${file}: not a readable .tar.gz bundle (${(err as Error).message})`);
    }
    const tops = await readdir(dir);
    if (tops.length !== 1 || !tops[0]!.startsWith('kdebuginfo-')) {
      throw new UsageError(`--from-bundle ${file}: expected one kdebuginfo-<release>/ directory inside, found ${tops.join(', ') || 'nothing'}`);
    }
    const top = join(dir, tops[0]!);
    let manifest: BundleManifest;
    try {
      manifest = JSON.parse(await readFile(join(top, 'manifest.json'), 'utf8')) as BundleManifest;
    } catch (err) {
      throw new UsageError(`--from-bundle ${file}: manifest.json is missing or not JSON (${(err as Error).message})`);
    }
    if (manifest.format !== 1 || !manifest.kernel?.uname || !manifest.os?.id || !Array.isArray(manifest.packages)) {
      throw new UsageError(`--from-bundle ${file}: manifest.json is not a kdebuginfo bundle manifest of format 1`);
    }
    if (manifest.packaging !== undefined && manifest.packaging !== 'rpm' && manifest.packaging !== 'deb') {
      throw new UsageError(`--from-bundle ${file}: manifest.json says its packages are ${JSON.stringify(manifest.packaging)}, which this kdebuginfo cannot install`, 'a newer kdebuginfo may know it');
    }
    // apt-get install takes an argument for a file only when it looks like one (`*.deb`).
    const looksInstallable = packagingOf(manifest) === 'deb' ? (f: string) => /\.d?deb$/.test(f) : () => true;
    const files: OpenedBundle['files'] = [];
    for (const p of manifest.packages) {
      if (!isSafeFileName(p.file) || !looksInstallable(p.file) || !/^[0-9a-f]{64}$/.test(p.sha256)) {
        throw new UsageError(`--from-bundle ${file}: manifest.json lists an unsafe file name or checksum (${JSON.stringify(p.file)})`);
      }
      // Names and versions go into dpkg-query, apt-get and rpm argv: a leading `-` would be an option.
      for (const [field, value, re] of [
        ['name', p.name, PACKAGE_NAME],
        ['version', p.version, VERSION_PART],
        ['release', p.release, RELEASE_PART],
        ['arch', p.arch, ARCH],
      ] as const) {
        if (typeof value !== 'string' || !re.test(value)) {
          throw new UsageError(`--from-bundle ${file}: manifest.json package ${field} ${JSON.stringify(value)} is not one a package can have`);
        }
      }
      const path = join(top, p.file);
      const actual = await sha256File(path).catch(() => undefined);
      if (actual !== p.sha256) {
        throw new KdebuginfoError(
          `--from-bundle ${file}: ${p.file} ${actual ? `has sha256 ${actual}, the manifest says ${p.sha256}` : 'is missing'}`,
          { hint: 'the bundle is damaged or was changed: make it again with kdebuginfo bundle' },
        );
      }
      files.push({ ...p, path });
    }
    return { manifest, files, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** --kernel, when given, must be the kernel the bundle was made for: exit 2 otherwise. */
export function checkBundleKernel(kernelArg: string | undefined, manifest: Pick<BundleManifest, 'kernel'>): void {
  const made = manifest.kernel.uname;
  if (kernelArg !== undefined && kernelArg !== made) {
    throw new UsageError(`--kernel ${kernelArg} does not match the bundle, which was made for ${made}`);
  }
}
