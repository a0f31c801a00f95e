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
  for (const p of r.packages) {
    lines.push(`${p.role.padEnd(17)} ${p.file || p.name}`);
    // The notes below say why (apt on another release, or a distribution with no public mirror).
    if (p.candidates.length === 0) lines.push('    (no location known here: see the notes)');
    p.candidates.forEach((c, i) => lines.push(`    ${i + 1}. ${c}`));
  }
  for (const n of r.notes) lines.push('', `Note: ${n}`);
  return lines.join('\n') + '\n';
}
