#!/usr/bin/env node
// The README's quick start: the main job against the bundled fixture mirror, which stands in
// for debuginfo.centos.org, vault.centos.org and mirror.stream.centos.org on a local port.
// No root and no network needed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMirrorServer } from '../fixtures/mirror-server.mjs';
import { allSourceHosts } from '../dist/core/sources.js';

const top = fileURLToPath(new URL('..', import.meta.url));
const mirrorRoot = `${top}fixtures/mirror`;
const server = await startMirrorServer({ root: mirrorRoot });
// Every host the source table names is rewritten to the local server, so the demo never
// leaves this machine; hosts the fixture tree has no copy of answer 404 there.
const mirrors = allSourceHosts()
  .map((h) => `https://${h}=${server.url}/${h}`)
  .join(',');

// Asynchronous spawn: the server lives in this process and must keep answering.
const cli = (args) =>
  new Promise((resolve) => {
    console.error(`\n$ kdebuginfo ${args.join(' ')}`);
    const child = spawn(process.execPath, [`${top}bin/kdebuginfo.js`, ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, KDEBUGINFO_MIRROR: mirrors },
    });
    child.on('close', (code) => resolve(code ?? 1));
  });

// A scratch image root standing in for a fresh CentOS Stream 9 box: its os-release, the
// (test-only) key the fixture packages are signed with, and one installed kernel.
const scratch = mkdtempSync(join(tmpdir(), 'kdebuginfo-demo-'));
const root = join(scratch, 'root');
const kernel = '5.14.0-362.el9.x86_64';
mkdirSync(join(root, 'etc/pki/rpm-gpg'), { recursive: true });
mkdirSync(join(root, 'lib/modules', kernel), { recursive: true });
copyFileSync(`${top}fixtures/os-release/centos-stream-9`, join(root, 'etc/os-release'));
copyFileSync(`${top}fixtures/keys/RPM-GPG-KEY-kdebuginfo-test`, join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-kdebuginfo-test'));

let failed = 0;
try {
  failed |= await cli(['plan', '--root', root]);
  failed |= await cli(['resolve', '--root', root]);
  // The whole job; the second run finds everything present and changes nothing.
  failed |= await cli(['install', '--root', root, '--cache-dir', join(scratch, 'cache'), '--yes']);
  failed |= await cli(['install', '--root', root, '--cache-dir', join(scratch, 'cache'), '--yes', '--json']);
  // Another distro's kernel, planned and resolved from this machine.
  failed |= await cli(['resolve', '--kernel', '3.10.0-1160.119.1.el7.x86_64']);
} finally {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
}
console.error(failed ? '\ndemo: FAILED' : '\ndemo: ok');
process.exitCode = failed ? 1 : 0;
