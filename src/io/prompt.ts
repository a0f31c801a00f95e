import type { Context } from '../context.js';
import { ExitCode, KdebuginfoError } from '../errors.js';

/**
 * Prompts, bound to the context's streams (questions on stderr: stdout carries only the
 * result). @inquirer/prompts is imported only when a prompt is really shown.
 *
 * Ctrl-C at a prompt never reaches the CLI's SIGINT handler: the prompt holds the terminal in
 * raw mode, so readline sees the key and @inquirer/core rejects with ExitPromptError
 * (node_modules/@inquirer/core/dist/esm/lib/create-prompt.js). Left alone that error is an
 * unknown one: its stack trace and exit 1. A signal that does arrive (SIGTERM, or SIGINT sent
 * with kill) aborts ctx.signal, which the prompt takes as AbortPromptError. Both are the
 * interruption the README promises: one line, exit 130.
 */
export async function promptSelect<T extends string>(
  ctx: Context,
  message: string,
  choices: Array<{ value: T; name: string; description?: string }>,
): Promise<T> {
  const { select } = await import('./inquirer-prompts.js');
  return interruptible(() => select<T>({ message, choices }, { input: ctx.stdin, output: ctx.stderr, clearPromptOnDone: false, signal: ctx.signal }));
}

export async function promptConfirm(ctx: Context, message: string, defaultAnswer = true): Promise<boolean> {
  const { confirm } = await import('./inquirer-prompts.js');
  return interruptible(() => confirm({ message, default: defaultAnswer }, { input: ctx.stdin, output: ctx.stderr, clearPromptOnDone: false, signal: ctx.signal }));
}

/** The names @inquirer/core gives a prompt closed by Ctrl-C, a signal, or an abort. */
const INTERRUPTED_PROMPT = new Set(['ExitPromptError', 'AbortPromptError']);

async function interruptible<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask();
  } catch (err) {
    if (err instanceof Error && INTERRUPTED_PROMPT.has(err.name)) {
      throw new KdebuginfoError('interrupted', { exitCode: ExitCode.interrupted, cause: err });
    }
    throw err;
  }
}
