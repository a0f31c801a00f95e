import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { buildDeb, dpkgInstall, kernelDebs } from '../support/deb-root.js';
import { kernelNotes } from '../support/kernel-notes.js';
import { FIXTURE_MIRROR_ROOT } from '../support/fixture-mirror.js';
import { createExec } from '../../src/io/exec.js';
import { recordInstall } from '../../src/io/install-record.js';

// `list` and `remove` on Debian image roots: real .debs built with dpkg-deb, installed with the
// real dpkg --root, so the status file (and its Installed-Size) is dpkg's own.

const R = '6.1.0-99-cloud-amd64';
const V = '6.1.500-1';
const V_OLD = '6.1.499-3';
const R2 = '6.1.0-100-cloud-amd64';
const BUILD_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f9001122334';
const OLD_BUILD_ID = '00112233445566778899aabbccddeeff00112233';

const work = mkdtempSync(join(tmpdir(), 'kdebuginfo-lifecycle-deb-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const exec = createExec({ env: { PATH: process.env.PATH, HOME: process.env.HOME }, dryRun: false });

function debRoot(name: string, debs: string[], running?: { release: string; buildId: string }): string {
  const root = join(work, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  copyFileSync(join(FIXTURE_MIRROR_ROOT, '..', 'os-release', 'debian-12'), join(root, 'etc/os-release'));
  dpkgInstall(root, debs);
  if (running) {
    mkdirSync(join(root, 'sys/kernel'), { recursive: true });
    writeFileSync(join(root, 'sys/kernel/notes'), kernelNotes(running.buildId, running.release));
    mkdirSync(join(root, 'proc/sys/kernel'), { recursive: true });
    writeFileSync(join(root, 'proc/sys/kernel/osrelease'), `${running.release}\n`);
  }
  return root;
}

let pkg: Record<'image' | 'debuginfo' | 'headers' | 'oldDebuginfo' | 'image2', string>;
beforeAll(() => {
  const cur = kernelDebs(R, V, { buildId: BUILD_ID });
  const old = kernelDebs(R, V_OLD, { buildId: OLD_BUILD_ID });
  pkg = {
    image: buildDeb(join(work, 'debs/cur'), cur.image),
    debuginfo: buildDeb(join(work, 'debs/cur'), cur.debuginfo),
    headers: buildDeb(join(work, 'debs/cur'), cur.headers),
    oldDebuginfo: buildDeb(join(work, 'debs/old'), old.debuginfo),
    image2: buildDeb(join(work, 'debs/r2'), kernelDebs(R2, '6.1.501-1', { buildId: BUILD_ID }).image),
  };
});

describe('list and remove on a Debian root (real dpkg)', () => {
  it('list: each kernel, its packages at the image\'s build, the running one proven by build-id, sizes from Installed-Size', async () => {
    const root = debRoot('ready', [pkg.image, pkg.debuginfo, pkg.headers, pkg.image2], { release: R, buildId: BUILD_ID });
    await recordInstall(exec, { root, family: 'deb', kernel: R, packages: [{ name: `linux-image-${R}-dbg`, key: `linux-image-${R}-dbg` }] });
    const r = await runCli(['list', '--root', root, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out).toMatchObject({ family: 'deb', running: R });
    expect(out.kernels.map((k: { kernel: string }) => k.kernel)).toEqual([R, R2]);
    const [k, k2] = out.kernels;
    expect(k).toMatchObject({ running: true, ready: true, status: 'ready', buildId: { debuginfo: BUILD_ID, running: BUILD_ID } });
    expect(k.packages.map((p: { role: string; name: string; version: string; byKdebuginfo: boolean }) => [p.role, p.name, p.version, p.byKdebuginfo])).toEqual([
      ['debuginfo', `linux-image-${R}-dbg`, V, true],
      ['devel', `linux-headers-${R}`, V, false],
    ]);
    // dpkg-deb writes no Installed-Size: the package's regular files in dpkg's list are counted (links are not).
    const bytes = (...paths: string[]) => paths.reduce((n, p) => n + statSync(join(root, p)).size, 0);
    expect(k.packages.map((p: { size: number }) => p.size)).toEqual([
      bytes(`usr/lib/debug/boot/vmlinux-${R}`),
      bytes(`usr/src/linux-headers-${R}/include/generated/utsrelease.h`, `usr/src/linux-headers-${R}/.config`),
    ]);
    expect(k.diskBytes).toBe(k.packages[0].size + k.packages[1].size);
    expect(k2).toMatchObject({ kernel: R2, status: 'none', ready: false, packages: [], diskBytes: 0 });
  });

  it('list: a debug package of another upload of the same ABI is a mismatch', async () => {
    const root = debRoot('other-build', [pkg.image, pkg.oldDebuginfo, pkg.headers]);
    const out = (await runCli(['list', '--root', root, '--json'])).json();
    expect(out.kernels[0]).toMatchObject({ kernel: R, running: false, status: 'mismatch', detail: `linux-image-${R}-dbg ${V_OLD} is not the kernel's build ${V}` });
  });

  it('remove takes what kdebuginfo installed with dpkg --remove and keeps the rest without --yes', async () => {
    const root = debRoot('remove', [pkg.image, pkg.debuginfo, pkg.headers]);
    await recordInstall(exec, { root, family: 'deb', kernel: R, packages: [{ name: `linux-image-${R}-dbg`, key: `linux-image-${R}-dbg` }] });
    const r = await runCli(['remove', '--root', root, '--kernel', R, '--json'], { isRoot: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ changed: true, removed: [{ key: `linux-image-${R}-dbg` }], kept: [{ key: `linux-headers-${R}`, reason: 'not installed by kdebuginfo' }] });
    const list = (await runCli(['list', '--root', root, '--json'])).json();
    expect(list.kernels[0].packages.map((p: { name: string }) => p.name)).toEqual([`linux-headers-${R}`]);
  });
});
