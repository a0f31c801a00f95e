import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { formatBytes } from '../../src/core/format.js';
import { FIXTURE_MIRROR_ROOT, startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';
import { ensureBuiltCli, installedPackages, makeScratchRoot, nvrasFor, type ScratchRoot } from '../support/scratch-root.js';

// The interactive path through a real pseudo-terminal: util-linux `script` gives the CLI a pty
// for stdin, stdout and stderr, and this test types into it (arrow keys, Enter, "y") only once
// the prompt's text has appeared. The same command without a terminal must not prompt.

const K362 = '5.14.0-362.el9.x86_64';
const K998 = '5.14.0-998.el9.x86_64'; // newest, so listed first: choosing 362 takes an arrow key

let mirror: FixtureMirror;
let cli: string;
const scratches: ScratchRoot[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  [mirror, cli] = await Promise.all([startFixtureMirror(), ensureBuiltCli()]);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await mirror?.close();
  for (const s of scratches) await s.remove();
});
beforeEach(() => {
  mirror.server.resetLog();
});

async function twoKernelRoot(): Promise<ScratchRoot> {
  const s = await makeScratchRoot({ kernels: [K362, K998] });
  scratches.push(s);
  return s;
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
/** The prompts wrap long lines at the terminal's width (80 here): compare with runs of white space as one. */
const flat = (s: string) => s.replace(/\s+/g, ' ');
// What the confirmation says: the three 5.14.0-362 fixture packages' sizes, added up.
const DOWNLOAD_362 = formatBytes(
  [
    'BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-5.14.0-362.el9.x86_64.rpm',
    'BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-common-x86_64-5.14.0-362.el9.x86_64.rpm',
    'AppStream/x86_64/os/Packages/kernel-devel-5.14.0-362.el9.x86_64.rpm',
  ]
    .map((p) => statSync(join(FIXTURE_MIRROR_ROOT, 'mirror.stream.centos.org/9-stream', p)).size)
    .reduce((a, b) => a + b, 0),
);
const cliEnv = () => ({ PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm', KDEBUGINFO_MIRROR: mirror.mirrorEnv });

interface Session {
  child: ChildProcess;
  /** Everything the terminal showed so far, colours and cursor moves removed. */
  screen: () => string;
  /** Wait until the terminal shows this text (white space compared loosely, see flat()). */
  waitFor: (text: string) => Promise<void>;
  type: (keys: string) => void;
  exit: Promise<number | null>;
}

/**
 * `kdebuginfo ARGS` on a pseudo-terminal (`script -qfec CMD /dev/null`, -e: its exit code).
 * script's pty has no size (0 columns: progress then prints plain lines) unless `columns` is
 * given; `exec` so that Ctrl-C's SIGINT reaches the CLI, not a shell waiting for it.
 */
function onTerminal(args: string[], columns?: number): Session {
  // script -c takes one shell command line; every argument here is a plain path or word.
  const quoted = [process.execPath, cli, ...args].map((a) => `'${a}'`).join(' ');
  const line = columns === undefined ? quoted : `stty cols ${columns} rows 24; exec ${quoted}`;
  const child = spawn('script', ['-qfec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: cliEnv() });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const screen = () => stripAnsi(out);
  const waitFor = async (text: string) => {
    const deadline = Date.now() + 30_000;
    while (!flat(screen()).includes(flat(text))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`"${text}" never appeared; the terminal showed:\n${screen()}`);
      await sleep(25);
    }
  };
  return { child, screen, waitFor, type: (keys) => child.stdin!.write(keys), exit };
}

const ARROW_DOWN = '\x1b[B';
const ENTER = '\r';
/** What the terminal sends for Ctrl-C; in raw mode (a prompt is up) it reaches the CLI as a key. */
const CTRL_C = '\x03';

describe('install on a terminal', () => {
  it('asks which kernel (arrow keys, Enter) and to confirm the download, then installs the chosen one', async () => {
    const s = await twoKernelRoot();
    const t = onTerminal(['install', '--root', s.root, '--cache-dir', s.cache]);
    await t.waitFor(`Several kernels are installed in ${s.root}. Which one?`);
    await t.waitFor('❯ 5.14.0-998.el9.x86_64 (newest installed)');
    t.type(ARROW_DOWN);
    await t.waitFor(`❯ ${K362}`);
    t.type(ENTER);
    await t.waitFor(`Download ${DOWNLOAD_362} and install 3 package(s)? (Y/n)`);
    // Nothing fetched before the answer: resolving reads repodata only.
    expect(mirror.server.requests.filter((q) => q.path.endsWith('.rpm'))).toEqual([]);
    t.type('y');
    t.type(ENTER);
    expect(await t.exit).toBe(0);
    const screen = flat(t.screen());
    expect(screen).toContain(`✔ Several kernels are installed in ${s.root}. Which one? ${K362}`);
    expect(screen).toContain(`To install for ${K362} (`);
    expect(screen).toContain(`✔ Download ${DOWNLOAD_362} and install 3 package(s)? Yes`);
    expect(screen).toContain(`installed 3 package(s) for ${K362}`);
    expect(installedPackages(s.root)).toEqual(nvrasFor(K362));
    expect(mirror.server.requests.filter((q) => q.path.includes('998'))).toEqual([]);
  });

  it('answering no at the confirmation installs and downloads nothing (exit 1)', async () => {
    const s = await twoKernelRoot();
    const t = onTerminal(['install', '--root', s.root, '--cache-dir', s.cache]);
    await t.waitFor('Which one?');
    t.type(ENTER); // the default: the newest installed
    await t.waitFor(`Download ${DOWNLOAD_362} and install 3 package(s)? (Y/n)`);
    t.type('n');
    t.type(ENTER);
    expect(await t.exit).toBe(1);
    expect(t.screen().split(/\r?\n/)).toContain('kdebuginfo: cancelled: nothing was installed');
    expect(mirror.server.requests.filter((q) => q.path.endsWith('.rpm'))).toEqual([]);
    expect(installedPackages(s.root)).toEqual([]);
  });

  it('Ctrl-C at the confirmation: exit 130 with one line, no stack trace, nothing downloaded or installed', async () => {
    const s = await twoKernelRoot();
    const t = onTerminal(['install', '--root', s.root, '--cache-dir', s.cache, '--kernel', K362]);
    await t.waitFor(`Download ${DOWNLOAD_362} and install 3 package(s)? (Y/n)`);
    t.type(CTRL_C);
    expect(await t.exit).toBe(130);
    const after = t.screen().slice(t.screen().lastIndexOf('(Y/n)'));
    // What follows the question: the end of its line, then exactly one line of ours.
    expect(after.split(/\r?\n/).map((l) => l.trim()).filter(Boolean)).toEqual(['(Y/n)', 'kdebuginfo: interrupted']);
    expect(t.screen()).not.toContain('ExitPromptError');
    expect(t.screen()).not.toMatch(/^\s+at /m);
    expect(mirror.server.requests.filter((q) => q.path.endsWith('.rpm'))).toEqual([]);
    expect(installedPackages(s.root)).toEqual([]);
  });

  it('Ctrl-C at the kernel picker: exit 130 with one line, no stack trace', async () => {
    const s = await twoKernelRoot();
    const t = onTerminal(['install', '--root', s.root, '--cache-dir', s.cache]);
    await t.waitFor('❯ 5.14.0-998.el9.x86_64 (newest installed)');
    t.type(CTRL_C);
    expect(await t.exit).toBe(130);
    const lines = t.screen().split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    expect(lines[lines.length - 1]).toBe('kdebuginfo: interrupted');
    expect(lines.filter((l) => l.startsWith('kdebuginfo:'))).toEqual(['kdebuginfo: interrupted']);
    expect(t.screen()).not.toContain('ExitPromptError');
    expect(t.screen()).not.toMatch(/^\s+at /m);
    expect(mirror.server.requests.filter((q) => q.path.endsWith('.rpm'))).toEqual([]);
  });

  it('a stalled download says so on its live line at 80 columns; Ctrl-C then exits 130 with the partial files kept', async () => {
    const s = await twoKernelRoot();
    // Every package stops after 1000 bytes and holds the connection open.
    mirror.server.fault(/\.rpm$/, { stallAfterBytes: 1000 });
    try {
      const t = onTerminal(['install', '--root', s.root, '--cache-dir', s.cache, '--kernel', K362], 80);
      await t.waitFor(`Download ${DOWNLOAD_362} and install 3 package(s)? (Y/n)`);
      t.type('y');
      t.type(ENTER);
      await t.waitFor('stalled 3s');
      // The live names at 80 columns: the three packages tell apart.
      for (const name of ['kernel-debuginfo-…62.el9', 'kernel-debug…mmon-x86_64', 'kernel-devel-….0-362.el9']) {
        expect(t.screen()).toContain(name);
      }
      t.type(CTRL_C); // not in raw mode now: the terminal turns it into SIGINT
      expect(await t.exit).toBe(130);
      const lines = t.screen().split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      const last = `kdebuginfo: interrupted: partial downloads kept in ${s.cache}; run again to resume`;
      expect(lines.filter((l) => l.startsWith('kdebuginfo:'))).toEqual(['kdebuginfo: SIGINT: stopping (again to quit at once)', last]);
      expect(lines[lines.length - 1]).toBe(last);
      expect(t.screen()).not.toMatch(/^\s+at /m);
      expect(installedPackages(s.root)).toEqual([]);
      // The 1000 bytes of each package stay for the next run to resume from.
      for (const nvra of nvrasFor(K362)) expect(statSync(join(s.cache, `${nvra}.rpm.part`)).size).toBe(1000);
    } finally {
      mirror.server.clearFaults();
    }
  });

  it('with --yes on a terminal it never prompts: the kernel choice is exit 2 naming --kernel', async () => {
    const s = await twoKernelRoot();
    const t = onTerminal(['install', '--root', s.root, '--cache-dir', s.cache, '--yes']);
    expect(await t.exit).toBe(2);
    expect(t.screen()).not.toContain('Which one?');
    expect(t.screen().split(/\r?\n/)).toContain(
      `kdebuginfo: several kernels in ${s.root}/lib/modules (${K362}, ${K998}): say which with --kernel R or --kernel newest-installed`,
    );
  });
});

describe('the same command without a terminal', () => {
  it('does not prompt: exit 2 naming --kernel, nothing fetched', async () => {
    const s = await twoKernelRoot();
    const child = spawn(process.execPath, [cli, 'install', '--root', s.root, '--cache-dir', s.cache], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: cliEnv(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split('\n')).toContain(
      `kdebuginfo: several kernels in ${s.root}/lib/modules (${K362}, ${K998}): say which with --kernel R or --kernel newest-installed`,
    );
    expect(stderr).not.toContain('Which one?');
    expect(mirror.server.requests).toEqual([]);
    expect(installedPackages(s.root)).toEqual([]);
  });
});
