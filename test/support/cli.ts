import { PassThrough } from 'node:stream';
import { main, type Io } from '../../src/cli.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws if it is not exactly one JSON document). */
  json: () => any;
}

interface CliOptions {
  env?: Record<string, string | undefined>;
  isRoot?: boolean;
  tty?: boolean;
  cwd?: string;
}

/**
 * Start the CLI in-process with captured streams and no terminal, as Ansible or CI would;
 * stderr can be read while it runs (for tests that wait on a progress or "waiting" line).
 */
export function startCli(args: string[], opts: CliOptions = {}): { stderr: () => string; done: Promise<CliRun> } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const io: Io = {
    stdin: new PassThrough(),
    stdout,
    stderr,
    stdinIsTty: Boolean(opts.tty),
    stdoutIsTty: Boolean(opts.tty),
    stderrIsTty: Boolean(opts.tty),
    isRoot: opts.isRoot ?? false,
    cwd: opts.cwd ?? process.cwd(),
  };
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env };
  const done = main(['node', 'kdebuginfo', ...args], env, io).then((code) => ({ code, stdout: out, stderr: err, json: () => JSON.parse(out) }));
  return { stderr: () => err, done };
}

/** Run the CLI in-process to the end; see startCli. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  return startCli(args, opts).done;
}
