/**
 * Running `stap` and the fork-probe workload. ctx.exec runs a program to completion; verify
 * needs more: stap's stderr as it comes (progress through a first compile that can take a
 * minute), stap's stdout as it comes (the probe's `KDEBUGINFO ready` line is the moment to let
 * the workload fork), and a second process alive beside it. So this module has its own small
 * spawn wrapper, with the same rules as src/io/exec.ts: argv arrays, LC_ALL=C, the command
 * logged, a timeout that ends in SIGTERM then SIGKILL, and Ctrl-C (ctx.signal) stopping it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Context, Ui } from '../context.js';
import { FORK_PROBE_TAG } from '../core/fork-probe.js';
import { parseStapVersion } from '../core/stap-messages.js';
import { KdebuginfoError } from '../errors.js';

export interface StreamRun {
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** stap asks its children (staprun, stapio) to unload the module on SIGTERM; give it time before SIGKILL. */
const KILL_GRACE_MS = 5_000;

function childEnv(env: Record<string, string | undefined>, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...env, ...extra, LC_ALL: 'C', LANG: 'C' };
}

function splitLines(onLine: ((line: string) => void) | undefined): { push(chunk: string): void; flush(): void } {
  let partial = '';
  return {
    push(chunk) {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) !== -1) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        onLine?.(line);
      }
    },
    flush() {
      if (partial !== '') onLine?.(partial);
      partial = '';
    },
  };
}

/** Resolves once the process exists (or rejects with the spawn error: ENOENT, EACCES). */
function spawned(child: ChildProcess): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', reject);
  });
}

/**
 * Run a program, handing each line of stdout and stderr to the callbacks as it arrives, and
 * collecting both. Never throws for a non-zero exit: the caller diagnoses.
 */
export async function runStreaming(
  ctx: Pick<Context, 'env' | 'ui' | 'signal'>,
  argv: string[],
  o: {
    env?: Record<string, string | undefined>;
    timeoutMs: number;
    onStdoutLine?: (line: string) => void;
    onStderrLine?: (line: string) => void;
  },
): Promise<StreamRun> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('runStreaming: empty argv');
  ctx.ui.debug(`$ ${argv.join(' ')}`);
  const started = Date.now();
  let child: ChildProcess;
  try {
    child = await spawned(spawn(cmd, args, { env: childEnv(ctx.env, o.env), stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KdebuginfoError(code === 'ENOENT' ? `${cmd}: command not found` : `${cmd}: ${(err as Error).message}`, { cause: err });
  }
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const out = splitLines(o.onStdoutLine);
  const err = splitLines(o.onStderrLine);
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    out.push(d);
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    err.push(d);
  });
  const stop = () => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, o.timeoutMs);
  const onAbort = () => stop();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const exitCode = await new Promise<number>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  clearTimeout(timer);
  ctx.signal.removeEventListener('abort', onAbort);
  out.flush();
  err.flush();
  if (ctx.signal.aborted) throw ctx.signal.reason;
  return { argv, exitCode, stdout, stderr, timedOut, durationMs: Date.now() - started };
}

/** `stap -V`, parsed; undefined when stap is not installed (or prints no version). */
export async function readStapVersion(ctx: Pick<Context, 'exec'>, env: Record<string, string | undefined> = {}): Promise<ReturnType<typeof parseStapVersion>> {
  try {
    // Even -V creates ~/.systemtap: the caller picks which HOME.
    const r = await ctx.exec(['stap', '-V'], { allowFailure: true, timeoutMs: 30_000, env });
    // 4.8 prints the version on stdout, older releases on stderr.
    return parseStapVersion(`${r.stdout}\n${r.stderr}`);
  } catch {
    return undefined;
  }
}

/**
 * Progress for the user while stap works: its `-v` "Pass N: ..." lines, shortened (no memory
 * figures), and a line every `heartbeatMs` while nothing new arrives, naming the pass it is in.
 * Plain lines on stderr: fine on a terminal and in a log.
 */
export function createStapProgress(ui: Pick<Ui, 'info'>, opts: { heartbeatMs?: number; now?: () => number } = {}) {
  const now = opts.now ?? Date.now;
  const started = now();
  let pass = 0;
  let last = started;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const timer = setInterval(() => {
    if (now() - last >= heartbeatMs) {
      ui.info(`stap: still working on pass ${pass + 1} (${Math.round((now() - started) / 1000)} s)`);
      last = now();
    }
  }, Math.max(10, Math.min(heartbeatMs, 1000)));
  timer.unref();
  return {
    line(line: string) {
      const m = /^Pass (\d): (.*)$/.exec(line);
      if (!m) return;
      pass = Math.max(pass, Number(m[1]));
      ui.info(`stap: ${shortenPassLine(line)}`);
      last = now();
    },
    /** The pass stap reported last (0 before the first). */
    get lastPass() {
      return pass;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/**
 * `Pass 1: parsed user script and 484 library scripts using 102264virt/.../84512data kb, in
 * 250usr/70sys/502real ms.` -> `Pass 1: parsed user script and 484 library scripts (502 ms)`.
 * (stap 4.8 -v, captured in this project's tests.)
 */
export function shortenPassLine(line: string): string {
  const real = /(\d+)real ms/.exec(line)?.[1];
  const text = line
    .replace(/ using \d+virt\/.*$/, '')
    .replace(/,? in \d+usr\/\d+sys\/\d+real ms\.?$/, '')
    .replace(/\s+\[man [^\]]*\]/, '')
    .replace(/\.$/, '');
  return real === undefined ? text : `${text} (${real} ms)`;
}

export interface Scratch {
  dir: string;
  remove(): Promise<void>;
}

export async function makeScratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'kdebuginfo-verify-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * The workload's file name is its comm (`execname()` in the probe): an executable script gets
 * the script's name, 15 characters at most (TASK_COMM_LEN), so the probe's events can be told
 * apart from every `sh` on the box.
 */
export const WORKLOAD_NAME = 'kdebuginfo-work';

export async function writeProbeFiles(dir: string, script: string, workload: string): Promise<{ scriptPath: string; workloadPath: string }> {
  const scriptPath = join(dir, 'kdebuginfo-fork-probe.stp');
  const workloadPath = join(dir, WORKLOAD_NAME);
  await writeFile(scriptPath, script);
  await writeFile(workloadPath, workload);
  await chmod(workloadPath, 0o755);
  return { scriptPath, workloadPath };
}

/**
 * A sysroot for `stap --sysroot` that sees an image root's files with its build link fixed.
 *
 * stap --sysroot DIR -r R looks for the build tree at DIR/lib/modules/R/build and for debuginfo
 * under DIR/usr/lib/debug. The kernel package's build link is absolute
 * (`/usr/src/kernels/R`), and the OS follows it on this host, not in the root (seen with stap
 * 4.8: `Checking "<root>/lib/modules/R/build/.config" failed`). Passing the tree with `-r DIR`
 * instead loses the debuginfo: stap then looks for vmlinux only inside DIR. So: a scratch
 * directory whose entries link to the root's, except lib/modules/R/build, which links to the
 * tree inside the root.
 */
export async function makeShadowSysroot(scratchDir: string, root: string, release: string, buildTree: string): Promise<string> {
  const shadow = join(scratchDir, 'sysroot');
  await mkdir(join(shadow, 'lib', 'modules', release), { recursive: true });
  const linkAll = async (fromDir: string, toDir: string, except: string) => {
    let names: string[] = [];
    try {
      names = await readdir(fromDir);
    } catch {
      return;
    }
    for (const n of names) if (n !== except) await symlink(join(fromDir, n), join(toDir, n));
  };
  await linkAll(root, shadow, 'lib');
  await linkAll(join(root, 'lib'), join(shadow, 'lib'), 'modules');
  await linkAll(join(root, 'lib', 'modules'), join(shadow, 'lib', 'modules'), release);
  await linkAll(join(root, 'lib', 'modules', release), join(shadow, 'lib', 'modules', release), 'build');
  await symlink(buildTree, join(shadow, 'lib', 'modules', release, 'build'));
  return shadow;
}

export interface ForkProbeRun {
  stap: StreamRun;
  workloadPid: number;
  workloadName: string;
  /** The probe printed its `ready` line and the workload was let go. */
  released: boolean;
}

/** Start the workload: directly (comm = its file name), or through sh where the scratch dir is noexec. */
async function startWorkload(path: string, env: Record<string, string | undefined>): Promise<{ child: ChildProcess; name: string }> {
  const opts = { env: childEnv(env), stdio: ['pipe', 'ignore', 'ignore'] as ['pipe', 'ignore', 'ignore'] };
  try {
    return { child: await spawned(spawn(path, [], opts)), name: basename(path) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    return { child: await spawned(spawn('sh', [path], opts)), name: 'sh' };
  }
}

/**
 * The run level: start the workload (it waits for a line on stdin), run
 * `stap -x <pid> script` (pass 5), and when the probe prints `KDEBUGINFO ready` its probes are
 * armed: write the line, so the three forks and sleeps happen under the probe. The script ends
 * itself after the events or at its timer; the workload is killed if it is still there.
 */
export async function runForkProbe(
  ctx: Pick<Context, 'env' | 'ui' | 'signal'>,
  o: {
    stapArgs: string[];
    scriptPath: string;
    workloadPath: string;
    env: Record<string, string | undefined>;
    timeoutMs: number;
    onStderrLine?: (line: string) => void;
  },
): Promise<ForkProbeRun> {
  const workload = await startWorkload(o.workloadPath, { ...ctx.env, ...o.env });
  const pid = workload.child.pid as number;
  workload.child.stdin?.on('error', () => {}); // EPIPE when it is gone already
  const exited = new Promise<void>((resolve) => workload.child.once('close', () => resolve()));
  let released = false;
  try {
    const stap = await runStreaming(ctx, ['stap', ...o.stapArgs, '-x', String(pid), o.scriptPath], {
      env: o.env,
      timeoutMs: o.timeoutMs,
      onStdoutLine: (line) => {
        if (!released && line.startsWith(`${FORK_PROBE_TAG} ready`)) {
          released = true;
          workload.child.stdin?.end('go\n');
        }
      },
      ...(o.onStderrLine ? { onStderrLine: o.onStderrLine } : {}),
    });
    return { stap, workloadPid: pid, workloadName: workload.name, released };
  } finally {
    if (workload.child.exitCode === null && workload.child.signalCode === null) workload.child.kill('SIGKILL');
    await exited;
  }
}
