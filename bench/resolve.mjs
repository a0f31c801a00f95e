#!/usr/bin/env node
// bench/resolve: find one package in a primary.xml.gz of N packages (default 50,000; the target
// is the LAST package, so the whole file is read), served from a loopback HTTP server.
// Prints wall time and peak RSS of kdebuginfo's resolver beside `dnf repoquery` on the same repo
// in the same run, and the resolver again at 4x the packages to show memory does not grow with
// the file. Usage: npm run build && node bench/resolve.mjs [N]
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startMirrorServer } from '../fixtures/mirror-server.mjs';

const N = Number(process.argv[2] ?? 50_000);
const TARGET = { name: 'kernel-debuginfo', version: '3.10.0', release: '1160.119.1.el7', arch: 'x86_64' };
const top = fileURLToPath(new URL('..', import.meta.url));

function packageXml(i, p) {
  const name = p?.name ?? `pkg${i}-debuginfo`;
  const ver = p?.version ?? `${1 + (i % 7)}.${i % 13}.${i % 101}`;
  const rel = p?.release ?? `${1 + (i % 50)}.el7`;
  const arch = p?.arch ?? (i % 5 === 0 ? 'noarch' : 'x86_64');
  const file = `${name}-${ver}-${rel}.${arch}.rpm`;
  const sum = createHash('sha256').update(file).digest('hex');
  return `<package type="rpm">
  <name>${name}</name>
  <arch>${arch}</arch>
  <version epoch="0" ver="${ver}" rel="${rel}"/>
  <checksum type="sha256" pkgid="YES">${sum}</checksum>
  <summary>Debug information for package ${name}</summary>
  <description>This package provides debug information for package ${name}.
Debug information is useful when developing applications that use this
package or when debugging this package.</description>
  <packager>CentOS BuildSystem &lt;http://bugs.centos.org&gt;</packager>
  <url>https://example.org/${name}</url>
  <time file="1700000000" build="1699990000"/>
  <size package="${10000 + i}" installed="${40000 + i}" archive="${41000 + i}"/>
  <location href="${file}"/>
  <format>
    <rpm:license>GPLv2</rpm:license>
    <rpm:vendor>CentOS</rpm:vendor>
    <rpm:group>Development/Debug</rpm:group>
    <rpm:buildhost>x86-01.bsys.centos.org</rpm:buildhost>
    <rpm:sourcerpm>${name.replace(/-debuginfo$/, '')}-${ver}-${rel}.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="12345"/>
    <rpm:provides>
      <rpm:entry name="${name}" flags="EQ" epoch="0" ver="${ver}" rel="${rel}"/>
      <rpm:entry name="${name}(x86-64)" flags="EQ" epoch="0" ver="${ver}" rel="${rel}"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="${name.replace(/-debuginfo$/, '')}-debuginfo-common-x86_64" flags="EQ" epoch="0" ver="${ver}" rel="${rel}"/>
    </rpm:requires>
  </format>
</package>
`;
}

const benchRoot = mkdtempSync(join(tmpdir(), 'kdebuginfo-bench-'));

function buildRepo(n) {
  const dir = join(benchRoot, `repo-${n}`);
  mkdirSync(join(dir, 'repodata'), { recursive: true });
  const parts = [`<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${n}">\n`];
  for (let i = 0; i < n - 1; i++) parts.push(packageXml(i));
  parts.push(packageXml(n - 1, TARGET), '</metadata>\n');
  const xml = Buffer.from(parts.join(''));
  const gz = gzipSync(xml);
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  const primaryName = `${sha(gz)}-primary.xml.gz`;
  writeFileSync(join(dir, 'repodata', primaryName), gz);
  const now = Math.floor(Date.now() / 1000);
  writeFileSync(
    join(dir, 'repodata', 'repomd.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>${now}</revision>
  <data type="primary">
    <checksum type="sha256">${sha(gz)}</checksum>
    <open-checksum type="sha256">${sha(xml)}</open-checksum>
    <location href="repodata/${primaryName}"/>
    <timestamp>${now}</timestamp>
    <size>${gz.length}</size>
    <open-size>${xml.length}</open-size>
  </data>
</repomd>
`,
  );
  return { dir, gzBytes: gz.length, xmlBytes: xml.length };
}

/** Run a command, returning wall seconds and peak RSS (KiB) from GNU time. */
function measure(argv, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'KDEBUGINFO_TIME %e %M', ...argv], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const m = /KDEBUGINFO_TIME ([\d.]+) (\d+)/.exec(err);
      if (code !== 0 || !m) reject(new Error(`${argv.join(' ')} failed (${code}):\n${err}\n${out}`));
      else resolve({ seconds: Number(m[1]), rssMiB: Number(m[2]) / 1024, stdout: out });
    });
  });
}

const ours = (url, heapMiB) => [
  process.execPath,
  ...(heapMiB ? [`--max-old-space-size=${heapMiB}`] : []),
  '--input-type=module',
  '-e',
  `import { resolvePackages } from '${top}dist/core/resolver.js';
   import { createMirrorClient } from '${top}dist/io/mirror-client.js';
   import { createHttpClient } from '${top}dist/io/http.js';
   const spec = ${JSON.stringify({ role: 'debuginfo', ...TARGET, file: `${TARGET.name}-${TARGET.version}-${TARGET.release}.${TARGET.arch}.rpm` })};
   const http = await createHttpClient({ userAgent: 'kdebuginfo-bench', env: {} });
   const r = await resolvePackages([{ ...spec, candidates: [], locations: [{ repo: '${url}/', packages: '', label: 'bench', repodata: true }] }], createMirrorClient(http));
   if (r.packages.length !== 1) { console.error(JSON.stringify(r.attempts)); process.exit(1); }
   console.log(r.packages[0].url);`,
];

const dnf = (url, cache) => [
  'dnf', '-q', '--setopt=reposdir=/nonexistent', `--setopt=cachedir=${cache}`, '--releasever=7',
  `--repofrompath=bench,${url}/`, '--repo=bench', '--setopt=bench.gpgcheck=0',
  'repoquery', '--location', `${TARGET.name}-${TARGET.version}-${TARGET.release}.${TARGET.arch}`,
];

const server = await startMirrorServer({ root: benchRoot });
const results = [];
try {
  for (const n of [N, N * 4]) {
    const repo = buildRepo(n);
    const url = `${server.url}/repo-${n}`;
    const o = await measure(ours(url));
    if (!o.stdout.includes(`${TARGET.name}-${TARGET.version}`)) throw new Error(`resolver found: ${o.stdout}`);
    // Proof that memory does not grow with the file: the same scan with the V8 heap capped.
    const capped = await measure(ours(url, 24));
    let d;
    if (n === N) {
      const cache = mkdtempSync(join(tmpdir(), 'kdebuginfo-bench-dnf-'));
      d = await measure(dnf(url, cache));
      if (!d.stdout.includes(`${TARGET.name}-${TARGET.version}`)) throw new Error(`dnf found: ${d.stdout}`);
      rmSync(cache, { recursive: true, force: true });
    }
    results.push({ n, repo, o, d, capped });
    rmSync(repo.dir, { recursive: true, force: true });
  }
} finally {
  await server.close();
  rmSync(benchRoot, { recursive: true, force: true });
}

const dnfVersion = execFileSync('dnf', ['--version'], { encoding: 'utf8' }).split('\n')[0];
console.log(`bench/resolve: one package, the last of N, in primary.xml.gz over loopback HTTP (dnf ${dnfVersion})`);
for (const { n, repo, o, d, capped } of results) {
  console.log(`  N=${n} (${(repo.gzBytes / 2 ** 20).toFixed(1)} MiB gz, ${(repo.xmlBytes / 2 ** 20).toFixed(1)} MiB xml)`);
  console.log(`    kdebuginfo resolver   ${o.seconds.toFixed(2)} s   peak RSS ${o.rssMiB.toFixed(0)} MiB`);
  console.log(`    same, V8 heap capped at 24 MiB  ${capped.seconds.toFixed(2)} s   peak RSS ${capped.rssMiB.toFixed(0)} MiB`);
  if (d) {
    console.log(`    dnf repoquery         ${d.seconds.toFixed(2)} s   peak RSS ${d.rssMiB.toFixed(0)} MiB`);
    console.log(`    ratio (ours/dnf)      time ${(o.seconds / d.seconds).toFixed(2)}   RSS ${(o.rssMiB / d.rssMiB).toFixed(2)}`);
  }
}
const [a, b] = results;
console.log(`  peak RSS with 4x the packages: ${(b.o.rssMiB / a.o.rssMiB).toFixed(2)}x (heap capped: ${(b.capped.rssMiB / a.capped.rssMiB).toFixed(2)}x; 1.00 = flat)`);
