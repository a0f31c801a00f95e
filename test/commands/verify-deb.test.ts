/**
 * verify for Debian and Ubuntu kernels: the same runVerify and explainDiagnosis as for RPM
 * kernels, told in apt's package names. stap is the STAND-IN (test/support/bin-standin-stap/,
 * NOT SystemTap) replaying what the real stap 4.8 printed for a real Debian 12 kernel with its
 * real -dbg and headers installed (fixtures/captured/apt/stap-p2-fork-probe.txt,
 * stap-p4-runtime-too-old.txt; how they were made: fixtures/captured/apt/capture.sh).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { explainContextFor, explainDiagnosis, runVerify, verifyOutcome, type VerifyFailure } from '../../src/commands/verify.js';
import { diagnoseStapOutput } from '../../src/core/stap-messages.js';
import { ExitCode, KdebuginfoError } from '../../src/errors.js';
import { readCaptured } from '../support/captured-output.js';
import { makeTestContext } from '../support/context.js';

const STANDIN_DIR = fileURLToPath(new URL('../support/bin-standin-stap', import.meta.url));
/** The Debian 12 cloud kernel the captures were made with (installed, not running). */
const R = '6.1.0-56-cloud-amd64';
const UBUNTU = '6.8.0-45-generic';
const STAP = { version: '4.8', testedKernels: { min: '2.6.32', max: '6.1.0-rc3' } };

const work = mkdtempSync(join(tmpdir(), 'kdebuginfo-verify-deb-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

function standin(mode: string) {
  const home = join(work, `home-${++n}`);
  mkdirSync(home);
  const log = join(work, `stap-calls-${n}.jsonl`);
  const t = makeTestContext({ env: { PATH: `${STANDIN_DIR}${delimiter}${process.env.PATH}`, HOME: home, KDEBUGINFO_STANDIN_STAP: mode, KDEBUGINFO_STANDIN_STAP_LOG: log }, isRoot: true });
  const calls = () =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { argv: string[] })
          .filter((c) => !c.argv.includes('-V'))
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

describe('verify --level resolve for a Debian kernel (real stap 4.8 pass 2 on the real -dbg, replayed)', () => {
  it('pass 2 -r R must resolve the fork path and nanosleep with their source files; it did', async () => {
    const t = standin('apt/stap-p2-fork-probe');
    const r = await runVerify(t.ctx, { level: 'resolve', kernel: R });
    expect(r.ok).toBe(true);
    expect(r.message).toBe(
      `the fork path (kernel_clone@kernel/fork.c:2737) and nanosleep (do_nanosleep@kernel/time/hrtimer.c:2083) resolved with their source files in the debuginfo of ${R} (stap pass 2)`,
    );
    expect(r.resolved).toEqual(['kernel.function("kernel_clone@kernel/fork.c:2737")', 'kernel.function("do_nanosleep@kernel/time/hrtimer.c:2083")']);
    expect(t.calls().map((c) => c.argv.slice(0, 4))).toEqual([['-v', '-p2', '-r', R]]);
    expect(t.stderr()).toMatch(/^verify: stap pass 2 finished after \d+\.\d s$/m);
  });

  it('--level auto for a Debian kernel installed but not running: compile, as for an RPM kernel', async () => {
    const t = standin('compile-ok');
    expect((await runVerify(t.ctx, { level: 'auto', kernel: R })).level).toBe('compile');
  });

  it('stap exiting 0 with no DWARF-resolved points: the same failure as for RPM kernels, naming the -dbg package', async () => {
    const t = standin('silent-ok');
    const e = await failure(runVerify(t.ctx, { level: 'resolve', kernel: R }));
    expect(e.detail.diagnoses.map((d) => d.code)).toEqual(['probe-points-unresolved']);
    expect(e.hint).toBe(`the debuginfo stap reads must be for exactly ${R} (kdebuginfo doctor compares build-ids); install linux-image-${R}-dbg: kdebuginfo install --kernel ${R}`);
  });
});

describe('verify --level compile for a Debian kernel: SystemTap 4.8\'s runtime is older than the kernel (real pass 4, replayed)', () => {
  const headline =
    `verify (compile) failed for ${R}: Pass 4 failed inside SystemTap 4.8's own runtime: runtime/stp_task_work.c no longer matches the kernel's task_work_cancel. ` +
    `The runtime is older than the kernel ${R} (SystemTap 4.8 was tested with kernels 2.6.32 ... 6.1.0-rc3); the debuginfo and the kernel headers are fine.`;
  const fix = "upgrade systemtap, systemtap-common and systemtap-runtime from 4.8 to a release that supports this kernel; the debuginfo and the kernel headers cannot fix this";

  it('exit 5: one sentence naming the runtime file and the kernel function it trips on, not the compiler\'s text', async () => {
    const t = standin('apt/stap-p4-runtime-too-old');
    const e = await failure(runVerify(t.ctx, { level: 'compile', kernel: R }));
    expect(e.exitCode).toBe(ExitCode.verifyFailed);
    expect(e.message).toBe(headline);
    expect(e.message).not.toMatch(/incompatible pointer type|\^~~~/);
    expect(e.hint).toBe(fix);
    // Debian ships the runtime sources in systemtap-common (dpkg -S /usr/share/systemtap/runtime/stp_task_work.c).
    expect(e.detail.diagnoses[0]).toMatchObject({ code: 'runtime-too-old', packages: ['systemtap', 'systemtap-common', 'systemtap-runtime'] });
    expect(t.calls().map((c) => c.argv.slice(0, 4))).toEqual([['-v', '-p4', '-r', R]]);
    expect(t.stderr()).toMatch(/^verify: stap pass 4 failed after \d+\.\d s$/m);
  });

  it('what install reports (verifyOutcome): ok false, the headline and its fix on one line', async () => {
    const t = standin('apt/stap-p4-runtime-too-old');
    expect(await verifyOutcome(t.ctx, { level: 'compile', kernel: R, os: 'debian:12' })).toEqual({ ok: false, detail: `${headline} Fix: ${fix}` });
  });
});

describe('explainDiagnosis in apt\'s names', () => {
  const debian = explainContextFor({ uname: R, root: '/', home: '/home/u', version: STAP });

  it('a missing build tree names linux-headers-R and the tree /lib/modules/R/build must point at (captured: no-build-tree)', () => {
    const [d] = diagnoseStapOutput(readCaptured('stap', 'no-build-tree').stderr, { release: R });
    expect(d?.code).toBe('devel-mismatch');
    expect(explainDiagnosis(d!, debian)).toMatchObject({
      packages: [`linux-headers-${R}`],
      fix: `install linux-headers-${R}: kdebuginfo install --kernel ${R}; /lib/modules/${R}/build must point at /usr/src/linux-headers-${R}`,
    });
  });

  it('an incomplete build tree: reinstall the headers with apt (captured: pass4-no-makefile)', () => {
    const [d] = diagnoseStapOutput(readCaptured('stap', 'pass4-no-makefile').stderr, { release: R });
    expect(explainDiagnosis(d!, debian).fix).toBe(`reinstall linux-headers-${R} (apt-get install --reinstall linux-headers-${R}); a tree copied by hand or a partly unpacked package gives this`);
  });

  it('missing debuginfo: Debian\'s -dbg; Ubuntu\'s -dbgsym from the ddebs archive (captured: missing-debuginfo)', () => {
    const [d] = diagnoseStapOutput(readCaptured('stap', 'missing-debuginfo').stderr);
    expect(d?.code).toBe('missing-debuginfo');
    expect(explainDiagnosis(d!, debian)).toMatchObject({ packages: [`linux-image-${R}-dbg`], fix: `install linux-image-${R}-dbg: kdebuginfo install --kernel ${R}` });
    const ubuntu = explainContextFor({ uname: UBUNTU, root: '/', home: '/home/u', version: STAP });
    expect(explainDiagnosis(d!, ubuntu)).toMatchObject({
      packages: [`linux-image-unsigned-${UBUNTU}-dbgsym`],
      fix: `install linux-image-unsigned-${UBUNTU}-dbgsym: kdebuginfo install --kernel ${UBUNTU}`,
    });
  });

  it('an image root: apt installs into the running system only, so the command runs inside it', () => {
    expect(explainContextFor({ uname: R, root: '/mnt/img', home: '/h', version: STAP }).install).toBe(`chroot /mnt/img kdebuginfo install --kernel ${R}`);
  });

  it('a custom kernel of neither family: stap\'s own fix, no package named', () => {
    const [d] = diagnoseStapOutput(readCaptured('stap', 'missing-debuginfo').stderr);
    const custom = explainContextFor({ uname: '6.18.44-fc-v595', root: '/', home: '/h', version: STAP });
    expect(custom.packages).toBeUndefined();
    expect(explainDiagnosis(d!, custom)).toMatchObject({ fix: d!.fix, packages: [] });
  });

  it('without stap on PATH, for a Debian kernel: apt-get install systemtap', async () => {
    const t = makeTestContext({ env: { PATH: join(work, 'empty-path') } });
    const e = await failure(runVerify(t.ctx, { level: 'resolve', kernel: R }));
    expect(e.hint).toBe('install SystemTap: apt-get install systemtap (then kdebuginfo doctor)');
  });
});
