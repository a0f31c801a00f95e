import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { pipeline as pipelineStreams } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ReadEntry } from 'tar';
import { packagingOf, type BundleManifest } from './bundle.js';
import { measureSpace } from './cache.js';
import { isSafeFileName } from '../core/file-name.js';
import { formatBytes } from '../core/format.js';
import { showUntrusted as shown } from '../core/untrusted-text.js';
import { checkReleaseToken } from '../core/kernel-release.js';
import { KdebuginfoError, UsageError } from '../errors.js';

/** What package names and versions may be (Debian policy §5.6.1, §5.6.12; RPM's NEVRA parts): no leading `-`, no blanks. */
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;
const VERSION_PART = /^(?:\d+:)?[A-Za-z0-9][A-Za-z0-9.+~^_:-]*$/;
const RELEASE_PART = /^(?:[A-Za-z0-9][A-Za-z0-9.+~^_]*)?$/;
const ARCH = /^[A-Za-z0-9_]+$/;
/** An os-release ID or version as the manifest carries it: `centos-stream`, `9`, `24.04`. */
const OS_WORD = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/**
 * The largest manifest.json read. A real one is about 1.5 KiB (three packages) to 5 KiB (a
 * Debian bundle with its dependencies); a 400 MB one took 1.3 GB of memory to parse.
 */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** The largest install.sh accepted: the rendered templates are about 20 KiB. */
export const MAX_INSTALLER_BYTES = 1024 * 1024;
/** Room for tar headers (pax, long names) and the end-of-archive blocks beyond what the members hold. */
const TAR_OVERHEAD = 64 * 1024;

export interface OpenedBundle {
  manifest: BundleManifest;
  /**
   * The package files, in manifest order, each unpacked and its sha256 verified. When opened
   * manifest-only, nothing was unpacked and every `path` is ''.
   */
  files: Array<BundleManifest['packages'][number] & { path: string }>;
  /** False when opened manifest-only. */
  unpacked: boolean;
  /** Remove the unpacked copy. */
  close(): Promise<void>;
}

export interface OpenBundleOptions {
  /**
   * Check everything (the manifest, every member's name, size and sha256) but unpack nothing:
   * for --dry-run, which must write nothing yet still say whether the real run would accept the
   * bundle. A function decides once the manifest is read (a dry run of a .deb bundle still needs
   * its files for apt's simulation; an RPM one does not).
   */
  manifestOnly?: boolean | ((manifest: BundleManifest) => boolean);
}

/**
 * Read a bundle made by `kdebuginfo bundle`, bounded by its manifest: the archive is streamed
 * once, never unpacked blindly. manifest.json must be its first file (after the top directory)
 * and at most 1 MiB; every later member is checked against it by name and size from its tar
 * header, before a byte of its body is read: a member the manifest does not list, or of another
 * size, stops the read with one line naming it (a 14 MB bundle holding a 3 GiB member of zeros
 * was unpacked whole, 3 GB on disk, before anything was checked). Listed packages are written to
 * a temp dir made for this call, hashed as they are written; the archive may not inflate beyond
 * what its manifest lists. On any failure the temp dir is removed.
 */
export async function openBundle(file: string, opts: OpenBundleOptions = {}): Promise<OpenedBundle> {
  const where = `--from-bundle ${shown(file)}`;
  const bad = (what: string, hint?: string) => new UsageError(`${where}: ${what}`, hint);
  const remake = 'make the bundle again with kdebuginfo bundle';

  let tempDir: Promise<string> | undefined;
  const close = async () => {
    if (tempDir) await rm(await tempDir.catch(() => ''), { recursive: true, force: true }).catch(() => {});
  };

  const stop = new AbortController();
  let failure: Error | undefined;
  const fail = (err: unknown) => {
    failure ??= err instanceof Error ? err : new Error(String(err));
    stop.abort();
  };

  let top: string | undefined;
  let manifest: BundleManifest | undefined;
  let manifestOnly = false;
  let budget = MAX_MANIFEST_BYTES + TAR_OVERHEAD;
  const seen = new Set<string>();
  const unpacked = new Map<string, string>();
  const writes: Array<Promise<void>> = [];
  let manifestChecked: Promise<void> = Promise.resolve();

  const unpackTo = (name: string): Promise<string> => {
    tempDir ??= mkdtemp(join(tmpdir(), 'kdebuginfo-bundle-')).then(async (d) => {
      await mkdir(join(d, top as string));
      return d;
    });
    return tempDir.then((d) => join(d, top as string, name));
  };

  /** Synchronous, so that the entry after manifest.json is judged by it (the parser goes on at once). */
  const onManifest = (text: Buffer) => {
    manifest = checkManifest(text, bad, remake);
    manifestOnly = typeof opts.manifestOnly === 'function' ? opts.manifestOnly(manifest) : Boolean(opts.manifestOnly);
    budget += MAX_INSTALLER_BYTES + manifest.packages.reduce((n, p) => n + Math.ceil(p.size / 512) * 512 + 2048, 0) + TAR_OVERHEAD;
    if (manifestOnly) return; // checked as it streams past; nothing is written, so no space is needed
    const total = manifest.packages.reduce((n, p) => n + p.size, 0);
    manifestChecked = measureSpace([{ path: tmpdir(), bytes: total, what: 'unpacked bundle' }])
      .then(([space]) => {
        if (space && space.freeBytes < space.neededBytes) {
          throw new KdebuginfoError(`${where}: unpacking needs ${formatBytes(total)} in ${space.path}, which has ${formatBytes(space.freeBytes)} free`, {
            hint: 'free some space there, or point TMPDIR at a larger filesystem',
          });
        }
      })
      .catch(fail);
  };

  const onEntry = (entry: ReadEntry) => {
    const path = entry.path;
    const parts = path.replace(/\/$/, '').split('/');
    const [dirName, name] = parts;
    if (parts.length > 2 || dirName === undefined || !dirName.startsWith('kdebuginfo-') || !isSafeFileName(dirName) || (name !== undefined && !isSafeFileName(name))) {
      throw bad(`${shown(path)}: expected one kdebuginfo-<release>/ directory holding plain files`, remake);
    }
    if (top !== undefined && dirName !== top) throw bad(`${shown(path)} is outside ${top}/: expected one kdebuginfo-<release>/ directory`, remake);
    top = dirName;
    const isFile = entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile';
    if (name === undefined ? entry.type !== 'Directory' : !isFile) {
      throw bad(`${shown(path)} is a ${entry.type}, not a plain ${name === undefined ? 'directory' : 'file'}`, remake);
    }
    if (name === undefined) {
      entry.resume();
      return;
    }
    if (seen.has(name)) throw bad(`${name} is in the archive twice`, remake);
    seen.add(name);
    if (manifest === undefined) {
      if (name !== 'manifest.json') throw bad(`${name} comes before manifest.json, which kdebuginfo bundle writes first`, remake);
      if (entry.size > MAX_MANIFEST_BYTES) throw bad(`manifest.json is ${formatBytes(entry.size)}; a bundle manifest is at most ${formatBytes(MAX_MANIFEST_BYTES)}`, remake);
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        try {
          onManifest(Buffer.concat(chunks));
        } catch (err) {
          fail(err);
        }
      });
      return;
    }
    if (name === 'install.sh') {
      if (entry.size > MAX_INSTALLER_BYTES) throw bad(`install.sh is ${formatBytes(entry.size)}; kdebuginfo's is about 20 KiB`, remake);
      entry.resume();
      return;
    }
    const p = manifest.packages.find((q) => q.file === name);
    if (p === undefined) throw bad(`${name} is not listed in manifest.json`, remake);
    if (entry.size !== p.size) throw bad(`${name} is ${entry.size} bytes in the archive, manifest.json says ${p.size}`, remake);
    writes.push(unpack(entry, p).catch(fail));
  };

  const unpack = async (entry: ReadEntry, p: BundleManifest['packages'][number]) => {
    const hash = createHash('sha256');
    if (manifestOnly) {
      for await (const chunk of entry as AsyncIterable<Buffer>) hash.update(chunk);
      checkSum(hash.digest('hex'), p);
      return;
    }
    const dest = await unpackTo(p.file);
    // 'wx': the temp dir is this call's own, and nothing in it is opened that this call did not create.
    await pipeline(
      entry,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(dest, { flags: 'wx', mode: 0o644 }),
      { signal: stop.signal },
    );
    checkSum(hash.digest('hex'), p);
    unpacked.set(p.file, dest);
  };
  const checkSum = (actual: string, p: BundleManifest['packages'][number]) => {
    if (actual !== p.sha256) {
      throw new KdebuginfoError(`${where}: ${p.file} has sha256 ${actual}, the manifest says ${p.sha256}`, {
        hint: 'the bundle is damaged or was changed: make it again with kdebuginfo bundle',
      });
    }
  };

  const tar = await import('tar');
  // Strict: a damaged header or a truncated body is an error, not a warning. zstd and brotli off:
  // the gzip layer is ours (below), so what the parser gets must be a plain tar.
  const parser = new tar.Parser({
    strict: true,
    zstd: false,
    brotli: false,
    onReadEntry: (entry: ReadEntry) => {
      if (failure) {
        entry.resume();
        return;
      }
      try {
        onEntry(entry);
      } catch (err) {
        entry.resume();
        fail(err);
      }
    },
  });
  const ended = new Promise<void>((resolve) => {
    parser.on('end', () => resolve());
    parser.on('error', (err: Error) => {
      fail(bad(`not a readable .tar.gz bundle (${err.message.replace(/^TAR_[A-Z_]+: /, '')})`));
      resolve();
    });
  });
  stop.signal.addEventListener('abort', () => parser.abort(new Error('stopped')));

  const inflated = pipelineStreams(createReadStream(file), createGunzip(), () => {});
  let bytes = 0;
  let head: Buffer | undefined = Buffer.alloc(0);
  try {
    for await (const chunk of inflated as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > budget) {
        fail(bad(manifest ? `the archive holds more than manifest.json lists (over ${formatBytes(budget)})` : `no manifest.json in its first ${formatBytes(budget)}`, remake));
        break;
      }
      let data = chunk;
      if (head !== undefined) {
        // The parser would gunzip a gzip stream inside ours again, past this count: refuse one.
        head = Buffer.concat([head, chunk]);
        if (head.length < 2) continue;
        if (head[0] === 0x1f && head[1] === 0x8b) throw new Error('it holds another gzip stream, not a tar archive');
        data = head;
        head = undefined;
      }
      if (!parser.write(data)) await once(parser, 'drain', { signal: stop.signal }).catch(() => {});
      if (failure) break;
    }
    if (!failure) {
      if (head !== undefined && head.length > 0) parser.write(head);
      parser.end();
      await ended;
    }
  } catch (err) {
    if (!failure) fail(bad(`not a readable .tar.gz bundle (${(err as Error).message})`));
  } finally {
    inflated.destroy();
  }
  await manifestChecked;
  await Promise.all(writes);

  try {
    if (failure) throw failure;
    if (manifest === undefined) throw bad(top === undefined ? 'not a readable .tar.gz bundle (no files in it)' : 'manifest.json is missing', remake);
    const files = manifest.packages.map((p) => ({ ...p, path: manifestOnly ? '' : (unpacked.get(p.file) ?? '') }));
    const missing = manifestOnly ? undefined : files.find((f) => f.path === '');
    if (missing) {
      throw new KdebuginfoError(`${where}: ${missing.file} is missing`, { hint: 'the bundle is damaged or was changed: make it again with kdebuginfo bundle' });
    }
    return { manifest, files, unpacked: !manifestOnly, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * manifest.json parsed and checked: format 1, packaging known, a kernel release that is a plain
 * token, every package's file name plain and unique, sha256 hex, size a whole number, name and
 * version fields that could not be read as options by rpm, dpkg or apt. Values are quoted in
 * errors escaped and trimmed (showUntrusted): they come from the archive.
 */
function checkManifest(text: Buffer, bad: (what: string, hint?: string) => UsageError, remake: string): BundleManifest {
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(text.toString('utf8')) as BundleManifest;
  } catch (err) {
    throw bad(`manifest.json is not JSON (${shown((err as Error).message)})`, remake);
  }
  if (manifest === null || typeof manifest !== 'object' || manifest.format !== 1 || typeof manifest.kernel?.uname !== 'string' || !manifest.os?.id || !Array.isArray(manifest.packages)) {
    throw bad('manifest.json is not a kdebuginfo bundle manifest of format 1', remake);
  }
  if (manifest.packaging !== undefined && manifest.packaging !== 'rpm' && manifest.packaging !== 'deb') {
    throw bad(`manifest.json says its packages are "${shown(String(manifest.packaging))}", which this kdebuginfo cannot install`, 'a newer kdebuginfo may know it');
  }
  try {
    checkReleaseToken(manifest.kernel.uname, 'manifest.json kernel.uname');
  } catch (err) {
    throw bad((err as Error).message, remake);
  }
  for (const [field, value] of [['os.id', manifest.os.id], ['os.version', manifest.os.version]] as const) {
    if (typeof value !== 'string' || !OS_WORD.test(value)) throw bad(`manifest.json ${field} "${shown(String(value))}" is not one an OS can have`, remake);
  }
  // apt-get install takes an argument for a file only when it looks like one (`*.deb`).
  const looksInstallable = packagingOf(manifest) === 'deb' ? (f: string) => /\.d?deb$/.test(f) : () => true;
  const files = new Set<string>(['manifest.json', 'install.sh']);
  for (const p of manifest.packages) {
    if (p === null || typeof p !== 'object' || typeof p.file !== 'string' || !isSafeFileName(p.file) || !looksInstallable(p.file) || typeof p.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(p.sha256)) {
      throw bad(`manifest.json lists an unsafe file name or checksum ("${shown(String(p?.file))}")`, remake);
    }
    if (files.has(p.file)) throw bad(`manifest.json lists ${p.file} twice, or as a package`, remake);
    files.add(p.file);
    if (!Number.isSafeInteger(p.size) || p.size < 0) throw bad(`manifest.json gives ${p.file} the size "${shown(String(p.size))}", not a whole number of bytes`, remake);
    // Names and versions go into dpkg-query, apt-get and rpm argv: a leading `-` would be an option.
    for (const [field, value, re] of [
      ['name', p.name, PACKAGE_NAME],
      ['version', p.version, VERSION_PART],
      ['release', p.release, RELEASE_PART],
      ['arch', p.arch, ARCH],
    ] as const) {
      if (typeof value !== 'string' || !re.test(value) || value.length > 255) {
        throw bad(`manifest.json package ${field} "${shown(String(value))}" is not one a package can have`, remake);
      }
    }
  }
  return manifest;
}

/** --kernel, when given, must be the kernel the bundle was made for: exit 2 otherwise. */
export function checkBundleKernel(kernelArg: string | undefined, manifest: Pick<BundleManifest, 'kernel'>): void {
  const made = manifest.kernel.uname;
  if (kernelArg !== undefined && kernelArg !== made) {
    throw new UsageError(`--kernel ${shown(kernelArg)} does not match the bundle, which was made for ${shown(made)}`);
  }
}
