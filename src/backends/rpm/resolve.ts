import type { Context } from '../../context.js';
import { resolvePackages, shownPackage, type PlannedPackage, type ResolvedPackage } from '../../core/resolver.js';
import { describeResolveFailure, formatAttempt, formatResolveFailure } from '../../core/resolve-report.js';
import type { KernelRelease, OsInfo } from '../../core/types.js';
import type { MirrorRewrite } from '../../core/mirrors.js';
import { NO_PUBLIC_SOURCE } from '../../core/sources.js';
import { createHttpClient } from '../../io/http.js';
import { createMirrorClient } from '../../io/mirror-client.js';
import { KdebuginfoError, ExitCode } from '../../errors.js';

/** RHEL and other source-less targets cannot be resolved: say what to do instead. */
export function assertResolvable(os: OsInfo, rewrites: readonly MirrorRewrite[]): void {
  const why = NO_PUBLIC_SOURCE[os.id];
  if (why && rewrites.length === 0) throw new KdebuginfoError(why, { exitCode: ExitCode.notFound });
}

/**
 * Find every planned package on the mirrors, or fail: exit 75 when some missing package got no
 * answer from any of its locations (src/core/resolve-report.ts), exit 3 when hosts answered
 * without it; either way naming the hosts, a "did you mean" and a few of the locations tried
 * (every one with --verbose, and in --json). `detail` adds to what --json reports on that failure.
 */
export async function resolveOrThrow(
  ctx: Context,
  planned: readonly PlannedPackage[],
  target: { os: OsInfo; kernel: Pick<KernelRelease, 'uname' | 'version' | 'release'> },
  opts: { rewrites: readonly MirrorRewrite[]; userAgent: string; idleTimeoutMs?: number | undefined },
  detail: object = {},
): Promise<ResolvedPackage[]> {
  assertResolvable(target.os, opts.rewrites);
  // A host that does not answer gets three tries within a second, then is skipped for the rest of
  // the run (src/io/mirror-client.ts): every host down ends in seconds, not a minute.
  const http = await createHttpClient({
    userAgent: opts.userAgent,
    env: ctx.env,
    debug: ctx.ui.debug,
    noAnswerRetryDelayMs: 250,
    ...(opts.idleTimeoutMs ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
  });
  // Ctrl-C reaches every request: resolve stops at once, not when the slowest mirror gives up.
  const resolution = await resolvePackages(planned, createMirrorClient(http, ctx.ui.debug, { signal: ctx.signal }));
  if (resolution.missing.length > 0) {
    const failure = describeResolveFailure(resolution.missing, resolution.attempts, target.kernel);
    for (const a of resolution.attempts) if (a.outcome !== 'found') ctx.ui.debug(`tried ${formatAttempt(a)}`);
    const isNetwork = failure.outcome === 'network';
    throw new KdebuginfoError(formatResolveFailure(failure, resolution.missing, resolution.attempts), {
      exitCode: isNetwork ? ExitCode.network : ExitCode.notFound,
      hint: isNetwork
        ? 'no answer from these hosts: check DNS, the firewall and any proxy (HTTPS_PROXY), or name a mirror this host can reach with --mirror FROM=TO'
        : 'check --kernel and --os, or name a mirror that has these files with --mirror FROM=TO',
      detail: {
        ...detail,
        outcome: failure.outcome,
        answered: failure.answered,
        unreachable: failure.unreachable,
        didYouMean: failure.didYouMean,
        missing: resolution.missing,
        attempts: resolution.attempts,
        found: resolution.packages.map(shownPackage),
      },
    });
  }
  return resolution.packages;
}
