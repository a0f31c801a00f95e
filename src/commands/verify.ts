import { lstat, mkdir, readlink, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import type { Context } from '../context.js';
import { startSpinner } from '../io/spinner.js';
import type { Verifier } from './install.js';
import {
  checkResolvedProbePoints,
  forkProbeScript,
  parseForkProbeOutput,
  parseResolvedProbePoints,
  workloadScript,
  type ResolvedProbePoint,
} from '../core/fork-probe.js';
import { diagnoseStapOutput } from '../core/stap-messages.js';
import { defaultVerifyLevel, verifySituation, VERIFY_LEVELS, type VerifyLevel } from '../core/verify-levels.js';
import {
  debFamilyOfOsFlag,
  explainContextFor,
  explainDiagnosis,
  familyPackagesOf,
  stapMissingDiagnosis,
  unresolvedProbePointsDiagnosis,
  type VerifyDiagnosis,
  type VerifyDiagnosisCode,
} from '../core/verify-explain.js';
import { readHostFacts } from '../io/host.js';
import { installedKernelReleases } from '../io/rpm.js';
import {
  createStapProgress,
  makeScratch,
  makeShadowSysroot,
  readStapVersion,
  runForkProbe,
  runStreaming,
  writeProbeFiles,
  type StreamRun,
} from '../io/stap.js';
import { ExitCode, KdebuginfoError, UsageError } from '../errors.js';
import { checkReleaseToken } from '../core/kernel-release.js';
import { showUntrusted } from '../core/untrusted-text.js';

export type { VerifyLevel, VerifyDiagnosis, VerifyDiagnosisCode };
export { explainContextFor, explainDiagnosis, type ExplainContext } from '../core/verify-explain.js';

export interface VerifyOptions {
  kernel?: string | undefined;
  /** `debian:12` / `ubuntu:24.04` settle which family a release belongs to where its flavour alone does not; otherwise unused. */
  os?: string | undefined;
  /** Image root: stap runs with --sysroot on it (resolve and compile only). */
  root?: string | undefined;
  /** `auto`: src/core/verify-levels.ts's default for `verify` (run for the running kernel, compile for another one installed here, resolve in an image root). */
  level: VerifyLevel | 'auto';
  /** Whole stap run; defaults per level (VERIFY_LEVELS in src/core/verify-levels.ts). */
  timeoutMs?: number | undefined;
}

export interface ProbeReport {
  workloadPid: number;
  workloadName: string;
  forks: number;
  nanosleeps: number;
  /** The fork-path function that resolved on this kernel: kernel_clone, _do_fork or do_fork. */
  forkFunction: string | null;
  /** Every line the probe printed, in order. */
  lines: string[];
}

export interface VerifyResult {
  ok: true;
  level: VerifyLevel;
  kernel: string;
  root: string;
  isRunningKernel: boolean;
  /** Nothing was run: level none, or --dry-run. */
  skipped: boolean;
  /** One line saying what was proven. */
  message: string;
  stap: { version: string | null; argv: string[]; home: string } | null;
  probe: ProbeReport | null;
  /** resolve: the probe points stap resolved with their source files (its -p2 listing). */
  resolved: string[];
  /** compile: the module stap built. */
  module: string | null;
  durationMs: number;
}

/** What a failed verify carries in KdebuginfoError.detail (and --json prints). */
export interface VerifyFailure {
  ok: false;
  level: VerifyLevel;
  kernel: string;
  root: string;
  message: string;
  diagnoses: VerifyDiagnosis[];
  stap: { version: string | null; argv: string[]; home: string; exitCode: number; timedOut: boolean } | null;
  /** The last lines stap printed on stderr, for what no diagnosis explains. */
  stderrTail: string[];
  probe: ProbeReport | null;
  durationMs: number;
}

/**
 * Prove the kernel can be probed, as far as the level asks: resolve (pass 2: the fork-path and
 * nanosleep probe points resolve with their source files, which only DWARF gives), compile
 * (pass 4: the module builds against the kernel's build tree), run (pass 5: the module loads,
 * and the probe sees kdebuginfo's own workload fork and sleep). The same for RPM and
 * Debian/Ubuntu kernels; only the package names in the fixes differ.
 * Failure: KdebuginfoError, exit 5, with the diagnosis (which package, what to do) in `detail`.
 */
export async function runVerify(ctx: Context, opts: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const root = opts.root ?? '/';
  const running = (await readHostFacts('/')).unameRelease;
  const uname = opts.kernel ?? (await defaultKernel(root, running));
  const isRunningKernel = root === '/' && uname === running;
  const home = ctx.env.HOME || homedir();
  const level = opts.level === 'auto' ? defaultVerifyLevel('verify', verifySituation(root, uname, running)) : opts.level;
  const base = { level, kernel: uname, root, isRunningKernel };

  if (level === 'none') {
    return { ok: true, ...base, skipped: true, message: 'verification skipped (level none)', stap: null, probe: null, resolved: [], module: null, durationMs: 0 };
  }
  if (level === 'run' && !isRunningKernel) {
    throw new UsageError(
      root !== '/'
        ? `--level run loads a module into the running kernel; it cannot run against the image root ${root}`
        : `--level run needs kernel ${uname} to be running (running: ${running})`,
      `use --level compile (stap -p4 -r ${uname}) or --level resolve for a kernel that is installed but not running`,
    );
  }

  const debFamily = debFamilyOfOsFlag(opts.os);
  const scratch = await makeScratch();
  try {
    // Under --root the module cache goes to scratch: a module for another system must not land in the user's cache.
    const stapHome = root === '/' ? home : join(scratch.dir, 'home');
    if (root !== '/') await mkdir(stapHome, { recursive: true });
    const version = await readStapVersion(ctx, { HOME: stapHome });
    const failBase = (message: string, diagnoses: VerifyDiagnosis[], extra: Partial<VerifyFailure> = {}): VerifyFailure => ({
      ok: false,
      ...base,
      message,
      diagnoses,
      stap: null,
      stderrTail: [],
      probe: null,
      durationMs: Date.now() - started,
      ...extra,
    });
    if (!version) {
      const d = stapMissingDiagnosis(familyPackagesOf(uname, debFamily));
      throw verifyError(failBase(headline(level, uname, d), [d]), d);
    }
    const explain = explainContextFor({ uname, root, home: stapHome, version, debFamily });

    const files = await writeProbeFiles(scratch.dir, forkProbeScript(), workloadScript());
    let shadow: string | undefined;
    let kernelArgs: string[] = [];
    if (root !== '/') {
      shadow = await makeShadowSysroot(scratch.dir, root, uname, await buildTreeInRoot(root, uname, explain.packages?.buildTree ?? `/usr/src/kernels/${uname}`));
      kernelArgs = ['--sysroot', shadow, '-r', uname];
    } else if (!isRunningKernel) {
      kernelArgs = ['-r', uname];
    }
    const { pass } = VERIFY_LEVELS[level];
    const timeoutMs = opts.timeoutMs ?? VERIFY_LEVELS[level].timeoutMs;
    const stapArgs = ['-v', ...(level === 'run' ? [] : [`-p${pass}`]), ...kernelArgs];
    const shownArgv = ['stap', ...stapArgs, ...(level === 'run' ? ['-x', '<workload pid>'] : []), files.scriptPath];

    if (ctx.dryRun) {
      return {
        ok: true,
        ...base,
        skipped: true,
        message: `would run: ${shownArgv.join(' ')}`,
        stap: { version: version.version, argv: shownArgv, home: stapHome },
        probe: null,
        resolved: [],
        module: null,
        durationMs: Date.now() - started,
      };
    }

    const spinner = await startSpinner(
      ctx,
      level === 'resolve'
        ? `verify: resolving the probe points in the debuginfo of ${uname} (stap pass 2)`
        : `verify: ${level === 'run' ? 'compiling and running' : 'compiling'} the probe module for ${uname} (stap pass ${pass}); the first compile can take a minute, later ones use ${stapHome}/.systemtap/cache`,
    );
    const progress = createStapProgress(spinner);
    const env = { HOME: stapHome };
    let run: StreamRun;
    let probe: ProbeReport | null = null;
    let released = false;
    try {
      if (level === 'run') {
        const r = await runForkProbe(ctx, { stapArgs, scriptPath: files.scriptPath, workloadPath: files.workloadPath, env, timeoutMs, onStderrLine: progress.line });
        run = r.stap;
        released = r.released;
        const parsed = parseForkProbeOutput(run.stdout, r.workloadPid);
        probe = {
          workloadPid: r.workloadPid,
          workloadName: r.workloadName,
          forks: parsed.events.filter((e) => e.kind === 'fork' && e.pid === r.workloadPid && e.execname === r.workloadName).length,
          nanosleeps: parsed.nanosleeps,
          forkFunction: parsed.forkFunction ?? null,
          lines: parsed.lines,
        };
      } else {
        run = await runStreaming(ctx, ['stap', ...stapArgs, files.scriptPath], { env, timeoutMs, onStderrLine: progress.line });
      }
    } finally {
      progress.stop();
      spinner.stop();
    }
    ctx.ui.info(`verify: stap pass ${pass} ${run.timedOut ? 'timed out' : run.exitCode === 0 ? 'finished' : 'failed'} after ${(run.durationMs / 1000).toFixed(1)} s`);

    const unshadow = (s: string) => (shadow ? s.split(shadow).join(root.replace(/\/+$/, '')) : s);
    const stapInfo = { version: version.version, argv: shownArgv, home: stapHome, exitCode: run.exitCode, timedOut: run.timedOut };
    const stderrTail = unshadow(run.stderr).trimEnd().split('\n').filter(Boolean).slice(-8);

    if (run.timedOut) {
      const d: VerifyDiagnosis = {
        code: 'timeout',
        summary: `stap did not finish within ${Math.round(timeoutMs / 1000)} s (it was in pass ${Math.min(progress.lastPass + 1, pass)}).`,
        fix: 'raise the timeout (a first compile on a small VM can take minutes), or run the stap command yourself with -v to watch it',
        packages: [],
        evidence: stderrTail,
      };
      throw verifyError(failBase(headline(level, uname, d), [d], { stap: stapInfo, stderrTail, probe }), d);
    }

    if (run.exitCode !== 0) {
      const found = diagnoseStapOutput(unshadow(run.stderr), { stapVersion: version.version, release: uname });
      const diagnoses = found.map((d) => explainDiagnosis(d, explain));
      if (diagnoses.length === 0) {
        diagnoses.push({
          code: 'stap-failed',
          summary: `stap exited with ${run.exitCode} and no message kdebuginfo recognises; its last lines:\n  ${stderrTail.join('\n  ')}`,
          fix: `run it yourself to see everything: ${shownArgv.join(' ')}`,
          packages: [],
          evidence: stderrTail,
        });
      }
      const first = diagnoses[0] as VerifyDiagnosis;
      const message = [headline(level, uname, first), ...diagnoses.slice(1).map((d) => `also: ${d.summary} Fix: ${d.fix}`)].join('\n');
      throw verifyError(failBase(message, diagnoses, { stap: stapInfo, stderrTail, probe }), first);
    }

    if (level === 'run') {
      const p = probe as ProbeReport;
      if (!released || p.forks === 0 || p.nanosleeps === 0) {
        const d: VerifyDiagnosis = {
          code: 'probe-saw-nothing',
          summary: !released
            ? 'the probe module ran but never printed its ready line, so the workload was not started.'
            : `the probe ran but did not see kdebuginfo's workload ${p.workloadName} (pid ${p.workloadPid}) fork and sleep: ${p.forks} fork(s), ${p.nanosleeps} sleep(s) seen.`,
          fix: 'the probed functions may not be on this kernel\'s fork path, or the debuginfo is from another build: run kdebuginfo doctor (it compares build-ids)',
          packages: [],
          evidence: p.lines,
        };
        throw verifyError(failBase(headline(level, uname, d), [d], { stap: stapInfo, stderrTail, probe }), d);
      }
    }

    let points: ResolvedProbePoint[] = [];
    if (level === 'resolve') {
      points = parseResolvedProbePoints(unshadow(run.stdout));
      const check = checkResolvedProbePoints(points);
      if (check.missing.length > 0) {
        const listing = run.stdout.trimEnd().split('\n').filter((l) => l.startsWith('kernel.')).slice(0, 8);
        const d = unresolvedProbePointsDiagnosis(check, explain, listing);
        throw verifyError(failBase(headline(level, uname, d), [d], { stap: stapInfo, stderrTail, probe }), d);
      }
    }
    const module = level === 'compile' ? (run.stdout.trim().split('\n').filter((l) => l.trim().endsWith('.ko')).pop()?.trim() ?? null) : null;
    return {
      ok: true,
      ...base,
      skipped: false,
      message: successMessage(level, uname, probe, points),
      stap: { version: version.version, argv: shownArgv, home: stapHome },
      probe,
      resolved: points.map((p) => p.text),
      module,
      durationMs: Date.now() - started,
    };
  } finally {
    await scratch.remove();
  }
}

/** The running kernel on the host; in an image root, the one kernel installed there. */
async function defaultKernel(root: string, running: string): Promise<string> {
  if (root === '/') return running;
  const ks = await installedKernelReleases(root);
  const dir = join(root, 'lib/modules');
  if (ks.length === 1) {
    // A directory name in the root reaches stap as `-r NAME`: it must be a plain release too.
    checkReleaseToken(ks[0] as string, `the kernel in ${dir}`);
    return ks[0] as string;
  }
  throw new UsageError(ks.length === 0 ? `no kernel in ${dir}` : `several kernels in ${dir} (${ks.sort().map(showUntrusted).join(', ')})`, 'name one with --kernel R');
}

/** The build tree an image root's lib/modules/R/build leads to, inside the root; else the devel package's place (`fallback`, absolute in the root). */
async function buildTreeInRoot(root: string, release: string, fallback: string): Promise<string> {
  const link = join(root, 'lib/modules', release, 'build');
  try {
    const st = await lstat(link);
    if (st.isSymbolicLink()) {
      const target = await readlink(link);
      const inside = target.startsWith('/') ? join(root, target) : resolvePath(dirname(link), target);
      if ((await stat(inside)).isDirectory()) return inside;
    } else if (st.isDirectory()) {
      return link;
    }
  } catch {
    // fall through: stap then reports the missing tree in its own words
  }
  return join(root, fallback);
}

function headline(level: VerifyLevel, uname: string, d: VerifyDiagnosis): string {
  return `verify (${level}) failed for ${uname}: ${d.summary}`;
}

function verifyError(failure: VerifyFailure, first: VerifyDiagnosis): KdebuginfoError {
  return new KdebuginfoError(failure.message, { exitCode: ExitCode.verifyFailed, hint: first.fix, detail: failure });
}

function successMessage(level: VerifyLevel, uname: string, probe: ProbeReport | null, points: readonly ResolvedProbePoint[]): string {
  if (level === 'run' && probe) {
    return `the probe saw ${probe.workloadName} (pid ${probe.workloadPid}) fork ${probe.forks} time(s) through ${probe.forkFunction ?? 'the fork path'} and its children sleep ${probe.nanosleeps} time(s)`;
  }
  if (level === 'compile') return `the probe module compiled against the build tree of ${uname} (stap pass 4)`;
  const { fork, nanosleep } = checkResolvedProbePoints(points);
  const where = (p: ResolvedProbePoint | undefined) => (p ? `${p.function}@${p.file}${p.line === undefined ? '' : `:${p.line}`}` : '?');
  return `the fork path (${where(fork)}) and nanosleep (${where(nanosleep)}) resolved with their source files in the debuginfo of ${uname} (stap pass 2)`;
}

/**
 * For install (every family): run `opts.level` and report a failed proof as a value, `detail`
 * being the headline and its fix on one line; usage errors (run on a kernel that is not running)
 * and anything else still throw.
 */
export async function verifyOutcome(ctx: Context, opts: VerifyOptions): Promise<{ ok: boolean; detail: string }> {
  try {
    const r = await runVerify(ctx, opts);
    return { ok: true, detail: r.message };
  } catch (err) {
    if (err instanceof KdebuginfoError && err.exitCode === ExitCode.verifyFailed) {
      const first = err.message.split('\n')[0] ?? err.message;
      return { ok: false, detail: err.hint ? `${first} Fix: ${err.hint}` : first };
    }
    throw err;
  }
}

/** verifyOutcome in the shape install's RPM flow takes (src/commands/install.ts, Verifier). */
export const verifier: Verifier = (ctx, args) => verifyOutcome(ctx, { kernel: args.kernel.uname, level: args.level, root: args.root });

export function formatVerify(r: VerifyResult): string {
  if (r.skipped) return `verify (${r.level}): ${r.message}\n`;
  const lines = [`verify (${r.level}): ok for kernel ${r.kernel}`, `${r.message[0]?.toUpperCase() ?? ''}${r.message.slice(1)}.`];
  if (r.probe) {
    lines.push('What the probe printed:', ...r.probe.lines.map((l) => `  ${l}`));
  }
  if (r.resolved.length > 0) lines.push('Resolved:', ...r.resolved.map((p) => `  ${p}`));
  if (r.module) lines.push(`Module: ${r.module}`, `Not loaded: --level run loads it${r.isRunningKernel ? '' : ` once ${r.kernel} is running`}.`);
  lines.push(`took ${(r.durationMs / 1000).toFixed(1)} s`);
  return lines.join('\n') + '\n';
}
