import { Option, type Command } from 'commander';
import type { Context } from './context.js';
import { maskUrlCredentials } from './core/credentials.js';

/**
 * The lifecycle commands' flags (`list`, `remove`, `prune`), kept beside src/cli.ts so that file stays
 * under 600 lines; src/cli.ts calls this with its own helpers, and is still the only place that
 * turns a result into an exit code.
 */
export interface LifecycleCliHelpers {
  ctxFor: (cmd: Command) => Context;
  printJson: (value: unknown) => void;
  write: (text: string) => void;
  setJson: (json: boolean) => void;
  rootEnv: string;
  kernelEnv: string;
  cacheDirOption: () => Option;
}

export function addLifecycleCommands(program: Command, h: LifecycleCliHelpers): void {
  program
    .command('list')
    .description('Every kernel installed in the root: whether it is ready, what is installed for it, and the disk it uses.')
    .addOption(new Option('--root <dir>', 'image root to examine').env(h.rootEnv))
    .option('--json', 'print one JSON document on stdout')
    .addHelpText(
      'after',
      `
Ready means the debuginfo, -common (RPM) and devel packages are there at the kernel's own build;
for the running kernel, also the debuginfo vmlinux's build-id equal to the running kernel's.
A package kdebuginfo did not install is marked "(not by kdebuginfo)".

Examples:
  kdebuginfo list
  kdebuginfo list --root /mnt/image --json`,
    )
    .action(async (o: { root?: string; json?: boolean }, cmd: Command) => {
      h.setJson(Boolean(o.json));
      const { runList, formatList } = await import('./commands/list.js');
      const r = await runList(h.ctxFor(cmd), { root: o.root });
      if (o.json) h.printJson(r);
      else h.write(maskUrlCredentials(formatList(r)));
    });

  program
    .command('remove')
    .description('Remove the debuginfo and devel packages kdebuginfo installed for a kernel.')
    .addOption(new Option('--kernel <release>', 'the kernel whose packages go (uname -r form)').env(h.kernelEnv).makeOptionMandatory())
    .addOption(new Option('--root <dir>', 'image root to remove them from').env(h.rootEnv))
    .option('-y, --yes', 'also remove packages of that kernel that kdebuginfo did not install')
    .option('--dry-run', 'report what would be removed; remove nothing')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText(
      'after',
      `
Only packages kdebuginfo's install recorded (in <root>/var/lib/kdebuginfo/installed/) and still
that very installation are removed on their own; others are named and kept, unless a terminal's
question or --yes says to remove them too. A -common package another installed kernel needs is kept.

Examples:
  sudo kdebuginfo remove --kernel 5.14.0-362.el9.x86_64
  kdebuginfo remove --kernel 5.14.0-362.el9.x86_64 --dry-run --json`,
    )
    .action(async (o: { kernel: string; root?: string; yes?: boolean; json?: boolean }, cmd: Command) => {
      h.setJson(Boolean(o.json));
      const { runRemove, formatRemove } = await import('./commands/remove.js');
      const r = await runRemove(h.ctxFor(cmd), { root: o.root, kernel: o.kernel, yes: Boolean(o.yes) });
      if (o.json) h.printJson(r);
      else h.write(maskUrlCredentials(formatRemove(r)));
    });

  program
    .command('prune')
    .description('Remove the debuginfo and devel packages of kernels no longer installed, and empty the download cache.')
    .addOption(new Option('--root <dir>', 'image root to prune').env(h.rootEnv))
    .option('-y, --yes', 'also remove packages of those kernels that kdebuginfo did not install')
    .option('--keep-cache', 'leave the download cache alone')
    .addOption(h.cacheDirOption())
    .option('--no-wait', 'fail at once when another kdebuginfo holds the cache lock')
    .option('--dry-run', 'report what would be removed; remove nothing')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText(
      'after',
      `
A kernel counts as installed while <root>/lib/modules/<R> exists; the running kernel is never
pruned, and its packages stay in the cache. Packages kdebuginfo did not install are kept as
remove keeps them.

Examples:
  sudo kdebuginfo prune --dry-run
  sudo kdebuginfo prune --keep-cache --json`,
    )
    .action(async (o: { root?: string; yes?: boolean; keepCache?: boolean; cacheDir?: string; wait: boolean; json?: boolean }, cmd: Command) => {
      h.setJson(Boolean(o.json));
      const { runPrune, formatPrune } = await import('./commands/prune.js');
      const r = await runPrune(h.ctxFor(cmd), { root: o.root, yes: Boolean(o.yes), keepCache: Boolean(o.keepCache), cacheDir: o.cacheDir, wait: o.wait });
      if (o.json) h.printJson(r);
      else h.write(maskUrlCredentials(formatPrune(r)));
    });
}
