#!/usr/bin/env node
// bench/download: kdebuginfo's download engine beside curl on the same ~1 GiB package set, from
// the fixture mirror server on loopback, in the same run.
//
//   npm run build && node bench/download.mjs [--rounds N] [--data DIR] [--keep-data] [--base-url URL]
//
// --base-url: fetch from another server that serves DIR at URL (e.g. nginx on loopback) instead
// of starting the fixture mirror server; with --data DIR, the files are made there for it. The
// fixture server reads 16 KiB at a time and can be the bottleneck for both clients; a faster
// server shows each client's own cost.
//
// Three random files (600 + 300 + 100 MiB, the shape of debuginfo + common + devel) are made once
// in DIR (default $TMPDIR/kdebuginfo-bench-download; reused while their sizes match, removed at
// the end unless --keep-data). Each round, alternately:
//   - curl: three `curl -sS -o FILE URL` at once (as `parallel 3` does), no verification;
//   - engine: `downloadVerified` from dist/ in a child node process, 3 at once, with the sha256
//     of each file checked (hashed while streaming, as in real use) and renamed into place.
// Both run under /usr/bin/time, which gives the peak RSS of the largest process of each (the
// node process; the biggest curl) and CPU seconds (user + sys, all processes). Wall time is
// measured around the whole child, node start-up included. Prints the median of N rounds
// (default 3; peak RSS: the largest seen) and the ratios. On a loaded machine wall times swing;
// the CPU ratio is the steadier measure of what the client costs.
// Targets (issue 3): engine wall time within 10% of curl; engine peak RSS under 150 MB.
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync, createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MiB = 1024 * 1024;
const SIZES = [600, 300, 100];
const top = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};

if (args[0] === '--child') {
  await child(JSON.parse(args[1]));
} else {
  await parent();
}

/** The engine's side: one downloadVerified call, as `kdebuginfo download` makes it. */
async function child(cfg) {
  const { downloadVerified } = await import(new URL('../dist/io/download.js', import.meta.url).href);
  const { createExec } = await import(new URL('../dist/io/exec.js', import.meta.url).href);
  const t0 = process.hrtime.bigint();
  const files = await downloadVerified(cfg.items, {
    cacheDir: cfg.cacheDir,
    exec: createExec({ env: process.env, dryRun: false }),
    userAgent: 'kdebuginfo-bench',
    env: {},
    parallel: 3,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(`${JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, bytes: files.reduce((n, f) => n + f.size, 0) })}\n`);
}

async function parent() {
  if (!existsSync(join(top, 'dist/io/download.js'))) {
    console.error('bench/download: dist/ is missing; run `npm run build` first');
    process.exit(1);
  }
  const rounds = Number(flag('--rounds') ?? 3);
  const data = flag('--data') ?? join(tmpdir(), 'kdebuginfo-bench-download');
  const files = await makeData(data);
  const baseUrl = flag('--base-url');
  const { startMirrorServer } = await import(new URL('../fixtures/mirror-server.mjs', import.meta.url).href);
  const server = baseUrl ? { url: baseUrl.replace(/\/+$/, ''), resetLog() {}, close: async () => {} } : await startMirrorServer({ root: data });
  const total = files.reduce((n, f) => n + f.size, 0);
  console.error(`bench/download: ${files.length} files, ${(total / MiB).toFixed(0)} MiB, from ${server.url}${baseUrl ? '' : ' (fixture mirror server)'}, ${rounds} rounds`);

  const results = { curl: [], engine: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      // Alternate who goes first, so neither always gets the warmer page cache.
      const order = r % 2 === 0 ? ['curl', 'engine'] : ['engine', 'curl'];
      for (const who of order) {
        server.resetLog(); // the log holds one entry per request; keep it small
        const out = await mkdtemp(join(tmpdir(), `kdebuginfo-bench-${who}-`));
        try {
          const res = who === 'curl' ? await runCurl(server.url, files, out) : await runEngine(server.url, files, out);
          results[who].push(res);
          console.error(`  round ${r + 1} ${who.padEnd(6)} ${(res.ms / 1000).toFixed(2)} s  cpu ${res.cpuS.toFixed(2)} s  ${(res.rssKiB / 1024).toFixed(0)} MiB peak RSS`);
        } finally {
          await rm(out, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await server.close();
    if (!args.includes('--keep-data') && !flag('--data')) rmSync(data, { recursive: true, force: true });
  }

  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = (xs) => ({ ms: med(xs.map((x) => x.ms)), rss: Math.max(...xs.map((x) => x.rssKiB)), cpu: med(xs.map((x) => x.cpuS)) });
  const c = summary(results.curl);
  const e = summary(results.engine);
  const rate = (ms) => `${((total / MiB) / (ms / 1000)).toFixed(0)} MiB/s`;
  const ratio = e.ms / c.ms;
  console.log(`download of ${(total / MiB).toFixed(0)} MiB in 3 files, 3 at once, from ${baseUrl ? server.url : 'the fixture mirror server'}; median of ${rounds}`);
  console.log(`  curl 3x (no verification)     wall ${(c.ms / 1000).toFixed(2)} s  ${rate(c.ms)}  cpu ${c.cpu.toFixed(2)} s  peak RSS ${(c.rss / 1024).toFixed(1)} MiB`);
  console.log(`  kdebuginfo engine (sha256)    wall ${(e.ms / 1000).toFixed(2)} s  ${rate(e.ms)}  cpu ${e.cpu.toFixed(2)} s  peak RSS ${(e.rss / 1024).toFixed(1)} MiB`);
  console.log(`  wall ratio engine/curl        ${ratio.toFixed(3)} (target <= 1.10)`);
  console.log(`  engine peak RSS (max)         ${(e.rss / 1024).toFixed(1)} MiB (target < 150 MB = 143.1 MiB)`);
  // curl's CPU is the sum of its three processes; the engine's includes node's start-up.
  console.log(`  cpu ratio engine/curl         ${(e.cpu / c.cpu).toFixed(2)} (client CPU seconds: what decides on a busy or 2-core box)`);
}

/** Three random files, made once; sha256 computed once and kept beside them. */
async function makeData(dir) {
  mkdirSync(dir, { recursive: true });
  const sumsPath = join(dir, 'sums.json');
  let sums = existsSync(sumsPath) ? JSON.parse(readFileSync(sumsPath, 'utf8')) : {};
  const out = [];
  for (const [i, mib] of SIZES.entries()) {
    const name = `bench-package-${i + 1}-${mib}M.x86_64.rpm`;
    const path = join(dir, name);
    const size = mib * MiB;
    if (!existsSync(path) || statSync(path).size !== size || !sums[name]) {
      console.error(`bench/download: writing ${mib} MiB of random data to ${path}`);
      const fd = openSync(path, 'w');
      const buf = Buffer.alloc(8 * MiB);
      const h = createHash('sha256');
      for (let done = 0; done < size; done += buf.length) {
        const piece = buf.subarray(0, Math.min(buf.length, size - done));
        randomFillSync(piece);
        writeSync(fd, piece);
        h.update(piece);
      }
      closeSync(fd);
      sums = { ...sums, [name]: h.digest('hex') };
    }
    out.push({ name, path, size, sha256: sums[name] });
  }
  const { writeFileSync } = await import('node:fs');
  writeFileSync(sumsPath, JSON.stringify(sums));
  return out;
}

/** Run argv under /usr/bin/time; wall ms around the whole child, peak RSS (KiB) from time. */
function timed(argv, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn('/usr/bin/time', ['-f', 'KDEBUGINFO_TIME %M %U %S', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const m = /KDEBUGINFO_TIME (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
      if (code !== 0 || !m) return reject(new Error(`${argv.join(' ')} failed (${code}):\n${stderr}`));
      resolve({ ms, rssKiB: Number(m[1]), cpuS: Number(m[2]) + Number(m[3]), stdout });
    });
  });
}

async function runCurl(base, files, out) {
  // `wait` without operands waits for all three; a failed curl shows in the size check below.
  const script = files.map((f, i) => `curl -sS --fail -o "$${i + 1}" '${base}/${f.name}' &`).join('\n') + '\nwait\n';
  const argv = ['sh', '-c', script, 'sh', ...files.map((f) => join(out, f.name))];
  const res = await timed(argv);
  for (const f of files) {
    const got = statSync(join(out, f.name)).size;
    if (got !== f.size) throw new Error(`curl wrote ${got} bytes of ${f.name}, expected ${f.size}`);
  }
  return res;
}

async function runEngine(base, files, out) {
  const cfg = {
    cacheDir: out,
    items: files.map((f) => ({ file: f.name, urls: [`${base}/${f.name}`], size: f.size, checksum: { type: 'sha256', value: f.sha256 } })),
  };
  const res = await timed([process.execPath, fileURLToPath(import.meta.url), '--child', JSON.stringify(cfg)]);
  const inner = JSON.parse(res.stdout.trim().split('\n').pop());
  if (inner.bytes !== files.reduce((n, f) => n + f.size, 0)) throw new Error('engine fetched the wrong number of bytes');
  // Spot-check the smallest file end to end (the engine already verified all three).
  const small = files[files.length - 1];
  const h = createHash('sha256');
  for await (const chunk of createReadStream(join(out, small.name))) h.update(chunk);
  if (h.digest('hex') !== small.sha256) throw new Error(`${small.name}: wrong sha256 after the engine`);
  return res;
}
