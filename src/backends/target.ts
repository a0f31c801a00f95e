import type { Context } from '../context.js';
import type { Backend, TargetOptions } from './types.js';
import { debTargetFor } from './deb/target.js';
import { debBackend } from './deb/index.js';
import { readRpmTarget } from './rpm/target.js';
import { rpmBackend } from './rpm/index.js';
import { readHostFacts } from '../io/host.js';

/**
 * The one place the packaging family is chosen: facts are read once and give one target (kernel,
 * OS, family) bound to its backend. A Debian/Ubuntu release, or a Debian/Ubuntu host whose
 * kernel is not an RPM release, is `deb` (debTargetFor decides, and may infer the release from
 * the kernel); everything else is `rpm`, with the OS from the flags, the host or the dist tag.
 * `announce: false` leaves the notes unprinted (doctor reports them itself).
 */
export async function readTarget(ctx: Context, opts: TargetOptions, how: { announce?: boolean } = {}): Promise<Backend> {
  const deb = await debTargetFor(ctx, opts, how);
  if (deb) return debBackend(ctx, deb);
  const root = opts.root ?? '/';
  const facts = await readHostFacts(root);
  const target = await readRpmTarget(opts, facts);
  if (how.announce !== false) for (const n of target.notes) ctx.ui.info(n);
  return rpmBackend(ctx, target, { root, isRunning: root === '/' && facts.unameRelease === target.kernel.uname });
}
