import type { Context } from '../context.js';
import type { MirrorRewrite } from '../core/mirrors.js';
import { parseOsRelease } from '../core/os-release.js';
import { evaluateDoctor, isReady, type DoctorCheck, type DoctorFacts } from '../core/doctor.js';
import { gatherDoctorFacts, readSystemFacts, type SystemFacts } from '../io/doctor-facts.js';
import { readDoctorTarget } from '../backends/doctor-target.js';
import { ExitCode } from '../errors.js';

export interface DoctorOptions {
  kernel?: string | undefined;
  os?: string | undefined;
  /** Image root (or system snapshot) to examine instead of this host; see src/io/doctor-facts.ts. */
  root?: string | undefined;
  /** Skip the mirror checks (no network). */
  offline: boolean;
  rewrites: MirrorRewrite[];
  userAgent?: string;
  /** Group names of the user (tests); read from this process when not given. */
  groups?: string[];
}

export interface DoctorResult {
  /** Nothing failed (warnings allowed). */
  ready: boolean;
  kernel: string | null;
  os: { id: string; version: string; name: string } | null;
  root: string;
  offline: boolean;
  checks: DoctorCheck[];
  counts: Record<DoctorCheck['status'], number>;
  durationMs: number;
}

/**
 * The story: read what decides the target (os-release, running kernel, kernels installed), pick
 * the kernel and its three packages, gather every fact, judge them. Never throws for what it
 * finds: a broken box is a report with `ready: false`.
 */
export async function runDoctor(ctx: Context, opts: DoctorOptions): Promise<DoctorResult> {
  const started = Date.now();
  const root = opts.root ?? '/';
  const system = await readSystemFacts(root);
  const hostOs = hostOsOf(system);
  const { target, targetError, planned } = await readDoctorTarget(ctx, opts, system, hostOs);
  const facts = await gatherDoctorFacts(ctx, {
    root,
    system,
    hostOs,
    target,
    targetError,
    planned,
    offline: opts.offline,
    userAgent: opts.userAgent ?? 'kdebuginfo',
    ...(opts.groups ? { groups: opts.groups } : {}),
  });
  const checks = evaluateDoctor(facts);
  const counts = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  return {
    ready: isReady(checks),
    kernel: target?.kernel.uname ?? null,
    os: target ? { id: target.os.id, version: target.os.version, name: target.os.name } : null,
    root,
    offline: opts.offline,
    checks,
    counts,
    durationMs: Date.now() - started,
  };
}

/** Exit 0 when ready (warnings allowed), 1 when not. */
export function doctorExitCode(r: DoctorResult): ExitCode {
  return r.ready ? ExitCode.ok : ExitCode.failed;
}

function hostOsOf(system: SystemFacts): DoctorFacts['hostOs'] {
  if (!system.osRelease) return undefined;
  try {
    return { ok: true, os: parseOsRelease(system.osRelease.text, system.osRelease.path) };
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
}

const STATUS_LABEL: Record<DoctorCheck['status'], string> = { pass: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** A readable table: one line per check, the fix under each warning and failure, a verdict. */
export function formatDoctor(r: DoctorResult): string {
  const width = Math.max(...r.checks.map((c) => c.title.length));
  const head = r.kernel ? `kdebuginfo doctor: kernel ${r.kernel}${r.os ? ` on ${r.os.name}` : ''}` : 'kdebuginfo doctor';
  const lines = [`${head}${r.root === '/' ? '' : ` (root ${r.root})`}`, ''];
  for (const c of r.checks) {
    lines.push(`  ${STATUS_LABEL[c.status].padEnd(4)}  ${c.title.padEnd(width)}  ${c.detail}`);
    if (c.fix) lines.push(`  ${''.padEnd(4)}  ${''.padEnd(width)}  fix: ${c.fix}`);
  }
  lines.push('');
  const { warn, fail } = r.counts;
  if (r.ready) {
    lines.push(`Ready${warn > 0 ? ` (${warn} warning${warn > 1 ? 's' : ''})` : ''}.`);
  } else {
    const failed = r.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    lines.push(`Not ready: ${fail} check${fail > 1 ? 's' : ''} failed (${failed.join(', ')})${warn > 0 ? `, ${warn} warning${warn > 1 ? 's' : ''}` : ''}.`);
  }
  return lines.join('\n') + '\n';
}
