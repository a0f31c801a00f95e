import { spawn } from 'node:child_process';
import { KdebuginfoError } from '../errors.js';

export interface ExecOptions {
  /** Does this call change the system? Skipped (and only logged) under --dry-run. */
  mutates?: boolean;
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; return the result instead. */
  allowFailure?: boolean;
}

export interface ExecResult {
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the call was skipped because of --dry-run. */
  skipped: boolean;
  timedOut: boolean;
}

export type Exec = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

function tail(text: string, lines = 8): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * The one way this program runs another: an argv array (never a shell string), LC_ALL=C so
 * tool output parses the same everywhere, and a failure that names the command, its exit code
 * and the tail of its stderr.
 */
export function createExec(opts: {
  env: Record<string, string | undefined>;
  dryRun: boolean;
  log?: (line: string) => void;
}): Exec {
  return (argv, o = {}) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new Error('exec: empty argv');
    opts.log?.(`$ ${argv.join(' ')}`);
    if (o.mutates && opts.dryRun) {
      return Promise.resolve({ argv, exitCode: 0, stdout: '', stderr: '', skipped: true, timedOut: false });
    }
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, {
        cwd: o.cwd,
        env: { ...opts.env, ...o.env, LC_ALL: 'C', LANG: 'C' },
        // No stdin unless we send some: a pipe on stdin is a socket to the child, and bash with a
        // socket on stdin and no SHLVL sources ~/.bashrc (Debian's rpm runs `bash -c` on every
        // call: 546 ms instead of 16 ms).
        stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer =
        o.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), 2000).unref();
            }, o.timeoutMs);
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (timer) clearTimeout(timer);
        if (err.code === 'ENOENT') {
          reject(new KdebuginfoError(`${cmd}: command not found`, { cause: err }));
        } else {
          reject(new KdebuginfoError(`${cmd}: ${err.message}`, { cause: err }));
        }
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        const exitCode = code ?? (signal ? 128 : 1);
        const result: ExecResult = { argv, exitCode, stdout, stderr, skipped: false, timedOut };
        if ((exitCode !== 0 || timedOut) && !o.allowFailure) {
          const why = timedOut ? `timed out after ${o.timeoutMs} ms` : `exited with ${exitCode}`;
          const t = tail(stderr || stdout);
          reject(new KdebuginfoError(`${argv.join(' ')} ${why}${t ? `:\n${t}` : ''}`));
          return;
        }
        resolve(result);
      });
      if (o.input !== undefined) child.stdin?.end(o.input);
    });
  };
}
