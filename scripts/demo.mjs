#!/usr/bin/env node
// The README's quick start: the main job against the bundled fixture mirror, which stands in
// for debuginfo.centos.org, vault.centos.org and mirror.stream.centos.org on a local port.
// No root and no network needed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

let failed = 0;
try {
  const kernel = '4.18.0-348.7.1.el8_5.x86_64';
  failed |= await cli(['plan', '--kernel', kernel, '--os', 'centos:8']);
  failed |= await cli(['resolve', '--kernel', kernel, '--os', 'centos:8']);
  failed |= await cli(['resolve', '--kernel', '3.10.0-1160.119.1.el7.x86_64']);
} finally {
  await server.close();
}
console.error(failed ? '\ndemo: FAILED' : '\ndemo: ok');
process.exitCode = failed ? 1 : 0;
