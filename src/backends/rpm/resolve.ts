import type { Context } from '../../context.js';
import { resolvePackages, shownPackage, type Attempt, type PlannedPackage, type ResolvedPackage } from '../../core/resolver.js';
import type { OsInfo } from '../../core/types.js';
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
 * Find every planned package on the mirrors, or fail with exit 3 listing every location tried
 * and the nearest versions there. `detail` adds to what --json reports on that failure.
 */
export async function resolveOrThrow(
  ctx: Context,
  planned: readonly PlannedPackage[],
  os: OsInfo,
  opts: { rewrites: readonly MirrorRewrite[]; userAgent: string; idleTimeoutMs?: number | undefined },
  detail: object = {},
): Promise<ResolvedPackage[]> {
  assertResolvable(os, opts.rewrites);
  const http = await createHttpClient({ userAgent: opts.userAgent, env: ctx.env, debug: ctx.ui.debug, ...(opts.idleTimeoutMs ? { idleTimeoutMs: opts.idleTimeoutMs } : {}) });
  // Ctrl-C reaches every request: resolve stops at once, not when the slowest mirror gives up.
  const resolution = await resolvePackages(planned, createMirrorClient(http, ctx.ui.debug, { signal: ctx.signal }));
  if (resolution.missing.length > 0) {
    throw new KdebuginfoError(formatNotFound(resolution.missing.map((m) => m.file), resolution.attempts), {
      exitCode: ExitCode.notFound,
      hint: 'check --kernel and --os, or name a mirror that has these files with --mirror FROM=TO',
      detail: { ...detail, missing: resolution.missing, attempts: resolution.attempts, found: resolution.packages.map(shownPackage) },
    });
  }
  return resolution.packages;
}

export function formatNotFound(files: readonly string[], attempts: readonly Attempt[]): string {
  const lines = [`not found on any mirror: ${files.join(', ')}`, 'Tried:'];
  for (const a of attempts) {
    if (a.outcome === 'found') continue;
    let line = `  ${a.package}: ${a.method} ${a.location}: ${a.outcome}${a.reason ? ` (${a.reason})` : ''}`;
    if (a.nearest && a.nearest.length > 0) line += `; nearest there: ${a.nearest.join(', ')}`;
    lines.push(line);
  }
  return lines.join('\n');
}
