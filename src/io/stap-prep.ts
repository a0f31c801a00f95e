import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { parseStapPrepOutput, type StapPrepReport } from '../core/stap-prep.js';
import { onPath } from './which.js';

/**
 * Run SystemTap's own `stap-prep` for a kernel release so that it cannot install anything: as
 * root it would run `dnf install -y --enablerepo=\*` (every configured repo, so one dead EOL
 * repo fails the transaction, docs/stap-prep.md) and ignore the result. Run as `nobody` it only
 * reports what is missing. DEBUGINFOD_URLS is dropped so it does not start a 300 s download.
 * `release` undefined: the running kernel (Debian's branch takes no argument). Returns undefined
 * when stap-prep is not installed.
 */
export async function runStapPrep(ctx: Context, release: string | undefined, timeoutMs = 60_000): Promise<StapPrepReport | undefined> {
  if (!(await onPath('stap-prep', ctx.env))) return undefined;
  // Debian's branch refuses a release argument: it knows only the running kernel.
  let argv = release === undefined ? ['stap-prep'] : ['stap-prep', release];
  if (ctx.isRoot) {
    if (await onPath('setpriv', ctx.env)) argv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...argv];
    else if (await onPath('runuser', ctx.env)) argv = ['runuser', '-u', 'nobody', '--', ...argv];
    else return undefined; // no safe way to keep it from installing: do not run it at all
  }
  // A HOME of its own, writable by nobody: Debian's rpm keeps its database under ~/.rpmdb, and
  // a shared one (another run's, or root's) is locked or unreadable, which stap-prep reports as
  // nothing missing at all. On EL the database is /var/lib/rpm and HOME does not matter.
  const home = await mkdtemp(join(tmpdir(), 'kdebuginfo-stap-prep-'));
  let r;
  try {
    if (ctx.isRoot) await chown(home, 65534, 65534).catch(() => chmod(home, 0o777));
    r = await ctx.exec(argv, { allowFailure: true, timeoutMs, env: { DEBUGINFOD_URLS: undefined, HOME: home } });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
  if (r.timedOut) {
    ctx.ui.warn(`stap-prep did not finish within ${timeoutMs / 1000} s; going on without it`);
    return undefined;
  }
  return parseStapPrepOutput(r.stdout, r.stderr, r.exitCode);
}
