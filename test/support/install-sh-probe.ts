/**
 * The probe section of a bundle's install.sh, taken out of a real rendered script and run on its
 * own: installing packages first would need root and an RPM or apt host, and the section needs
 * neither. It runs with the STAND-IN stap (test/support/bin-standin-stap/, NOT SystemTap: no
 * module can be loaded here) first on PATH, which logs how it was called and the script it got.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STANDIN_STAP_DIR = fileURLToPath(new URL('./bin-standin-stap', import.meta.url));

/** The text between `<<'TERMINATOR'` and the terminator line, with its last newline: what `cat` writes. */
export function hereDocument(script: string, terminator: string): string {
  const open = `<<'${terminator}'\n`;
  const start = script.indexOf(open);
  const end = script.indexOf(`\n${terminator}\n`, start);
  if (start === -1 || end === -1) throw new Error(`install.sh has no here-document ending in ${terminator}`);
  return `${script.slice(start + open.length, end)}\n`;
}

/** From the `# N. Prove it` comment to the end. */
export function probeSection(script: string): string {
  const m = /^# \d+\. Prove it.*$/m.exec(script);
  if (m === null) throw new Error('install.sh has no "# N. Prove it" section');
  return script.slice(m.index);
}

function functionDefinition(script: string, name: string): string {
  const m = new RegExp(`^${name}\\(\\) \\{(?:.*\\}$|\\n(?:.*\\n)*?\\}$)`, 'm').exec(script);
  if (m === null) throw new Error(`install.sh defines no ${name}()`);
  return m[0];
}

export interface ProbeSectionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every stap call but `-V`: its argv and the text of the script file it was given. */
  calls: Array<{ argv: string[]; script?: string }>;
  /** What the section left in its TMPDIR (it should remove its own directory). */
  leftInTmp: string[];
}

/**
 * Run the probe section with the script's own say() and die(), for `kernel` (default: the running
 * one, so the run path is taken), as root or not (`id -u` answered by a shell function: the
 * stand-in loads nothing, so root is not needed to take the root branch).
 */
export function runProbeSection(script: string, o: { mode: string; work: string; kernel?: string; asRoot?: boolean }): ProbeSectionRun {
  const dir = mkdtempSync(join(o.work, 'probe-section-'));
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const log = join(dir, 'stap-calls.jsonl');
  const prelude = [
    'set -u',
    functionDefinition(script, 'say'),
    functionDefinition(script, 'die'),
    `KERNEL='${o.kernel ?? release()}'`,
    "PROBE=1",
    "ROOT=''",
    `id() { if [ "$1" = -u ]; then echo ${o.asRoot === false ? 1000 : 0}; else command id "$@"; fi; }`,
  ].join('\n');
  const file = join(dir, 'probe-section.sh');
  writeFileSync(file, `${prelude}\n${probeSection(script)}`);
  const r = spawnSync('sh', [file], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: `${STANDIN_STAP_DIR}${delimiter}${process.env.PATH}`,
      HOME: dir,
      TMPDIR: tmp,
      LC_ALL: 'C',
      KDEBUGINFO_STANDIN_STAP: o.mode,
      KDEBUGINFO_STANDIN_STAP_LOG: log,
    },
  });
  const calls = existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { argv: string[]; script?: string })
        .filter((c) => !c.argv.includes('-V'))
    : [];
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls, leftInTmp: readdirSync(tmp) };
}
