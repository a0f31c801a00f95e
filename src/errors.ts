/**
 * Exit codes are public interface (README "Exit codes"). Only src/cli.ts turns them into a
 * process exit; everything else throws a KdebuginfoError carrying one.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  needsRoot: 4,
  verifyFailed: 5,
  network: 75,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class KdebuginfoError extends Error {
  readonly exitCode: ExitCode;
  /** What the user can do about it; printed on its own line after the message. */
  readonly hint: string | undefined;
  /** Extra structured detail that --json output carries (e.g. the locations tried). */
  readonly detail: unknown;

  constructor(message: string, opts: { exitCode?: ExitCode; hint?: string; detail?: unknown; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KdebuginfoError';
    this.exitCode = opts.exitCode ?? ExitCode.failed;
    this.hint = opts.hint;
    this.detail = opts.detail;
  }
}

/** Bad input: names the input and what was expected. Exit 2. */
export class UsageError extends KdebuginfoError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, ...(hint === undefined ? {} : { hint }) });
    this.name = 'UsageError';
  }
}
