import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';
import { REPO_TOP, ensureBuiltCli, installedPackages, makeScratchRoot, nvrasFor, type ScratchRoot } from '../support/scratch-root.js';

// examples/ansible run by real ansible-playbook (Debian's ansible-core) against localhost with
// the local connection. The "host" is a scratch image root (kdebuginfo_root) standing in for a
// fresh CentOS Stream 9 box, every real mirror is rewritten to the fixture mirror on a local port
// (kdebuginfo_mirrors), and kdebuginfo is this checkout's bin/kdebuginfo.js. Molecule's rules:
// the first run changes, the second changes nothing (changed=0 in the recap), check mode changes
// nothing while reporting what would change.
//
// The bundle-mode tests need `kdebuginfo bundle`, the gate `kdebuginfo doctor`: a CLI without
// them fails these tests.

const PLAYBOOK = join(REPO_TOP, 'examples/ansible/site.yml');
const PROVISION_SH = join(REPO_TOP, 'examples/packer/provision.sh');
const KERNEL = '5.14.0-362.el9.x86_64';
const INSTALL_TASK = "kdebuginfo : Install the kernel's debuginfo, debuginfo-common and devel packages";
const DOCTOR_TASK = 'kdebuginfo : Ask kdebuginfo doctor whether the host is ready';
const GATE_TASK = 'kdebuginfo : Stop unless the host is ready for SystemTap';
const BUNDLE_TASK = 'kdebuginfo : Bundle on the control node';
const INSTALL_SH_TASK = 'kdebuginfo : Install the bundle with its install.sh';
const BUNDLE_REPORT_TASK = 'kdebuginfo : Show what the bundle did';

const hasProgram = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;

let mirror: FixtureMirror;
let cli: string;
let work: string;
/** The commands this checkout's CLI has (`kdebuginfo --help`). */
let commands: Set<string>;
const scratches: ScratchRoot[] = [];

// Not a skip: CI installs it (.ci/run), and a machine without it must not pass these tests silently.
const ANSIBLE_MISSING =
  "ansible-playbook is not on PATH: these tests run the role with real Ansible. Install Debian's ansible-core: " +
  'apt-get install -y --no-install-recommends ansible-core (.ci/run does this on a new machine)';
let hasAnsible = false;

beforeAll(async () => {
  hasAnsible = hasProgram('ansible-playbook');
  [mirror, cli] = await Promise.all([startFixtureMirror(), ensureBuiltCli()]);
  work = await mkdtemp(join(tmpdir(), 'kdebuginfo-ansible-'));
  // Ansible's own state (~/.ansible, its temp files) and kdebuginfo's download cache (as root,
  // /var/cache/kdebuginfo) all go under `work`, so a run leaves nothing behind.
  for (const d of ['home', 'ansible-local', 'ansible-remote', 'host-cache', 'control-cache']) await mkdir(join(work, d));
  await writeFile(join(work, 'ansible.cfg'), '# empty: neither /etc/ansible/ansible.cfg nor ~/.ansible.cfg applies\n');
  const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  commands = new Set([...help.stdout.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]!));
}, 120_000);

afterAll(async () => {
  await mirror?.close();
  for (const s of scratches) await s.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

interface PlaybookRun {
  code: number | null;
  output: string;
  recap: { ok: number; changed: number; failed: number; skipped: number };
  /** Each task's status for localhost: ok, changed, skipping, fatal, included. */
  tasks: Map<string, string>;
}

/**
 * examples/ansible/site.yml with the default callback, read as Molecule reads it: the PLAY RECAP
 * line and each TASK block's status. Asynchronous: the fixture mirror lives in this process.
 */
async function runPlaybook(vars: Record<string, unknown>, opts: { check?: boolean; cache: string }): Promise<PlaybookRun> {
  if (!hasAnsible) throw new Error(ANSIBLE_MISSING);
  const varsFile = join(work, `vars-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(
    varsFile,
    JSON.stringify({
      ansible_become: false, // the play asks for sudo; the test already runs as the user it needs
      kdebuginfo_bin: [process.execPath, cli], // an argv list: the checkout's path may hold blanks
      kdebuginfo_mirrors: mirror.mirrorEnv.split(','),
      kdebuginfo_doctor_gate: true,
      ...vars,
    }),
  );
  const args = ['-i', 'localhost,', '-c', 'local', PLAYBOOK, '-e', `@${varsFile}`, ...(opts.check ? ['--check'] : [])];
  const env = {
    PATH: process.env.PATH,
    HOME: join(work, 'home'),
    LC_ALL: 'C.UTF-8', // ansible-core refuses a locale that is not UTF-8
    ANSIBLE_CONFIG: join(work, 'ansible.cfg'),
    ANSIBLE_LOCAL_TEMP: join(work, 'ansible-local'),
    ANSIBLE_REMOTE_TEMP: join(work, 'ansible-remote'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_STDOUT_CALLBACK: 'default',
    ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
    // Inherited by the modules (local connection), so by kdebuginfo on the "host" and on the
    // "control node" alike.
    KDEBUGINFO_CACHE_DIR: opts.cache,
  };
  const child = spawn('ansible-playbook', args, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  await rm(varsFile, { force: true });

  const recap = /^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)\s+skipped=(\d+)/m.exec(output);
  if (!recap) throw new Error(`no PLAY RECAP in ansible-playbook's output (exit ${code}):\n${output}`);
  const [ok, changed, failed, skipped] = recap.slice(1).map(Number) as [number, number, number, number];
  const tasks = new Map<string, string>();
  for (const block of output.split(/^TASK \[/m).slice(1)) {
    const status = /^(ok|changed|skipping|fatal|failed|included):/m.exec(block);
    tasks.set(block.slice(0, block.indexOf(']')), status?.[1] ?? 'unknown');
  }
  return { code, output, recap: { ok, changed, failed, skipped }, tasks };
}

async function scratchRoot(): Promise<ScratchRoot> {
  const s = await makeScratchRoot({ kernels: [KERNEL] });
  scratches.push(s);
  return s;
}

/**
 * What doctor looks for in an image root besides the three packages: stap, gcc and make (it only
 * checks that the image has them, so these are stand-ins that say so) and the
 * lib/modules/<R>/build link the kernel package would make.
 */
async function addToolchainStandIns(s: ScratchRoot): Promise<void> {
  await mkdir(join(s.root, 'usr/bin'), { recursive: true });
  for (const tool of ['stap', 'gcc', 'make']) {
    const path = join(s.root, 'usr/bin', tool);
    await writeFile(path, '#!/bin/sh\n# STAND-IN: doctor only checks that the image has this program\nexit 1\n');
    await chmod(path, 0o755);
  }
  await symlink(`/usr/src/kernels/${KERNEL}`, join(s.root, 'lib/modules', KERNEL, 'build'));
}

// rpm's database in a root sits under the root at ~/.rpmdb on Debian: query with the runs' HOME.
/** Fail first, naming the apt package, when Ansible is missing; a missing CLI command fails too. */
function needsCommand(_ctx: unknown, command: string): void {
  if (!hasAnsible) throw new Error(ANSIBLE_MISSING);
  if (!commands.has(command)) throw new Error(`the CLI has no ${command} command`);
}

// Keys imported into a root's rpm database are packages too (gpg-pubkey-*): not counted here.
const installed = (s: ScratchRoot) => installedPackages(s.root, join(work, 'home')).filter((n) => !n.startsWith('gpg-pubkey-'));

/**
 * What a real host has before the role runs: its distro's key in the rpm database (yum or dnf
 * imported it on the first install from its repos), which install.sh checks the bundle's
 * signatures against. Here the fixture test key that signs the mirror, with the runs' HOME (Debian's
 * rpm keeps a root's database at <root>/~/.rpmdb).
 */
function trustTestKey(s: ScratchRoot): void {
  const r = spawnSync('rpm', ['--root', s.root, '--import', join(s.root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-kdebuginfo-test')], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: join(work, 'home'), LC_ALL: 'C' },
  });
  if (r.status !== 0) throw new Error(`rpm --root ${s.root} --import exited ${r.status}: ${r.stderr}`);
}
const explain = (r: PlaybookRun) => `ansible-playbook exited ${r.code}:\n${r.output}`;

// The two suites run side by side (each with its own download cache); the runs within each one
// depend on each other and run in order.
describe.concurrent('examples/ansible on a host that runs kdebuginfo (auto mode picks the host)', () => {
  let box: ScratchRoot;
  const cache = () => join(work, 'host-cache');
  beforeAll(async () => {
    box = await scratchRoot();
    await addToolchainStandIns(box);
  });

  it.sequential('first run: installs the three packages, the install task reports changed, doctor lets it through', async () => {
    const r = await runPlaybook({ kdebuginfo_root: box.root }, { cache: cache() });
    expect(r.code, explain(r)).toBe(0);
    expect(r.output).toMatch(/"msg": "on the host \(kdebuginfo \d+\.\d+\.\d+\S* runs on the host\)"/);
    expect(r.tasks.get(INSTALL_TASK)).toBe('changed');
    expect(r.recap).toMatchObject({ changed: 1, failed: 0 });
    expect(r.output).toContain(`"installed 3 package(s) for ${KERNEL}"`);
    expect(installed(box)).toEqual(nvrasFor(KERNEL));
    expect(r.tasks.get(DOCTOR_TASK)).toBe('ok');
    expect(r.tasks.get(GATE_TASK)).toBe('skipping');
  });

  it.sequential('second run: nothing changed (changed=0), everything reported present', async () => {
    const r = await runPlaybook({ kdebuginfo_root: box.root }, { cache: cache() });
    expect(r.code, explain(r)).toBe(0);
    expect(r.tasks.get(INSTALL_TASK)).toBe('ok');
    expect(r.recap).toMatchObject({ changed: 0, failed: 0 });
    expect(r.output).toContain(`"present kernel-devel-${KERNEL}.rpm"`);
    expect(installed(box)).toEqual(nvrasFor(KERNEL));
  });

  it.sequential('check mode on a fresh box: reports the install would change, installs and downloads nothing', async () => {
    const fresh = await scratchRoot();
    const cacheBefore = await readdir(cache(), { recursive: true });
    const r = await runPlaybook({ kdebuginfo_root: fresh.root }, { check: true, cache: cache() });
    expect(r.code, explain(r)).toBe(0);
    expect(r.tasks.get(INSTALL_TASK)).toBe('changed');
    expect(r.recap).toMatchObject({ changed: 1, failed: 0 });
    expect(r.output).toContain(`"would-install kernel-debuginfo-${KERNEL}.rpm"`);
    // Doctor could only say "not ready" before anything is installed: the gate waits for a real run.
    expect(r.tasks.get('kdebuginfo : Gate on kdebuginfo doctor')).toBe('skipping');
    expect(installed(fresh)).toEqual([]);
    expect(await readdir(cache(), { recursive: true })).toEqual(cacheBefore);
  });

  it.sequential("a kernel on no mirror fails the install task with kdebuginfo's message, and changes nothing", async () => {
    const fresh = await scratchRoot();
    const r = await runPlaybook({ kdebuginfo_root: fresh.root, kdebuginfo_kernel: '5.14.0-1.el9.x86_64' }, { cache: cache() });
    expect(r.code).toBe(2); // ansible-playbook: a host failed
    expect(r.tasks.get(INSTALL_TASK)).toBe('fatal');
    expect(r.recap).toMatchObject({ changed: 0, failed: 1 });
    expect(r.output).toContain('"rc": 3');
    expect(r.output).toContain('kdebuginfo: not found on any mirror: kernel-debuginfo-5.14.0-1.el9.x86_64.rpm');
    expect(installed(fresh)).toEqual([]);
  });

  it.sequential("the doctor gate fails a box that is not ready, naming each failing check's fix", async (ctx) => {
    needsCommand(ctx, 'doctor');
    const bare = await scratchRoot(); // the packages get installed, but no stap, gcc, make or build link
    const r = await runPlaybook({ kdebuginfo_root: bare.root }, { cache: cache() });
    expect(r.code).toBe(2);
    expect(r.tasks.get(INSTALL_TASK)).toBe('changed');
    expect(r.tasks.get(DOCTOR_TASK)).toBe('ok');
    expect(r.tasks.get(GATE_TASK)).toBe('fatal');
    expect(r.recap).toMatchObject({ changed: 1, failed: 1 });
    expect(r.output).toContain(`"kdebuginfo doctor: not ready for SystemTap on ${KERNEL}:"`);
    expect(r.output).toMatch(/"SystemTap: [^"]* -> fix: [^"]*install systemtap/);
    expect(installed(bare)).toEqual(nvrasFor(KERNEL));
  });
});

describe.concurrent('examples/ansible on a host that cannot run kdebuginfo (auto mode bundles on the control node)', () => {
  let box: ScratchRoot;
  const cache = () => join(work, 'control-cache');
  const bundleVars = (root: string, bundleDir: string) => ({
    kdebuginfo_root: root,
    // What the host has instead of a kdebuginfo that runs (CentOS 7: no Node.js 20).
    kdebuginfo_bin: [join(work, 'no-node-here', 'kdebuginfo')],
    kdebuginfo_control_bin: [process.execPath, cli],
    kdebuginfo_os: 'centos-stream:9', // an image root's distro is not in the host's facts
    kdebuginfo_bundle_dir: bundleDir,
    kdebuginfo_bundle_remote_dir: join(work, 'remote'),
  });
  beforeAll(async () => {
    box = await scratchRoot();
    trustTestKey(box);
  });

  it.sequential('first run: bundles on the control node, installs with install.sh, leaves no unpacked copy', async (ctx) => {
    needsCommand(ctx, 'bundle');
    const r = await runPlaybook(bundleVars(box.root, join(work, 'bundles')), { cache: cache() });
    expect(r.code, explain(r)).toBe(0);
    expect(r.output).toContain('"msg": "with a bundle made on the control node (');
    expect(r.tasks.get(BUNDLE_TASK)).toBe('changed');
    expect(r.tasks.get(INSTALL_SH_TASK)).toBe('changed');
    expect(r.recap.failed).toBe(0);
    expect(installed(box)).toEqual(nvrasFor(KERNEL));
    expect(await readdir(join(work, 'bundles'))).toEqual([`kdebuginfo-${KERNEL}-centos-stream9.tar.gz`]);
    expect(await readdir(join(work, 'remote'))).toEqual([]);
  });

  it.sequential('second run: nothing changed (changed=0), nothing bundled or copied', async (ctx) => {
    needsCommand(ctx, 'bundle');
    const r = await runPlaybook(bundleVars(box.root, join(work, 'bundles')), { cache: cache() });
    expect(r.code, explain(r)).toBe(0);
    expect(r.tasks.get(BUNDLE_TASK)).toBe('skipping');
    expect(r.tasks.get(INSTALL_SH_TASK)).toBe('skipping');
    expect(r.recap).toMatchObject({ changed: 0, failed: 0 });
    expect(r.output).toContain(`"all 3 packages for ${KERNEL} are already installed"`);
  });

  it.sequential('check mode on a fresh box: finds the packages on the mirrors, reports it would bundle and install, writes and installs nothing', async (ctx) => {
    needsCommand(ctx, 'bundle');
    const fresh = await scratchRoot();
    const r = await runPlaybook(bundleVars(fresh.root, join(work, 'bundles-check')), { check: true, cache: cache() });
    expect(r.code, explain(r)).toBe(0);
    expect(r.tasks.get('kdebuginfo : Find the packages on the mirrors from the control node (check mode)')).toBe('ok');
    expect(r.tasks.get(BUNDLE_TASK)).toBe('skipping');
    expect(r.tasks.get(BUNDLE_REPORT_TASK)).toBe('changed');
    expect(r.recap).toMatchObject({ changed: 1, failed: 0 });
    expect(r.output).toContain(`"would-install kernel-devel-${KERNEL}.rpm"`);
    expect(installed(fresh)).toEqual([]);
    expect(existsSync(join(work, 'bundles-check'))).toBe(false);
  });

  it.sequential("a box whose rpm database lacks the signing key: install.sh refuses, the task fails naming the files, nothing is installed", async (ctx) => {
    needsCommand(ctx, 'bundle');
    const untrusting = await scratchRoot(); // the key file is in etc/pki/rpm-gpg, but never imported
    const r = await runPlaybook(
      { ...bundleVars(untrusting.root, join(work, 'bundles')), kdebuginfo_bundle_remote_dir: join(work, 'remote-untrusting') },
      { cache: cache() },
    );
    expect(r.code).toBe(2);
    expect(r.tasks.get(INSTALL_SH_TASK)).toBe('fatal');
    expect(r.recap.failed).toBe(1);
    for (const nevra of nvrasFor(KERNEL)) expect(r.output).toContain(`install.sh: ${nevra}.rpm: NOT OK (MISSING KEYS: bbdfec8a)`);
    expect(r.output).toContain('hint: or pass --nogpgcheck to install them anyway');
    expect(installed(untrusting)).toEqual([]);
  });
});

describe('examples/packer', () => {
  it('provision.sh is POSIX sh (sh -n) and passes shellcheck where it is installed', () => {
    const syntax = spawnSync('sh', ['-n', PROVISION_SH], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    if (hasProgram('shellcheck')) {
      const lint = spawnSync('shellcheck', ['-s', 'sh', PROVISION_SH], { encoding: 'utf8' });
      expect(lint.status, lint.stdout).toBe(0);
    }
  });
});
