import type { Writable, Readable } from 'node:stream';
import type { Exec } from './io/exec.js';

/** Where user-facing text goes. stdout carries only the result; everything else is stderr. */
export interface Ui {
  /** A progress or informational line on stderr. */
  info(line: string): void;
  warn(line: string): void;
  /** Verbose detail (commands run), shown with --verbose. */
  debug(line: string): void;
}

/** The one object handed to every command. Built in src/cli.ts, swapped in tests. */
export interface Context {
  env: Record<string, string | undefined>;
  cwd: string;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Prompts allowed: stdin and stdout are terminals and neither --yes nor --non-interactive. */
  isInteractive: boolean;
  /** stderr is a terminal with a width: spinners and live lines allowed. */
  isStderrTty: boolean;
  useColor: boolean;
  dryRun: boolean;
  exec: Exec;
  ui: Ui;
  /** Is the process root? (tests pass false/true explicitly) */
  isRoot: boolean;
  /** Aborted on Ctrl-C (SIGINT/SIGTERM): long work stops cleanly and the CLI exits 130. */
  signal: AbortSignal;
}
