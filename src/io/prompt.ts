import type { Context } from '../context.js';

/**
 * Prompts, bound to the context's streams (questions on stderr: stdout carries only the
 * result). @inquirer/prompts is imported only when a prompt is really shown.
 */
export async function promptSelect<T extends string>(
  ctx: Context,
  message: string,
  choices: Array<{ value: T; name: string; description?: string }>,
): Promise<T> {
  const { select } = await import('./inquirer-prompts.js');
  return select<T>({ message, choices }, { input: ctx.stdin, output: ctx.stderr, clearPromptOnDone: false });
}

export async function promptConfirm(ctx: Context, message: string, defaultAnswer = true): Promise<boolean> {
  const { confirm } = await import('./inquirer-prompts.js');
  return confirm({ message, default: defaultAnswer }, { input: ctx.stdin, output: ctx.stderr, clearPromptOnDone: false });
}
