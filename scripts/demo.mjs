#!/usr/bin/env node
// The README's quick start: the main job against the bundled fixture mirror, which stands in
// for debuginfo.centos.org, vault.centos.org and mirror.stream.centos.org on a local port.
// No root and no network needed.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startMirrorServer } from '../fixtures/mirror-server.mjs';

const top = fileURLToPath(new URL('..', import.meta.url));
const mirrorRoot = `${top}fixtures/mirror`;
const server = await startMirrorServer({ root: mirrorRoot });
// Every real host the fixture tree has a copy of is rewritten to the local server.
const mirrors = readdirSync(mirrorRoot, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name.includes('.'))
  .map((d) => `https://${d.name}=${server.url}/${d.name}`)
  .join(',');

const cli = (args) => {
  console.error(`\n$ kdebuginfo ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [`${top}bin/kdebuginfo.js`, ...args], {
    stdio: 'inherit',
    env: { ...process.env, KDEBUGINFO_MIRROR: mirrors },
  });
  return r.status ?? 1;
};

let failed = 0;
try {
  const kernel = '4.18.0-348.7.1.el8_5.x86_64';
  failed |= cli(['plan', '--kernel', kernel, '--os', 'centos:8']);
  failed |= cli(['resolve', '--kernel', kernel, '--os', 'centos:8']);
  failed |= cli(['resolve', '--kernel', '3.10.0-1160.119.1.el7.x86_64']);
} finally {
  await server.close();
}
console.error(failed ? '\ndemo: FAILED' : '\ndemo: ok');
process.exitCode = failed ? 1 : 0;
