import type { Context } from '../context.js';
import { readTarget } from '../backends/target.js';
import type { PlanOptions, PlanResult, Resolved } from '../backends/types.js';
import { formatBytes } from '../core/format.js';
import { shownPackage } from '../core/resolver.js';

export interface ResolveResult extends Omit<PlanResult, 'packages'> {
  packages: Array<PlanResult['packages'][number] & Pick<Resolved, 'url' | 'size' | 'checksum' | 'source'>>;
}

/** Plan, then find every package where it can be fetched (exit 3 when one is nowhere). */
export async function runResolve(ctx: Context, opts: PlanOptions & { userAgent: string; idleTimeoutMs?: number | undefined }): Promise<ResolveResult> {
  const backend = await readTarget(ctx, opts);
  const plan = await backend.plan(opts);
  const packages = await backend.resolve(opts);
  return { ...plan, packages: packages.map(resolvedJson) };
}

/** A resolved package as reported: URLs shown with any credentials masked (requests use the real ones). */
export function resolvedJson(resolved: Resolved): ResolveResult['packages'][number] {
  const p = shownPackage(resolved);
  return {
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
  };
}

export function formatResolve(r: ResolveResult): string {
  const lines = [`Kernel   ${r.kernel.uname}  (${r.kernel.flavor} flavour, ${r.kernel.arch})`, `OS       ${r.os.name}`, ''];
  for (const p of r.packages) {
    lines.push(`${p.role.padEnd(17)} ${p.file}  ${p.size === null ? '?' : formatBytes(p.size)}  via ${p.source}${p.checksum ? ` (${p.checksum.type})` : ''}`);
    lines.push(`    ${p.url}`);
  }
  return lines.join('\n') + '\n';
}
