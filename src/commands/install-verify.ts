import type { Context } from '../context.js';
import type { Backend } from '../backends/types.js';
import type { InstallResult } from './install-result.js';
import { UsageError } from '../errors.js';

import { defaultVerifyLevel, type VerifyLevel, type VerifySituation } from '../core/verify-levels.js';

export type { VerifyLevel };

/** Runs the chosen verification; wired by the verify command module (one verify for every family). */
export type Verifier = (ctx: Context, args: { kernel: { uname: string }; level: VerifyLevel; root: string }) => Promise<{ ok: boolean; detail: string }>;

/**
 * The verification an install ends with, decided before anything changes, for every family: a
 * level that cannot run is a usage error now, not a failure after the packages went in. The
 * returned function runs it (null for `none` and under --dry-run).
 */
export function decideVerification(ctx: Context, backend: Backend, wanted: VerifyLevel | undefined, verifier: Verifier | undefined): () => Promise<InstallResult['verify']> {
  const situation: VerifySituation = backend.root !== '/' ? 'image-root' : backend.isRunning ? 'running' : 'installed';
  const level = wanted ?? defaultVerifyLevel('install', situation);
  if (level === 'run' && !backend.isRunning) {
    throw new UsageError(
      backend.root !== '/'
        ? `--verify run loads the probe into the running kernel; it cannot run against the image root ${backend.root}`
        : `--verify run loads the probe into the running kernel, and ${backend.uname} is not running here`,
      `use --verify compile (stap -p4 -r ${backend.uname}) or --verify resolve`,
    );
  }
  if (level !== 'none' && !verifier) throw new UsageError(`--verify ${level} is not available in this build; use --verify none`);
  return async () => {
    if (level === 'none' || ctx.dryRun || !verifier) return null;
    return { level, ...(await verifier(ctx, { kernel: { uname: backend.uname }, level, root: backend.root })) };
  };
}
