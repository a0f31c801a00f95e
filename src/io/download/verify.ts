import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Exec } from '../exec.js';
import type { Progress } from '../progress.js';
import { nodeHashName } from '../../core/hash-name.js';
import { isOurs } from './part-file.js';
import type { DownloadItem, Job } from './types.js';

/** The hash that decides for this item, or null when rpm's own digests must (no usable checksum). */
export function algorithmOf(item: DownloadItem, progress: Progress): string | null {
  if (!item.checksum) return null;
  const algo = nodeHashName(item.checksum.type);
  if (!algo) {
    progress.note(`${item.file}: unknown checksum type "${item.checksum.type}": verifying with rpm's own digests instead`);
    return null;
  }
  return algo;
}

export function verifiedByOf(job: Job): string {
  return job.algo === null ? 'rpm digests' : job.algo;
}

/** sha256 always (manifests and bundles carry it), plus the repodata algorithm when it differs. */
export function algosFor(job: Job): string[] {
  return job.algo && job.algo !== 'sha256' ? ['sha256', job.algo] : ['sha256'];
}

/**
 * Digests of a whole file (the cache check, before any download starts), read through a
 * descriptor opened without following a link and checked to be a regular file of ours (a link
 * to /dev/zero would never end; see part-file.ts); null when it is not one.
 */
export async function digestFile(path: string, algos: readonly string[]): Promise<{ size: number; digests: Map<string, string> } | null> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (!fh) return null;
  try {
    const st = await fh.stat();
    if (!isOurs(st)) return null;
    const hashes = algos.map((a) => [a, createHash(a)] as const);
    let size = 0;
    for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false }) as AsyncIterable<Buffer>) {
      for (const [, h] of hashes) h.update(chunk);
      size += chunk.length;
    }
    return { size, digests: new Map(hashes.map(([a, h]) => [a, h.digest('hex')])) };
  } finally {
    await fh.close();
  }
}

export type Verdict = { ok: true; sha256: string } | { ok: false; reason: string };

/** Is this file the one we want? `digests` are of its whole content. */
export async function verdictFor(job: Job, path: string, size: number, digests: Map<string, string>, exec: Exec): Promise<Verdict> {
  const { item } = job;
  const sha256 = digests.get('sha256')!;
  if (item.size !== null && size !== item.size) {
    return { ok: false, reason: `size ${size} bytes, expected ${item.size}` };
  }
  if (job.algo && item.checksum) {
    const actual = digests.get(job.algo)!;
    const expected = item.checksum.value.toLowerCase();
    if (actual !== expected) return { ok: false, reason: `${item.checksum.type} mismatch: expected ${expected}, got ${actual}` };
    return { ok: true, sha256 };
  }
  // Found by a listing or a probe: no checksum from the mirror. The RPM carries SHA256 digests
  // of its header and payload; rpmkeys checks them (not the signature: keys are the install's
  // business). Exit 1 and "DIGESTS NOT OK" or "BAD" for a damaged or truncated file.
  const r = await exec(['rpmkeys', '--checksig', '--nosignature', path], { allowFailure: true });
  if (r.exitCode !== 0) {
    const why = (r.stdout + r.stderr).trim().split('\n').slice(-2).join('; ');
    return { ok: false, reason: `rpm digests do not match (rpmkeys: ${why || `exit ${r.exitCode}`}), sha256 ${sha256}` };
  }
  return { ok: true, sha256 };
}
