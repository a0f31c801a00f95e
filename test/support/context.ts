import { PassThrough } from 'node:stream';
import type { Context } from '../../src/context.js';
import { createExec } from '../../src/io/exec.js';

export interface TestContext {
  ctx: Context;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far (ui.info/warn lines; debug lines with verbose). */
  stderr(): string;
  /** Commands run through ctx.exec, as `$ argv` lines. */
  commands: string[];
}

/**
 * A Context for calling a command in-process, built the way src/cli.ts builds one: the real
 * exec wrapper (real programs, LC_ALL=C), ui lines on stderr, no terminal (as CI or Ansible).
 */
export function makeTestContext(
  opts: { env?: Record<string, string | undefined>; isRoot?: boolean; dryRun?: boolean; verbose?: boolean; signal?: AbortSignal } = {},
): TestContext {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const write = (line: string) => stderr.write(`${line}\n`);
  const commands: string[] = [];
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env };
  const ctx: Context = {
    env,
    cwd: process.cwd(),
    stdin: new PassThrough(),
    stdout,
    stderr,
    isInteractive: false,
    isStderrTty: false,
    useColor: false,
    dryRun: Boolean(opts.dryRun),
    exec: createExec({
      env,
      dryRun: Boolean(opts.dryRun),
      log: (line) => {
        commands.push(line);
        if (opts.verbose) write(line);
      },
    }),
    ui: {
      info: write,
      warn: (l) => write(`warning: ${l}`),
      debug: (l) => {
        if (opts.verbose) write(l);
      },
    },
    isRoot: opts.isRoot ?? false,
    signal: opts.signal ?? new AbortController().signal,
  };
  return { ctx, stdout: () => out, stderr: () => err, commands };
}
