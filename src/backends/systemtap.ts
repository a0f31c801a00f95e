import type { Context } from '../context.js';
import type { InstallSettings } from './types.js';
import { onPath } from '../io/which.js';
import { promptConfirm } from '../io/prompt.js';
import { UsageError } from '../errors.js';

/**
 * SystemTap itself, for every family: asked on a terminal, done with --yes; without a terminal
 * and without --yes that is a decision nobody made: exit 2 naming the flags. `install` is the
 * family's way (dnf/yum from the configured repos, or apt).
 */
export async function ensureSystemtap(
  ctx: Context,
  s: Pick<InstallSettings, 'systemtap' | 'yes'>,
  warnings: string[],
  how: { question: string; install: () => Promise<void> },
): Promise<void> {
  if (!s.systemtap || (await onPath('stap', ctx.env))) return;
  if (!s.yes) {
    if (!ctx.isInteractive) {
      throw new UsageError('SystemTap (stap) is not installed: pass --yes to install systemtap too, or --no-systemtap to leave it out');
    }
    if (!(await promptConfirm(ctx, `SystemTap is not installed. ${how.question}`))) {
      warnings.push('SystemTap is not installed: the probe cannot run until it is');
      return;
    }
  }
  await how.install();
}
