import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { release as runningRelease, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainContextFor, explainDiagnosis, formatVerify, runVerify, verifier, type VerifyFailure, type VerifyOptions } from '../../src/commands/verify.js';
import { diagnoseStapOutput } from '../../src/core/stap-messages.js';
import { parseKernelRelease } from '../../src/core/kernel-release.js';
import { createStapProgress, shortenPassLine } from '../../src/io/stap.js';
import { ExitCode, KdebuginfoError } from '../../src/errors.js';
import { makeTestContext } from '../support/context.js';
import { FIXTURE_MIRROR_ROOT } from '../support/fixture-mirror.js';

/** The stand-in `stap` (NOT SystemTap; see its header): first on PATH for the run and compile paths. */
const STANDIN_DIR = fileURLToPath(new URL('../support/bin-standin-stap', import.meta.url));
const K = '5.14.0-362.el9.x86_64';
const RUNNING = runningRelease();

const work = mkdtempSync(join(tmpdir(), 'kdebuginfo-verify-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let homeCount = 0;

/** A context whose `stap` is the stand-in replaying `mode`, with a HOME of its own and a log of stap's argv. */
function standin(mode: string, o: { isRoot?: boolean; dryRun?: boolean } = {}) {
  const home = join(work, `home-${++homeCount}`);
  mkdirSync(home);
  const log = join(work, `stap-calls-${homeCount}.jsonl`);
  const t = makeTestContext({
    env: { PATH: `${STANDIN_DIR}${delimiter}${process.env.PATH}`, HOME: home, KDEBUGINFO_STANDIN_STAP: mode, KDEBUGINFO_STANDIN_STAP_LOG: log },
    isRoot: o.isRoot ?? true,
    dryRun: o.dryRun ?? false,
  });
  const calls = () =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { argv: string[]; home: string })
      : [];
  return { ...t, home, calls };
}

async function failure(p: Promise<unknown>): Promise<KdebuginfoError & { detail: VerifyFailure }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KdebuginfoError) return err as KdebuginfoError & { detail: VerifyFailure };
    throw err;
  }
  throw new Error('expected verify to fail');
}

const verify = (ctx: Parameters<typeof runVerify>[0], o: Partial<VerifyOptions> & Pick<VerifyOptions, 'level'>) => runVerify(ctx, o);

describe('verify --level run (stand-in stap: a module cannot be loaded here)', () => {
  it('starts its own workload, lets it go when the probe is armed, and checks the probe saw its pid and name', async () => {
    const t = standin('run-ok');
    const r = await verify(t.ctx, { level: 'run' });
    expect(r.ok).toBe(true);
    expect(r.kernel).toBe(RUNNING);
    expect(r.isRunningKernel).toBe(true);
    const p = r.probe!;
    expect(p.workloadName).toBe('kdebuginfo-work');
    expect(p.forks).toBe(3);
    expect(p.nanosleeps).toBe(3);
    expect(p.forkFunction).toBe('kernel_clone');
    // stap was given the workload's pid and the fork-probe script, pass 5 (no -p), no -r for the running kernel.
    const [call] = t.calls().filter((c) => !c.argv.includes('-V'));
    expect(call!.argv.slice(0, 3)).toEqual(['-v', '-x', String(p.workloadPid)]);
    expect(call!.argv[3]).toMatch(/kdebuginfo-fork-probe\.stp$/);
    // The module cache is the user's own (compiled modules are reused next time).
    expect(call!.home).toBe(t.home);
    const pid = p.workloadPid;
    expect(formatVerify({ ...r, durationMs: 3456 })).toBe(
      [
        `verify (run): ok for kernel ${RUNNING}`,
        `The probe saw kdebuginfo-work (pid ${pid}) fork 3 time(s) through kernel_clone and its children sleep 3 time(s).`,
        'What the probe printed:',
        `  KDEBUGINFO ready target=${pid}`,
        ...p.lines.slice(1, -1).map((l) => `  ${l}`),
        `  KDEBUGINFO done reason=events forks=3 nanosleeps=3`,
        'took 3.5 s',
        '',
      ].join('\n'),
    );
    expect(p.lines.filter((l) => l.startsWith(`KDEBUGINFO fork pid=${pid} `))).toHaveLength(3);
    expect(p.lines.filter((l) => / execname=sleep$/.test(l) && l.includes(` ppid=${pid} `))).toHaveLength(3);
    expect(t.stderr()).toContain(`verify: compiling and running the probe module for ${RUNNING} (stap pass 5); the first compile can take a minute, later ones use ${t.home}/.systemtap/cache\n`);
  });

  it('a probe that arms but never sees the workload is a failure, not a pass (exit 5)', async () => {
    const t = standin('run-blind');
    const e = await failure(verify(t.ctx, { level: 'run' }));
    expect(e.exitCode).toBe(ExitCode.verifyFailed);
    const pid = e.detail.probe!.workloadPid;
    expect(e.message).toBe(
      `verify (run) failed for ${RUNNING}: the probe ran but did not see kdebuginfo's workload kdebuginfo-work (pid ${pid}) fork and sleep: 0 fork(s), 0 sleep(s) seen.`,
    );
    expect(e.hint).toBe("the probed functions may not be on this kernel's fork path, or the debuginfo is from another build: run kdebuginfo doctor (it compares build-ids)");
    expect(e.detail.diagnoses.map((d) => d.code)).toEqual(['probe-saw-nothing']);
  });

  it('as a user who may not load modules: real stap\'s message, diagnosed (captured: non-root)', async () => {
    const t = standin('non-root', { isRoot: false });
    const e = await failure(verify(t.ctx, { level: 'run' }));
    expect(e.exitCode).toBe(5);
    expect(e.message).toBe(`verify (run) failed for ${RUNNING}: SystemTap was run by a user who may not load kernel modules.`);
    expect(e.hint).toBe('Run it as root (sudo), or add the user to the stapusr and stapdev groups (usermod -aG stapusr,stapdev <user>) and log in again.');
    expect(e.detail).toMatchObject({ ok: false, level: 'run', kernel: RUNNING, stap: { version: '4.8', exitCode: 1, timedOut: false } });
    expect(e.detail.diagnoses[0]!.evidence).toEqual(['You are trying to run systemtap as a normal user.']);
  });

  it('refuses a kernel that is not running, and points at compile (exit 2)', async () => {
    const t = standin('run-ok');
    const e = await failure(verify(t.ctx, { level: 'run', kernel: K }));
    expect(e.exitCode).toBe(ExitCode.usage);
    expect(e.message).toBe(`--level run needs kernel ${K} to be running (running: ${RUNNING})`);
    expect(e.hint).toBe(`use --level compile (stap -p4 -r ${K}) or --level resolve for a kernel that is installed but not running`);
    expect(t.calls()).toEqual([]);
  });
});

describe('verify --level compile (stand-in stap replaying captured real output)', () => {
  it('compiles with -p4 -r <release> for a kernel installed but not running', async () => {
    const t = standin('compile-ok');
    const r = await verify(t.ctx, { level: 'compile', kernel: K });
    expect(r.message).toBe(`the probe module compiled against the build tree of ${K} (stap pass 4)`);
    expect(r.module).toBe(`${t.home}/.systemtap/cache/5f/stap_5f0e2b1c9d_4242.ko`);
    const [call] = t.calls().filter((c) => !c.argv.includes('-V'));
    expect(call!.argv.slice(0, 4)).toEqual(['-v', '-p4', '-r', K]);
    expect(formatVerify({ ...r, durationMs: 800 })).toBe(
      [
        `verify (compile): ok for kernel ${K}`,
        `The probe module compiled against the build tree of ${K} (stap pass 4).`,
        `Module: ${t.home}/.systemtap/cache/5f/stap_5f0e2b1c9d_4242.ko`,
        `Not loaded: --level run loads it once ${K} is running.`,
        'took 0.8 s',
        '',
      ].join('\n'),
    );
  });

  it('--level auto picks compile for a kernel that is not running', async () => {
    const t = standin('compile-ok');
    const r = await verify(t.ctx, { level: 'auto', kernel: K });
    expect(r.level).toBe('compile');
  });

  it('an incomplete build tree names the exact kernel-devel to reinstall (captured: pass4-no-makefile)', async () => {
    const t = standin('pass4-no-makefile');
    const e = await failure(verify(t.ctx, { level: 'compile', kernel: K }));
    expect(e.exitCode).toBe(5);
    expect(e.message).toBe(
      `verify (compile) failed for ${K}: The kernel build tree at /tmp/kdebuginfo-capture/tree is incomplete: Makefile is missing (No such file or directory).`,
    );
    expect(e.hint).toBe(`reinstall kernel-devel-${K} (dnf reinstall kernel-devel-${K}); a tree copied by hand or a partly unpacked package gives this`);
    expect(e.detail.diagnoses[0]).toMatchObject({ code: 'devel-incomplete', packages: [`kernel-devel-${K}`] });
  });

  it('a SystemTap runtime older than the kernel: names both versions and what to upgrade (captured: fake-kbuild-runtime-too-old)', async () => {
    const t = standin('fake-kbuild-runtime-too-old');
    const e = await failure(verify(t.ctx, { level: 'compile', kernel: K }));
    expect(e.message).toBe(
      `verify (compile) failed for ${K}: Pass 4 failed inside SystemTap 4.8's own runtime: runtime/stp_task_work.c no longer matches the kernel's task_work_cancel. The runtime is older than the kernel ${K} (SystemTap 4.8 was tested with kernels 2.6.32 ... 6.1.0-rc3; this kernel is 5.14.0); the debuginfo and the kernel headers are fine.`,
    );
    // The compiler's own words stay in the evidence, not in the message.
    expect(e.message).not.toMatch(/incompatible pointer type|kallsyms_/);
    expect(e.detail.diagnoses[0]!.evidence[0]).toContain('from incompatible pointer type');
    expect(e.hint).toBe('upgrade systemtap, systemtap-runtime and systemtap-devel from 4.8 to a release that supports Linux 5.14.0; the debuginfo and the kernel headers cannot fix this');
    expect(e.detail.diagnoses[0]!.packages).toEqual(['systemtap', 'systemtap-runtime', 'systemtap-devel']);
  });

  it('gives up after the timeout, stopping stap, and says which pass it was in', async () => {
    const t = standin('hang');
    const started = Date.now();
    const e = await failure(verify(t.ctx, { level: 'compile', kernel: K, timeoutMs: 1000 }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.exitCode).toBe(5);
    expect(e.message).toBe(`verify (compile) failed for ${K}: stap did not finish within 1 s (it was in pass 1).`);
    expect(e.detail.stap).toMatchObject({ timedOut: true });
  });

  it('--dry-run runs nothing and says what it would run', async () => {
    const t = standin('compile-ok', { dryRun: true });
    const r = await verify(t.ctx, { level: 'compile', kernel: K });
    expect(r.skipped).toBe(true);
    expect(r.message).toMatch(new RegExp(`^would run: stap -v -p4 -r ${K.replace(/\./g, '\\.')} /.*/kdebuginfo-fork-probe\\.stp$`));
    expect(t.calls().filter((c) => !c.argv.includes('-V'))).toEqual([]);
  });

  it('level none runs nothing', async () => {
    const t = standin('hang');
    const r = await verify(t.ctx, { level: 'none' });
    expect(formatVerify(r)).toBe('verify (none): verification skipped (level none)\n');
    expect(t.calls()).toEqual([]);
  });

  it('resolve: stap exiting 0 without resolving the fork path and nanosleep from DWARF is a failure, not a pass', async () => {
    const t = standin('silent-ok');
    const e = await failure(verify(t.ctx, { level: 'resolve', kernel: K }));
    expect(e.exitCode).toBe(ExitCode.verifyFailed);
    expect(e.message).toBe(
      `verify (resolve) failed for ${K}: stap pass 2 succeeded but did not resolve a fork-path function (kernel_clone, _do_fork or do_fork) and do_nanosleep or hrtimer_nanosleep with a source file: the debuginfo is not being used.`,
    );
    expect(e.hint).toBe(
      `the debuginfo stap reads must be for exactly ${K} (kdebuginfo doctor compares build-ids); install kernel-debuginfo-${K} and kernel-debuginfo-common-x86_64-${K}: kdebuginfo install --kernel ${K}`,
    );
    expect(e.detail.diagnoses.map((d) => [d.code, d.packages])).toEqual([['probe-points-unresolved', [`kernel-debuginfo-${K}`, `kernel-debuginfo-common-x86_64-${K}`]]]);
    expect(e.detail.stap).toMatchObject({ exitCode: 0, timedOut: false });
  });

  it('without stap on PATH: exit 5 naming what to install', async () => {
    const t = makeTestContext({ env: { PATH: join(work, 'empty-path') } });
    const e = await failure(verify(t.ctx, { level: 'resolve', kernel: K }));
    expect(e.exitCode).toBe(5);
    expect(e.message).toBe(`verify (resolve) failed for ${K}: stap is not installed (not on PATH).`);
    expect(e.hint).toBe('install SystemTap: dnf install systemtap systemtap-runtime (then kdebuginfo doctor)');
  });
});

describe('verifier (what install calls)', () => {
  it('turns a failed proof into ok:false with the diagnosis and fix, and a pass into ok:true', async () => {
    const kernel = parseKernelRelease(K);
    const bad = standin('pass4-no-makefile');
    expect(await verifier(bad.ctx, { kernel, level: 'compile', root: '/' })).toEqual({
      ok: false,
      detail: `verify (compile) failed for ${K}: The kernel build tree at /tmp/kdebuginfo-capture/tree is incomplete: Makefile is missing (No such file or directory). Fix: reinstall kernel-devel-${K} (dnf reinstall kernel-devel-${K}); a tree copied by hand or a partly unpacked package gives this`,
    });
    const good = standin('compile-ok');
    expect(await verifier(good.ctx, { kernel, level: 'compile', root: '/' })).toEqual({ ok: true, detail: `the probe module compiled against the build tree of ${K} (stap pass 4)` });
  });
});

describe('verify --level resolve with the real stap (Debian systemtap 4.8)', () => {
  const M = FIXTURE_MIRROR_ROOT;
  const devel = join(M, `mirror.stream.centos.org/9-stream/AppStream/x86_64/os/Packages/kernel-devel-${K}.rpm`);
  const debuginfo = join(M, `mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-${K}.rpm`);
  const common = join(M, `mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-common-x86_64-${K}.rpm`);

  /**
   * An image root with the fixture packages installed by real rpm and the kernel package's
   * absolute build link. The fixture kernel-devel has no Module.symvers (real ones do, and stap
   * checks for it before pass 1), so an empty one is added.
   */
  function imageRoot(name: string, rpms: string[]): string {
    const root = join(work, name);
    mkdirSync(root, { recursive: true });
    const r = spawnSync('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', '--nosignature', ...rpms], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: work, LC_ALL: 'C' } });
    if (r.status !== 0) throw new Error(r.stderr);
    writeFileSync(join(root, 'usr/src/kernels', K, 'Module.symvers'), '');
    mkdirSync(join(root, 'lib/modules', K), { recursive: true });
    symlinkSync(`/usr/src/kernels/${K}`, join(root, 'lib/modules', K, 'build'));
    return root;
  }

  let noDebuginfo: string;
  let withDebuginfo: string;
  beforeAll(() => {
    noDebuginfo = imageRoot('root-no-debuginfo', [devel]);
    withDebuginfo = imageRoot('root-with-debuginfo', [devel, debuginfo, common]);
  });

  it('pass 2 without debuginfo: missing-debuginfo, exit 5, naming the two packages to install', async () => {
    const home = join(work, 'real-home');
    mkdirSync(home);
    const t = makeTestContext({ env: { HOME: home } });
    const e = await failure(verify(t.ctx, { level: 'resolve', root: noDebuginfo }));
    expect(e.exitCode).toBe(ExitCode.verifyFailed);
    expect(e.message).toBe(
      `verify (resolve) failed for ${K}: No kernel debuginfo for x86_64: stap found no vmlinux with DWARF for ${noDebuginfo}/lib/modules/${K}/build, so kernel.function() probes cannot resolve.`,
    );
    expect(e.hint).toBe(`install kernel-debuginfo-${K} and kernel-debuginfo-common-x86_64-${K}: kdebuginfo install --kernel ${K} --root ${noDebuginfo}`);
    expect(e.detail.diagnoses.map((d) => d.code)).toEqual(['missing-debuginfo']);
    expect(e.detail.diagnoses[0]!.packages).toEqual([`kernel-debuginfo-${K}`, `kernel-debuginfo-common-x86_64-${K}`]);
    expect(e.detail.stap!.argv.slice(0, 6)).toEqual(['stap', '-v', '-p2', '--sysroot', expect.stringContaining('kdebuginfo-verify-'), '-r']);
    // Progress came from stap's own -v lines as they arrived.
    expect(t.stderr()).toMatch(/^verify: resolving the probe points in the debuginfo of 5\.14\.0-362\.el9\.x86_64 \(stap pass 2\)\nstap: Pass 1: parsed user script and \d+ library scripts \(\d+ ms\)\n/);
    // An image root's verification leaves the user's stap cache alone.
    expect(existsSync(join(home, '.systemtap'))).toBe(false);
  });

  it('with the image root\'s debuginfo: stap finds and reads it through the sysroot (the fixture vmlinux is not a kernel, so its probes do not resolve)', async () => {
    const t = makeTestContext({ env: { HOME: join(work, 'real-home-2') } });
    // auto in an image root: resolve (a module for another system can be neither loaded nor cached here).
    const e = await failure(verify(t.ctx, { level: 'auto', root: withDebuginfo }));
    expect(e.detail.level).toBe('resolve');
    // Not "missing debuginfo": stap read the DWARF (it names kernel_clone among similar functions).
    expect(e.detail.diagnoses.map((d) => d.code)).toEqual(['probe-unresolved']);
    expect(e.detail.stderrTail.join('\n')).toContain('similar functions: _start, kernel_clone, copy_process');
  });
});

describe('diagnoses made specific', () => {
  const c = explainContextFor({ uname: K, root: '/', home: '/home/u', version: { version: '4.8', testedKernels: { min: '2.6.32', max: '6.1.0-rc3' } } });

  // Lines in the format strings of systemtap's runtime and the kernel (see src/core/stap-messages.ts):
  // no captured output exists for them, since neither can happen without loading a module.
  it('a stale module in the cache: clear that HOME\'s cache', () => {
    const [d] = diagnoseStapOutput(`ERROR: module version mismatch (#1 SMP PREEMPT_DYNAMIC Thu Oct 5 vs #1 SMP PREEMPT_DYNAMIC Tue Oct 17), release ${K}\n`);
    expect(explainDiagnosis(d!, c)).toMatchObject({ code: 'stale-module', fix: 'clear the cache and run verify again: rm -rf /home/u/.systemtap/cache' });
  });

  it('lockdown keeps stap\'s own advice', () => {
    const [d] = diagnoseStapOutput('Lockdown: staprun: unsigned module loading is restricted; see man kernel_lockdown.7\n');
    expect(explainDiagnosis(d!, c)).toMatchObject({ code: 'lockdown', fix: d!.fix, packages: [] });
  });

  it('a runtime that includes a header the kernel dropped: names the header (gcc\'s fatal-error format)', () => {
    const [d] = diagnoseStapOutput('/usr/share/systemtap/runtime/linux/uprobes-inc.h:20:10: fatal error: linux/uprobes_old.h: No such file or directory\n');
    expect(d?.code).toBe('runtime-too-old');
    expect(explainDiagnosis(d!, c).summary).toBe(
      `Pass 4 failed inside SystemTap 4.8's own runtime: runtime/linux/uprobes-inc.h includes linux/uprobes_old.h, which this kernel does not have. The runtime is older than the kernel ${K} (SystemTap 4.8 was tested with kernels 2.6.32 ... 6.1.0-rc3; this kernel is 5.14.0); the debuginfo and the kernel headers are fine.`,
    );
  });

  it('a build-id mismatch names the debuginfo pair to replace', () => {
    const [d] = diagnoseStapOutput('WARNING: Build-id mismatch [man warning::buildid]: "kernel" pid 0 address 0xffffffff81000000, expected 120444bf actual 0f1e2d3c\n');
    expect(explainDiagnosis(d!, c).packages).toEqual([`kernel-debuginfo-${K}`, `kernel-debuginfo-common-x86_64-${K}`]);
  });
});

describe('progress lines', () => {
  it('shortens stap -v pass lines (captured from the real stap above)', () => {
    expect(shortenPassLine('Pass 1: parsed user script and 484 library scripts using 102264virt/91984res/7328shr/84512data kb, in 250usr/70sys/502real ms.')).toBe(
      'Pass 1: parsed user script and 484 library scripts (502 ms)',
    );
    expect(shortenPassLine('Pass 2: analysis failed.  [man error::pass2]')).toBe('Pass 2: analysis failed');
  });

  it('says it is still working when stap is quiet', async () => {
    const lines: string[] = [];
    const p = createStapProgress({ info: (l) => lines.push(l) }, { heartbeatMs: 50 });
    p.line('Pass 3: translated to C into "/tmp/stapXYZ/stap_1_src.c" using 1virt/2res/3shr/4data kb, in 10usr/0sys/12real ms.');
    await new Promise((r) => setTimeout(r, 180));
    p.stop();
    expect(lines[0]).toBe('stap: Pass 3: translated to C into "/tmp/stapXYZ/stap_1_src.c" (12 ms)');
    expect(lines[1]).toMatch(/^stap: still working on pass 4 \(0 s\)$/);
  });
});
