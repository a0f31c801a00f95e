import type { Context } from '../context.js';
import { readTarget } from '../backends/target.js';
import type { PlanOptions, PlanResult, TargetOptions } from '../backends/types.js';

export type { PlanOptions, PlanResult, TargetOptions };

/** The pure part of every command: which kernel, which OS, which packages, where to look. */
export async function runPlan(ctx: Context, opts: PlanOptions): Promise<PlanResult> {
  const backend = await readTarget(ctx, opts);
  return backend.plan(opts);
}

export function formatPlan(r: PlanResult): string {
  const lines = [`Kernel   ${r.kernel.uname}  (${r.kernel.flavor} flavour, ${r.kernel.arch})`, `OS       ${r.os.name}`, ''];
  const viaApt = r.os.id === 'debian' || r.os.id === 'ubuntu';
  for (const p of r.packages) {
    lines.push(`${p.role.padEnd(17)} ${p.file || p.name}`);
    if (p.candidates.length === 0) lines.push(viaApt ? '    (apt on the target chooses the source)' : '    (no public location)');
    p.candidates.forEach((c, i) => lines.push(`    ${i + 1}. ${c}`));
  }
  for (const n of r.notes) lines.push('', `Note: ${n}`);
  return lines.join('\n') + '\n';
}
