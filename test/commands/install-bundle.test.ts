import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tar from 'tar';
import { runCli } from '../support/cli.js';
import { startFixtureMirror } from '../support/fixture-mirror.js';
import { installedPackages, makeScratchRoot, nvrasFor, type ScratchRoot } from '../support/scratch-root.js';

const K = '5.14.0-362.el9.x86_64';
let work: string;
let bundle: string;
const roots: ScratchRoot[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kdebuginfo-bundle-install-'));
  bundle = join(work, 'k.tar.gz');
  // Made with the network (the fixture mirror), then the mirror is gone: the install below
  // can only have used the bundle.
  const mirror = await startFixtureMirror();
  try {
    const made = await runCli(['bundle', '--kernel', K, '--os', 'centos-stream:9', '-o', bundle, '--cache-dir', join(work, 'cache')], {
      env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv },
    });
    expect(made.code).toBe(0);
  } finally {
    await mirror.close();
  }
});
afterAll(async () => {
  for (const r of roots) await r.remove();
  rmSync(work, { recursive: true, force: true });
});

async function scratch(): Promise<ScratchRoot> {
  const s = await makeScratchRoot({ kernels: [K] });
  roots.push(s);
  return s;
}

// Every mirror points at a closed port: any network use would fail the install.
const offline = { KDEBUGINFO_MIRROR: 'https://mirror.stream.centos.org=http://127.0.0.1:9/none' };

describe('install --from-bundle', () => {
  it('installs from the bundle with no network, then finds everything present', async () => {
    const s = await scratch();
    const args = ['install', '--from-bundle', bundle, '--root', s.root, '--cache-dir', s.cache, '--json', '--package-manager', 'rpm'];
    const first = await runCli(args, { isRoot: true, env: offline });
    expect(first.code).toBe(0);
    const out = first.json();
    expect(out).toMatchObject({ changed: true, failed: false, rc: 0, msg: `installed 3 package(s) for ${K} from the bundle` });
    expect(out.kernel.uname).toBe(K);
    expect(out.os).toMatchObject({ id: 'centos-stream', version: '9' });
    expect(out.packages.map((p: any) => p.action)).toEqual(['installed', 'installed', 'installed']);
    expect(installedPackages(s.root)).toEqual(nvrasFor(K));

    const again = await runCli(args, { isRoot: true, env: offline });
    expect(again.code).toBe(0);
    expect(again.json()).toMatchObject({ changed: false, msg: `all 3 packages of the bundle for ${K} are already installed` });
  });

  it('refuses a bundle whose package was changed after it was made, naming the file and both digests', async () => {
    const unpacked = join(work, 'tampered');
    rmSync(unpacked, { recursive: true, force: true });
    await import('node:fs/promises').then((f) => f.mkdir(unpacked));
    await tar.x({ file: bundle, cwd: unpacked });
    const dir = `kdebuginfo-${K}`;
    const rpm = join(unpacked, dir, `kernel-devel-${K}.rpm`);
    const bytes = readFileSync(rpm);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    writeFileSync(rpm, bytes);
    const tampered = join(work, 'tampered.tar.gz');
    // Tarred again as kdebuginfo bundle writes it: manifest.json first.
    const rpms = ['kernel-debuginfo', 'kernel-debuginfo-common-x86_64', 'kernel-devel'].map((n) => `${n}-${K}.rpm`);
    const members = ['manifest.json', 'install.sh', ...rpms].map((f) => `${dir}/${f}`);
    await tar.c({ gzip: true, file: tampered, cwd: unpacked }, members);

    const s = await scratch();
    const r = await runCli(['install', '--from-bundle', tampered, '--root', s.root, '--cache-dir', s.cache], { isRoot: true, env: offline });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^kdebuginfo: --from-bundle ${tampered}: kernel-devel-${K.replace(/\./g, '\\.')}\\.rpm has sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}\\n`),
    );
    expect(r.stderr).toContain('hint: the bundle is damaged or was changed: make it again with kdebuginfo bundle');
    expect(installedPackages(s.root)).toEqual([]);
  });

  it('refuses a --kernel the bundle was not made for (exit 2)', async () => {
    const s = await scratch();
    const r = await runCli(['install', '--from-bundle', bundle, '--root', s.root, '--kernel', '5.14.0-360.el9.x86_64'], { isRoot: true, env: offline });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`kdebuginfo: --kernel 5.14.0-360.el9.x86_64 does not match the bundle, which was made for ${K}\n`);
  });

  it('says clearly when the file is not a bundle', async () => {
    const junk = join(work, 'junk.tar.gz');
    writeFileSync(junk, 'not a tarball');
    const s = await scratch();
    const r = await runCli(['install', '--from-bundle', junk, '--root', s.root], { isRoot: true, env: offline });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^kdebuginfo: --from-bundle ${junk}: not a readable \\.tar\\.gz bundle`));
  });
});
