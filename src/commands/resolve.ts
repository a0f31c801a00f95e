import type { Context } from '../context.js';
import { buildPlan, assertResolvable, type PlanOptions, type PlanResult } from './plan.js';
import { resolvePackages, shownPackage, type Attempt, type PlannedPackage, type ResolvedPackage } from '../core/resolver.js';
import type { OsInfo } from '../core/types.js';
import type { MirrorRewrite } from '../core/mirrors.js';
import { createHttpClient } from '../io/http.js';
import { createMirrorClient } from '../io/mirror-client.js';
import { KdebuginfoError, ExitCode } from '../errors.js';
import { formatBytes } from '../core/format.js';
import { debTargetFor, resolveDeb } from './deb-flow.js';

export interface ResolveResult extends Omit<PlanResult, 'packages'> {
  packages: Array<PlanResult['packages'][number] & Pick<ResolvedPackage, 'url' | 'size' | 'checksum' | 'source'>>;
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

export async function runResolve(ctx: Context, opts: PlanOptions & { userAgent: string; idleTimeoutMs?: number | undefined }): Promise<ResolveResult> {
  const deb = await debTargetFor(ctx, opts);
  if (deb) return resolveDeb(ctx, deb, opts);
  const { result: plan, planned, os } = await buildPlan(ctx, opts);
  const packages = await resolveOrThrow(ctx, planned, os, opts);
  return {
    ...plan,
    packages: packages.map(shownPackage).map((p) => ({
      role: p.role,
      name: p.name,
      version: p.version,
      release: p.release,
      arch: p.arch,
      file: p.file,
      candidates: p.candidates,
      url: p.url,
      size: p.size,
      checksum: p.checksum,
      source: p.source,
    })),
  };
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

export function formatResolve(r: ResolveResult): string {
  const lines = [`Kernel   ${r.kernel.uname}  (${r.kernel.flavor} flavour, ${r.kernel.arch})`, `OS       ${r.os.name}`, ''];
  for (const p of r.packages) {
    lines.push(`${p.role.padEnd(17)} ${p.file}  ${p.size === null ? '?' : formatBytes(p.size)}  via ${p.source}${p.checksum ? ` (${p.checksum.type})` : ''}`);
    lines.push(`    ${p.url}`);
  }
  return lines.join('\n') + '\n';
}
