import { lstat, mkdir, readlink, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import type { Context } from '../context.js';
import { startSpinner } from '../io/spinner.js';
import type { KernelRelease, PackageSpec } from '../core/types.js';
import type { Verifier, VerifyLevel } from './install.js';
import { forkProbeScript, parseForkProbeOutput, workloadScript } from '../core/fork-probe.js';
import { diagnoseStapOutput, type StapDiagnosis, type StapDiagnosisCode } from '../core/stap-messages.js';
import { parseKernelRelease } from '../core/kernel-release.js';
import { packagesFor } from '../core/package-naming.js';
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

export type { VerifyLevel };

export interface VerifyOptions {
  kernel?: string | undefined;
  /** Accepted for symmetry with the other commands; only named in suggested commands. */
  os?: string | undefined;
  /** Image root: stap runs with --sysroot on it (resolve and compile only). */
  root?: string | undefined;
  /** `auto`: run for the running kernel, compile for another one installed here, resolve in an image root. */
  level: VerifyLevel | 'auto';
  /** Whole stap run; defaults per level (DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number | undefined;
}

/** A first compile builds the module from scratch: a minute is common, several on a small VM. */
export const DEFAULT_TIMEOUT_MS: Readonly<Record<Exclude<VerifyLevel, 'none'>, number>> = {
  resolve: 120_000,
  compile: 300_000,
  run: 300_000,
};

/** Which stap pass each level stops after (stap -p). */
const PASS: Readonly<Record<Exclude<VerifyLevel, 'none'>, number>> = { resolve: 2, compile: 4, run: 5 };

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
  /** resolve: the probe points stap resolved (its -p2 listing). */
  resolved: string[];
  /** compile: the module stap built. */
  module: string | null;
  durationMs: number;
}

export type VerifyDiagnosisCode = StapDiagnosisCode | 'stap-missing' | 'probe-saw-nothing' | 'timeout' | 'stap-failed';

export interface VerifyDiagnosis {
  code: VerifyDiagnosisCode;
  summary: string;
  fix: string;
  /** Exact packages (name-version-release.arch) to install or reinstall. */
  packages: string[];
  /** stap's lines that led here. */
  evidence: string[];
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

const nvra = (p: PackageSpec) => `${p.name}-${p.version}-${p.release}.${p.arch}`;

/**
 * Prove the kernel can be probed, as far as the level asks: resolve (pass 2: the DWARF probe
 * points resolve in the debuginfo), compile (pass 4: the module builds against kernel-devel),
 * run (pass 5: the module loads, and the probe sees kdebuginfo's own workload fork and sleep).
 * Failure: KdebuginfoError, exit 5, with the diagnosis (which package, what to do) in `detail`.
 */
export async function runVerify(ctx: Context, opts: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const root = opts.root ?? '/';
  const running = (await readHostFacts('/')).unameRelease;
  const uname = opts.kernel ?? (await defaultKernel(root, running));
  const isRunningKernel = root === '/' && uname === running;
  const home = ctx.env.HOME || homedir();
  const level = opts.level === 'auto' ? defaultVerifyLevelFor(root, uname, running) : opts.level;
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

  let kernel: KernelRelease | undefined;
  try {
    kernel = parseKernelRelease(uname);
  } catch {
    kernel = undefined; // not an RPM kernel: stap can still try; fixes name no packages
  }

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
      const d: VerifyDiagnosis = {
        code: 'stap-missing',
        summary: 'stap is not installed (not on PATH).',
        fix: 'install SystemTap: dnf install systemtap systemtap-runtime (then kdebuginfo doctor)',
        packages: ['systemtap', 'systemtap-runtime'],
        evidence: [],
      };
      throw verifyError(failBase(headline(level, uname, d), [d]), d);
    }

    const files = await writeProbeFiles(scratch.dir, forkProbeScript(), workloadScript());
    let shadow: string | undefined;
    let kernelArgs: string[] = [];
    if (root !== '/') {
      shadow = await makeShadowSysroot(scratch.dir, root, uname, await buildTreeInRoot(root, uname));
      kernelArgs = ['--sysroot', shadow, '-r', uname];
    } else if (!isRunningKernel) {
      kernelArgs = ['-r', uname];
    }
    const pass = PASS[level];
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS[level];
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
      const diagnoses = found.map((d) => explainDiagnosis(d, { kernel, uname, home: stapHome, version, root }));
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

    const resolved = level === 'resolve' ? resolvedProbePoints(run.stdout) : [];
    const module = level === 'compile' ? (run.stdout.trim().split('\n').filter((l) => l.trim().endsWith('.ko')).pop()?.trim() ?? null) : null;
    return {
      ok: true,
      ...base,
      skipped: false,
      message: successMessage(level, uname, probe),
      stap: { version: version.version, argv: shownArgv, home: stapHome },
      probe,
      resolved,
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
  if (ks.length === 1) return ks[0] as string;
  const dir = join(root, 'lib/modules');
  throw new UsageError(ks.length === 0 ? `no kernel in ${dir}` : `several kernels in ${dir} (${ks.sort().join(', ')})`, 'name one with --kernel R');
}

/** The build tree an image root's lib/modules/R/build leads to, inside the root. */
async function buildTreeInRoot(root: string, release: string): Promise<string> {
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
  return join(root, 'usr/src/kernels', release);
}

function headline(level: VerifyLevel, uname: string, d: VerifyDiagnosis): string {
  return `verify (${level}) failed for ${uname}: ${d.summary}`;
}

function verifyError(failure: VerifyFailure, first: VerifyDiagnosis): KdebuginfoError {
  return new KdebuginfoError(failure.message, { exitCode: ExitCode.verifyFailed, hint: first.fix, detail: failure });
}

export interface ExplainContext {
  kernel: KernelRelease | undefined;
  uname: string;
  /** The HOME stap ran with: its .systemtap/cache is the one to clear. */
  home: string;
  version: { version: string; testedKernels?: { min: string; max: string } };
  root: string;
}

/** stap's diagnosis, made specific: the exact packages for this kernel, the cache to clear, the versions involved. */
export function explainDiagnosis(d: StapDiagnosis, c: ExplainContext): VerifyDiagnosis {
  const specs = c.kernel ? packagesFor(c.kernel) : [];
  const byRole = (role: PackageSpec['role']) => specs.filter((s) => s.role === role).map(nvra);
  const install = `kdebuginfo install --kernel ${c.uname}${c.root === '/' ? '' : ` --root ${c.root}`}`;
  const out: VerifyDiagnosis = { code: d.code, summary: d.summary, fix: d.fix, packages: d.packages ?? [], evidence: d.evidence };
  switch (d.code) {
    case 'missing-debuginfo':
    case 'buildid-mismatch': {
      const pkgs = [...byRole('debuginfo'), ...byRole('debuginfo-common')];
      if (pkgs.length > 0) {
        out.packages = pkgs;
        out.fix =
          d.code === 'missing-debuginfo'
            ? `install ${pkgs.join(' and ')}: ${install}`
            : `install ${pkgs.join(' and ')} from the same build as the running kernel (its vmlinux build-id must equal /sys/kernel/notes; kdebuginfo doctor compares them)`;
      }
      break;
    }
    case 'devel-mismatch':
    case 'devel-incomplete': {
      const pkgs = byRole('devel');
      if (pkgs.length > 0) {
        out.packages = pkgs;
        out.fix =
          d.code === 'devel-mismatch'
            ? `install ${pkgs[0]}: ${install}; /lib/modules/${c.uname}/build must point at /usr/src/kernels/${c.uname}`
            : `reinstall ${pkgs[0]} (dnf reinstall ${pkgs[0]}); a tree copied by hand or a partly unpacked package gives this`;
      }
      break;
    }
    case 'runtime-too-old': {
      const tested = c.version.testedKernels;
      const k = c.kernel?.version ?? c.uname;
      out.summary = `${d.summary} SystemTap ${c.version.version} was tested with kernels ${tested ? `${tested.min} ... ${tested.max}` : '(range unknown)'}; this kernel is ${k}.`;
      out.fix = `upgrade systemtap, systemtap-runtime and systemtap-devel from ${c.version.version} to a release that supports Linux ${k}; debuginfo and kernel-devel cannot fix this`;
      out.packages = ['systemtap', 'systemtap-runtime', 'systemtap-devel'];
      break;
    }
    case 'stale-module':
      out.fix = `clear the cache and run verify again: rm -rf ${c.home}/.systemtap/cache`;
      break;
    default:
      break;
  }
  return out;
}

/** `kernel.function("kernel_clone@kernel/fork.c:2692")` lines of stap -p2's probe listing. */
function resolvedProbePoints(stdout: string): string[] {
  const seen = new Set<string>();
  for (const m of stdout.matchAll(/^(kernel\.function\("[^"]*"\)(?:\.\w+)*)/gm)) seen.add(m[1] as string);
  return [...seen];
}

function successMessage(level: VerifyLevel, uname: string, probe: ProbeReport | null): string {
  if (level === 'run' && probe) {
    return `the probe saw ${probe.workloadName} (pid ${probe.workloadPid}) fork ${probe.forks} time(s) through ${probe.forkFunction ?? 'the fork path'} and its children sleep ${probe.nanosleeps} time(s)`;
  }
  if (level === 'compile') return `the probe module compiled against the build tree of ${uname} (stap pass 4)`;
  return `every probe point resolved in the debuginfo of ${uname} (stap pass 2)`;
}

/** For install: run the chosen level and report ok/detail instead of throwing for a failed proof. */
export const verifier: Verifier = async (ctx, args) => {
  try {
    const r = await runVerify(ctx, { kernel: args.kernel.uname, level: args.level, root: args.root });
    return { ok: true, detail: r.message };
  } catch (err) {
    if (err instanceof KdebuginfoError && err.exitCode === ExitCode.verifyFailed) {
      const first = err.message.split('\n')[0] ?? err.message;
      return { ok: false, detail: err.hint ? `${first} Fix: ${err.hint}` : first };
    }
    throw err;
  }
};

/** The level that proves the most for this kernel: run if it is running here, compile if installed, resolve in an image root. */
export function defaultVerifyLevelFor(root: string, kernel: string | undefined, running: string): VerifyLevel {
  if (root !== '/') return 'resolve';
  if (kernel !== undefined && kernel !== running) return 'compile';
  return 'run';
}

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
