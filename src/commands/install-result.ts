import type { VerifyLevel } from '../core/verify-levels.js';
import { ExitCode, KdebuginfoError } from '../errors.js';

export type PackageAction = 'installed' | 'present' | 'would-install';

export interface InstallResult {
  changed: boolean;
  failed: boolean;
  msg: string;
  rc: number;
  kernel: { uname: string; version: string; release: string; arch: string; flavor: string };
  os: { id: string; version: string; name: string };
  packages: Array<{ role: string; name: string; file: string; action: PackageAction; size: number | null }>;
  verify: { level: VerifyLevel; ok: boolean; detail: string } | null;
  warnings: string[];
  /** What to do next, in commands the user can paste (empty when there is nothing to add). */
  next: string[];
  durationMs: number;
}

/**
 * The end of every install story, RPM or apt: a failed verification is exit 5 carrying the
 * whole result, so scripts still see what changed.
 */
export function finishInstall(r: InstallResult): InstallResult {
  if (r.verify && !r.verify.ok) {
    const failed: InstallResult = { ...r, failed: true, rc: ExitCode.verifyFailed, msg: `${r.msg}, but verification failed: ${r.verify.detail}` };
    throw new KdebuginfoError(failed.msg, { exitCode: ExitCode.verifyFailed, detail: failed });
  }
  return r;
}

/**
 * Verify what was just installed. The packages are in: whatever goes wrong after, the report
 * (the error's detail) must say changed: true.
 */
export async function verifyAfterInstall(
  installed: Omit<InstallResult, 'verify' | 'durationMs'>,
  runVerification: () => Promise<InstallResult['verify']>,
  started: number,
): Promise<InstallResult> {
  let verify: InstallResult['verify'];
  try {
    verify = await runVerification();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new KdebuginfoError(`${installed.msg}, but verification could not run: ${message}`, {
      exitCode: err instanceof KdebuginfoError ? err.exitCode : ExitCode.failed,
      detail: { ...installed, verify: null, durationMs: Date.now() - started },
      cause: err,
    });
  }
  return finishInstall({ ...installed, verify, durationMs: Date.now() - started });
}
