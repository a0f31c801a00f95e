/**
 * The probe a bundle's install.sh runs is `kdebuginfo verify`'s own: bundles made by the real
 * `kdebuginfo bundle` (RPM from the fixture mirror; Debian from a local signed apt repository)
 * carry forkProbeScript() and the workload byte for byte, and their probe section, run with the
 * STAND-IN stap (test/support/bin-standin-stap/: no module can be loaded here), passes only when
 * the probe's ready line names the pid that forked and the workload's children slept.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkProbeScript, workloadScript } from '../../src/core/fork-probe.js';
import { runCli } from '../support/cli.js';
import { startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';
import { makeAptEnv, startAptRepo, type AptRepo } from '../support/apt-repo.js';
import { hereDocument, probeSection, runProbeSection } from '../support/install-sh-probe.js';

const RPM_KERNEL = '4.18.0-348.7.1.el8_5.x86_64';
const DEB_KERNEL = '6.1.0-99-cloud-amd64';
const PROBE = forkProbeScript();
const WORKLOAD = workloadScript({ waitForStdinLine: false });

const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
const isDebian12Host = /^ID=debian$/m.test(osRelease) && /^VERSION_ID="?12"?$/m.test(osRelease);

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kdebuginfo-bundle-probe-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** install.sh out of the bundle at `bundle`. */
function installShOf(bundle: string, kernel: string): string {
  const to = mkdtempSync(join(work, 'x-'));
  const untar = spawnSync('tar', ['xzf', bundle, '-C', to], { encoding: 'utf8' });
  if (untar.status !== 0) throw new Error(`tar xzf: ${untar.stderr}`);
  return readFileSync(join(to, `kdebuginfo-${kernel}`, 'install.sh'), 'utf8');
}

/** The assertions both templates must pass. */
function probeSectionBehaves(script: () => string, kernel: string) {
  it('embeds forkProbeScript() and the workload (no stdin wait) byte for byte', () => {
    expect(hereDocument(script(), 'KDEBUGINFO_PROBE_END')).toBe(PROBE);
    expect(hereDocument(script(), 'KDEBUGINFO_WORKLOAD_END')).toBe(WORKLOAD);
    expect(WORKLOAD).not.toContain('read -r');
    // Nothing else: the old placeholder probe is gone.
    expect(script().match(/kernel\.function\("kernel_clone"\)/g)).toHaveLength(1);
  });

  it('running kernel, root: stap -c \'sh WORKLOAD\' SCRIPT; the ready line\'s pid forked and its children slept: exit 0', () => {
    const r = runProbeSection(script(), { mode: 'run-ok', work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls).toHaveLength(1);
    const [call] = r.calls;
    const [flag, command, scriptPath] = call!.argv;
    expect(flag).toBe('-c');
    expect(command).toMatch(/^sh \/\S+\/kdebuginfo-probe\.\w+\/kdebuginfo-work$/);
    expect(scriptPath).toBe(`${command!.slice(3, -'kdebuginfo-work'.length)}kdebuginfo-fork-probe.stp`);
    expect(call!.argv).toHaveLength(3);
    // What stap got is what verify runs, byte for byte.
    expect(call!.script).toBe(PROBE);
    const pid = /install\.sh: probe: KDEBUGINFO ready target=(\d+)\n/.exec(r.stderr)?.[1];
    expect(pid).toBeDefined();
    expect(r.stderr.match(new RegExp(`^install\\.sh: probe: KDEBUGINFO fork pid=${pid} `, 'gm'))).toHaveLength(3);
    expect(r.stderr).toContain(`install.sh: the probe saw the workload (pid ${pid}) fork and its children sleep: SystemTap works on ${release()}\n`);
    expect(r.leftInTmp).toEqual([]);
  });

  it('a probe that arms but never sees the workload fork: exit 5, saying so', () => {
    const r = runProbeSection(script(), { mode: 'run-blind', work });
    expect(r.code).toBe(5);
    const pid = /KDEBUGINFO ready target=(\d+)/.exec(r.stderr)?.[1];
    expect(r.stderr).toContain(
      `install.sh: the probe did not see its workload (pid ${pid}) fork: the fork-path function did not fire for it; the debuginfo may be from another build (kdebuginfo doctor compares build-ids)\n`,
    );
    expect(r.stderr).not.toContain('SystemTap works');
    expect(r.leftInTmp).toEqual([]);
  });

  it('stap itself failing (real stap 4.8 as a normal user, replayed): exit 5 with stap\'s own message above', () => {
    const r = runProbeSection(script(), { mode: 'non-root', work });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('You are trying to run systemtap as a normal user.');
    expect(r.stderr).toContain("install.sh: stap failed (exit 1): the probe did not run; stap's messages are above\n");
  });

  it('a kernel that is not running: compile-only, stap -p4 -r KERNEL with the same script', () => {
    const r = runProbeSection(script(), { mode: 'compile-ok', work, kernel });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls.map((c) => c.argv.slice(0, 3))).toEqual([['-p4', '-r', kernel]]);
    expect(r.calls[0]!.script).toBe(PROBE);
    expect(r.stderr).toContain(`install.sh: probe compiled for ${kernel}\n`);
  });

  it('not root: compile-only, stap -p4 with the same script', () => {
    const r = runProbeSection(script(), { mode: 'compile-ok', work, asRoot: false });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls.map((c) => c.argv.slice(0, 1))).toEqual([['-p4']]);
    expect(r.calls[0]!.script).toBe(PROBE);
    expect(r.stderr).toContain('install.sh: not root: compile-only check, stap -p4\n');
  });
}

describe('an RPM bundle\'s install.sh probe (kdebuginfo bundle from the fixture mirror)', () => {
  let mirror: FixtureMirror;
  let script = '';
  beforeAll(async () => {
    mirror = await startFixtureMirror();
    const out = join(work, 'rpm.tar.gz');
    const home = join(work, 'home-rpm');
    mkdirSync(home);
    const made = await runCli(['bundle', '--kernel', RPM_KERNEL, '--os', 'centos:8', '-o', out, '--cache-dir', join(work, 'cache-rpm'), '--json'], {
      env: { HOME: home, KDEBUGINFO_MIRROR: mirror.mirrorEnv },
    });
    if (made.code !== 0) throw new Error(made.stderr);
    script = installShOf(out, RPM_KERNEL);
  });
  afterAll(() => mirror?.close());

  it('the section starts where the template says and stops at --root before any probe', () => {
    expect(probeSection(script)).toMatch(/^# 5\. Prove it/);
    expect(probeSection(script).indexOf('if [ -n "$ROOT" ]')).toBeLessThan(probeSection(script).indexOf('mktemp -d'));
  });
  probeSectionBehaves(() => script, RPM_KERNEL);
});

describe.skipIf(!isDebian12Host)('a Debian bundle\'s install.sh probe (kdebuginfo bundle from a local signed apt repository)', () => {
  let repo: AptRepo;
  let script = '';
  beforeAll(async () => {
    repo = await startAptRepo({ release: DEB_KERNEL, version: '6.1.500-1', work });
    const apt = await makeAptEnv(work, repo.sourceLine);
    const out = join(work, 'deb.tar.gz');
    const made = await runCli(['bundle', '--kernel', DEB_KERNEL, '--os', 'debian:12', '-o', out, '--cache-dir', join(work, 'cache-deb'), '--json'], { env: apt.env });
    if (made.code !== 0) throw new Error(made.stderr);
    script = installShOf(out, DEB_KERNEL);
  });
  afterAll(() => repo?.close());

  it('the section starts where the template says', () => {
    expect(probeSection(script)).toMatch(/^# 4\. Prove it/);
  });
  probeSectionBehaves(() => script, DEB_KERNEL);
});
