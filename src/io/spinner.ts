import type { Context } from '../context.js';

export interface Spinner {
  /** Show this as the current state: the spinner's text on a terminal, a plain line otherwise. */
  info(line: string): void;
  stop(): void;
}

/**
 * A spinner (ora) for long waits, only when stderr is a terminal with a width; elsewhere (logs,
 * CI, Ansible) every update is a plain line. ora is imported only when it will spin.
 */
export async function startSpinner(ctx: Context, text: string): Promise<Spinner> {
  if (!ctx.isStderrTty) {
    ctx.ui.info(text);
    return { info: (l) => ctx.ui.info(l), stop: () => {} };
  }
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: ctx.stderr as NodeJS.WriteStream, color: ctx.useColor ? 'cyan' : false, isEnabled: true }).start();
  return {
    info: (l) => {
      spinner.text = l;
    },
    stop: () => {
      spinner.stop();
    },
  };
}
