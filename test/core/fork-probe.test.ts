import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkResolvedProbePoints,
  FORK_PROBE_TAG,
  forkProbeScript,
  parseForkProbeOutput,
  parseResolvedProbePoints,
  workloadScript,
} from '../../src/core/fork-probe.js';
import { diagnoseStapOutput } from '../../src/core/stap-messages.js';
import { hasTool, readCaptured } from '../support/captured-output.js';

const work = mkdtempSync(join(tmpdir(), 'kdebuginfo-fork-probe-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * The least a directory needs for `stap -r DIR` to get through passes 1 and 2 (found by trying,
 * with stap 4.8; see fixtures/captured/stap/build-tree-no-*.txt): include/config/kernel.release
 * (else "kernel release isn't found in"), .config and Module.symvers (else "Checking ... failed").
 * Their contents do not matter to those passes. Not a kernel build tree: pass 4 would need one.
 */
function fakeBuildTree(name: string, files: string[] = ['.config', 'Module.symvers']): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'include', 'config'), { recursive: true });
  writeFileSync(join(dir, 'include', 'config', 'kernel.release'), '6.1.0-kdebuginfo-fake\n');
  for (const f of files) writeFileSync(join(dir, f), '');
  return dir;
}

function stap(args: string[]) {
  // A scratch HOME keeps stap's ~/.systemtap cache out of the real home.
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  return spawnSync('stap', args, { encoding: 'utf8', env: { ...process.env, HOME: home, LC_ALL: 'C' }, timeout: 60_000 });
}

describe('forkProbeScript', () => {
  it('needs DWARF: kernel.function probes only, fork-path alternatives newest first, no tracepoints', () => {
    const s = forkProbeScript();
    expect(s).toContain('probe kernel.function("kernel_clone") !, kernel.function("_do_fork") !, kernel.function("do_fork") {');
    expect(s).toContain('probe kernel.function("do_nanosleep") !, kernel.function("hrtimer_nanosleep") {');
    const code = s.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');
    expect(code).not.toMatch(/kprocess|kernel\.trace|tracepoint|process\(|syscall\./);
  });

  it('filters on target() (stap -x PID) by default, so the text and stap cache key never change', () => {
    expect(forkProbeScript()).toContain('pid() == target()');
    expect(forkProbeScript()).toBe(forkProbeScript());
  });

  it('can bake a pid in instead, and ends itself by event count or timer', () => {
    const s = forkProbeScript({ targetPid: 4242, timeoutSeconds: 12, expectedEvents: 2 });
    expect(s).toContain('pid() == 4242');
    expect(s).not.toContain('target()');
    expect(s).toContain('probe timer.s(12)');
    expect(s).toContain('kdebuginfo_forks >= 2 && kdebuginfo_sleeps >= 2');
    expect(s).toContain('exit()');
  });

  it('rejects nonsense options', () => {
    expect(() => forkProbeScript({ targetPid: 0 })).toThrow(RangeError);
    expect(() => forkProbeScript({ targetPid: 1.5 })).toThrow(RangeError);
    expect(() => forkProbeScript({ timeoutSeconds: -1 })).toThrow(RangeError);
  });
});

describe('forkProbeScript through the real stap', () => {
  const hasStap = hasTool('stap');

  it.skipIf(!hasStap)('pass 1 (parse) succeeds, with the minimal fake build tree', () => {
    const script = join(work, 'fork-probe.stp');
    writeFileSync(script, forkProbeScript());
    const r = stap(['-p1', '-r', fakeBuildTree('tree-p1'), script]);
    expect(r.status, r.stderr).toBe(0);
    // -p1 prints the parse tree: our probes are in it.
    expect(r.stdout).toContain('kernel.function("kernel_clone")');
    expect(r.stdout).toContain('kernel.function("do_nanosleep")');
  });

  it.skipIf(!hasStap)('pass 1 with a baked-in pid succeeds too', () => {
    const script = join(work, 'fork-probe-pid.stp');
    writeFileSync(script, forkProbeScript({ targetPid: 4242 }));
    const r = stap(['-p1', '-r', fakeBuildTree('tree-p1-pid'), script]);
    expect(r.status, r.stderr).toBe(0);
  });

  it.skipIf(!hasStap)('what the fake tree needs, recorded: without Module.symvers even pass 1 fails', () => {
    const script = join(work, 'fork-probe-nosymvers.stp');
    writeFileSync(script, forkProbeScript());
    const r = stap(['-p1', '-r', fakeBuildTree('tree-no-symvers', ['.config']), script]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Checking ".*\/Module\.symvers" failed/);
    expect(diagnoseStapOutput(r.stderr).map((d) => d.code)).toEqual(['devel-incomplete']);
  });

  // Pass 1 checks syntax only. Everything but the DWARF lookups (globals, the function, tapset
  // calls, printf formats) is checked by passes 2 and 3; swapping the two kernel.function probe
  // headers for timer probes lets them run here without debuginfo.
  it.skipIf(!hasStap)('the rest of the script passes 2 and 3 (translation to C) with DWARF probes swapped for timers', () => {
    const swapped = forkProbeScript().replace(/^probe kernel\.function\(.*\{$/gm, 'probe timer.ms(100) {');
    expect(swapped.match(/probe timer\.ms\(100\)/g)).toHaveLength(2);
    const script = join(work, 'fork-probe-timers.stp');
    writeFileSync(script, swapped);
    const r = stap(['-p3', '-r', fakeBuildTree('tree-p3'), script]);
    expect(r.status, r.stderr).toBe(0);
    // stap compiles printf formats into the C it emits (%d becomes %lld).
    expect(r.stdout).toContain('"KDEBUGINFO fork pid=');
  });

  it.skipIf(!hasStap)('pass 2 without debuginfo fails, and the real stderr diagnoses as missing-debuginfo', () => {
    const script = join(work, 'fork-probe-p2.stp');
    writeFileSync(script, forkProbeScript());
    const tree = fakeBuildTree('tree-p2');
    const r = stap(['-p2', '-r', tree, script]);
    if (r.status === 0) {
      // Only a host whose stap finds real debuginfo for this fake release could get here.
      throw new Error(`pass 2 unexpectedly succeeded; stdout:\n${r.stdout}`);
    }
    const ds = diagnoseStapOutput(r.stderr);
    expect(ds.map((d) => d.code)).toEqual(['missing-debuginfo']);
    expect(ds[0]?.buildDir).toBe(tree);
  });
});

describe('workloadScript', () => {
  const hasSh = hasTool('sh');

  it('is POSIX sh that forks N times and sleeps, waiting for a go line first', () => {
    const s = workloadScript({ forks: 3, sleepSeconds: 1 });
    expect(s.startsWith('#!/bin/sh\n')).toBe(true);
    expect(s).toContain('read -r kdebuginfo_go || true');
    expect(s).toContain('while [ "$i" -lt 3 ]; do');
    expect(s).toContain('  sleep 1\n');
    expect(workloadScript({ waitForStdinLine: false })).not.toContain('read ');
    expect(() => workloadScript({ forks: 0 })).toThrow(RangeError);
  });

  it.skipIf(!hasSh || !hasTool('sleep'))('runs: waits for the go line, then forks and sleeps, then exits 0', async () => {
    const path = join(work, 'workload.sh');
    writeFileSync(path, workloadScript({ forks: 2, sleepSeconds: 0.3 }));
    // sh -x traces each command: one "+ sleep" per fork.
    const child = spawn('sh', ['-x', path], { stdio: ['pipe', 'pipe', 'pipe'] });
    let trace = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (trace += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 400));
    expect(child.exitCode).toBeNull(); // still waiting for the go line
    expect(trace).not.toContain('+ sleep');
    const started = Date.now();
    child.stdin.end('go\n');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(trace.match(/^\+ sleep 0\.3$/gm)).toHaveLength(2);
  });
});

describe('parseForkProbeOutput', () => {
  /** Renders the script's own printf formats the way stap would, so parser and script cannot drift apart. */
  function render(kind: 'ready' | 'fork' | 'nanosleep' | 'done', values: Array<string | number>): string {
    const script = forkProbeScript();
    const m = new RegExp(`printf\\("(${FORK_PROBE_TAG} ${kind} [^"]*)\\\\n"`).exec(script);
    if (!m) throw new Error(`no printf for ${kind} in the script`);
    let i = 0;
    return (m[1] as string).replace(/%[ds]/g, () => String(values[i++]));
  }

  it('counts the workload forks and its children sleeping, and names the fork function', () => {
    const W = 5000;
    const stdout = [
      'WARNING: something stap printed',
      render('ready', [W]),
      render('fork', [W, 4000, 'kernel_clone', 'sh']),
      render('nanosleep', [5001, W, 'do_nanosleep', 'sleep']),
      render('fork', [W, 4000, 'kernel_clone', 'sh']),
      render('nanosleep', [5002, W, 'do_nanosleep', 'sleep']),
      render('fork', [W, 4000, 'kernel_clone', 'sh']),
      render('nanosleep', [5003, W, 'do_nanosleep', 'sleep']),
      render('done', ['events', 3, 3]),
      '',
    ].join('\n');
    const r = parseForkProbeOutput(stdout, W);
    expect(r).toMatchObject({
      ready: true,
      target: W,
      forks: 3,
      nanosleeps: 3,
      sawWorkload: true,
      forkFunction: 'kernel_clone',
      done: { reason: 'events', forks: 3, nanosleeps: 3 },
    });
    expect(r.lines).toHaveLength(8);
    expect(r.events[1]).toEqual({ kind: 'nanosleep', pid: 5001, ppid: W, func: 'do_nanosleep', execname: 'sleep' });
  });

  it('keeps execnames with spaces, and ignores events of other processes', () => {
    const stdout = [render('fork', [77, 1, '_do_fork', 'my worker']), render('fork', [5000, 1, '_do_fork', 'sh'])].join('\n');
    const r = parseForkProbeOutput(stdout, 77);
    expect(r.events[0]?.execname).toBe('my worker');
    expect(r.forks).toBe(1);
    expect(r.forkFunction).toBe('_do_fork');
  });

  it('a probe that armed but saw nothing: timeout, sawWorkload false', () => {
    const r = parseForkProbeOutput(`${render('ready', [9])}\n${render('done', ['timeout', 0, 0])}\n`, 9);
    expect(r).toMatchObject({ ready: true, sawWorkload: false, forks: 0, nanosleeps: 0, done: { reason: 'timeout' } });
  });

  it('nothing at all (stap failed before pass 5)', () => {
    expect(parseForkProbeOutput('', 1)).toMatchObject({ ready: false, sawWorkload: false, lines: [] });
  });
});

describe('pass 2 output (fixtures/captured/apt/stap-p2-fork-probe.txt: real stap 4.8 on a real Debian 12 -dbg)', () => {
  const listing = readCaptured('apt', 'stap-p2-fork-probe').stdout;

  it('lists the probe points resolved with their source files', () => {
    expect(parseResolvedProbePoints(listing)).toEqual([
      { function: 'kernel_clone', file: 'kernel/fork.c', line: 2737, text: 'kernel.function("kernel_clone@kernel/fork.c:2737")' },
      { function: 'do_nanosleep', file: 'kernel/time/hrtimer.c', line: 2083, text: 'kernel.function("do_nanosleep@kernel/time/hrtimer.c:2083")' },
    ]);
  });

  it('a probe point without @file (no DWARF) is not listed', () => {
    expect(parseResolvedProbePoints('# probes\nkernel.function("kernel_clone") /* pc=... */\nbegin /* <- begin */\n')).toEqual([]);
  });

  it('resolve passes only with both the fork path and nanosleep; it says which is missing', () => {
    const both = checkResolvedProbePoints(parseResolvedProbePoints(listing));
    expect([both.fork?.function, both.nanosleep?.function, both.missing]).toEqual(['kernel_clone', 'do_nanosleep', []]);
    const withoutSleep = listing.split('\n').filter((l) => !l.includes('do_nanosleep')).join('\n');
    expect(checkResolvedProbePoints(parseResolvedProbePoints(withoutSleep)).missing).toEqual(['do_nanosleep or hrtimer_nanosleep']);
    const withoutFork = listing.split('\n').filter((l) => !l.includes('kernel_clone')).join('\n');
    expect(checkResolvedProbePoints(parseResolvedProbePoints(withoutFork)).missing).toEqual(['a fork-path function (kernel_clone, _do_fork or do_fork)']);
    // The older kernels' names count too.
    const el8 = checkResolvedProbePoints(parseResolvedProbePoints('kernel.function("_do_fork@kernel/fork.c:2394")\nkernel.function("hrtimer_nanosleep@kernel/time/hrtimer.c:1798")\n'));
    expect(el8.missing).toEqual([]);
    expect(checkResolvedProbePoints([]).missing).toHaveLength(2);
  });
});
