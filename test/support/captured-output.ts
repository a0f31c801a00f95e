import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** fixtures/captured/: real tool output, written by fixtures/captured/capture.sh. */
export const capturedDir = fileURLToPath(new URL('../../fixtures/captured/', import.meta.url));

export interface CapturedOutput {
  /** File name without .txt, e.g. `rpm-nonroot-el9`. */
  name: string;
  /** Header fields (`# key: value` lines): case, shows, command, environment, captured, systemtap. */
  meta: Record<string, string>;
  exitCode: number;
  stdout: string;
  stderr: string;
}

const STDOUT_MARK = '==== stdout ====\n';
const STDERR_MARK = '==== stderr ====\n';

/** Reads one capture: `# key: value` header lines, then the stdout and stderr sections. */
export function readCaptured(kind: 'stap' | 'stap-prep' | 'apt', name: string): CapturedOutput {
  const text = readFileSync(join(capturedDir, kind, `${name}.txt`), 'utf8');
  const o = text.indexOf(STDOUT_MARK);
  const e = text.indexOf(STDERR_MARK, o);
  if (o === -1 || e === -1) throw new Error(`${kind}/${name}.txt: missing stdout/stderr markers`);
  const meta: Record<string, string> = {};
  for (const line of text.slice(0, o).split('\n')) {
    const m = /^# ([a-z]+): (.*)$/.exec(line);
    if (m) meta[m[1] as string] = m[2] as string;
  }
  const exit = Number(meta.exit);
  if (!Number.isInteger(exit)) throw new Error(`${kind}/${name}.txt: no '# exit:' header`);
  return { name, meta, exitCode: exit, stdout: text.slice(o + STDOUT_MARK.length, e), stderr: text.slice(e + STDERR_MARK.length) };
}

/** Names of every capture of a kind. */
export function listCaptured(kind: 'stap' | 'stap-prep'): string[] {
  return readdirSync(join(capturedDir, kind))
    .filter((f) => f.endsWith('.txt'))
    .map((f) => f.slice(0, -'.txt'.length))
    .sort();
}

/** Is a program on PATH? (Tests that need it skip, naming it, when it is not.) */
export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v "$1" >/dev/null`, 'sh', name]).status === 0;
}
