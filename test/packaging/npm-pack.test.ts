import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MIRROR_ROOT, startFixtureMirror } from '../support/fixture-mirror.js';

/**
 * The npm route onto a box: `npm pack`, then `npm install -g` of the tarball into a scratch
 * prefix, then the installed `kdebuginfo` run from an unrelated directory. The dependencies come
 * from the npm cache or the registry (--prefer-offline), as on a user's box; the project's own
 * node_modules, .npmrc and dist/ play no part in what runs.
 */

const top = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(top, 'package.json'), 'utf8')) as { name: string; version: string };

/**
 * The npm_* variables an enclosing `npm test` exports (npm_config_prefix=/usr,
 * npm_config_local_prefix=<repo>, npm_package_*...) would steer the child npm; only the ones that
 * say where packages come from are kept.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|registry|userconfig|globalconfig|cafile|ca|proxy|https_proxy|noproxy|strict_ssl)$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !(/^npm_/i.test(k) || k === 'INIT_CWD') || keep.test(k)),
  );
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = npmEnv()): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 90_000, maxBuffer: 32 << 20 });
  if (r.error) throw r.error;
  return r;
}

function mustRun(cmd: string, args: string[], cwd: string): string {
  const r = run(cmd, args, cwd);
  // tsc reports on stdout, npm on stderr: show the end of both.
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

/**
 * Files the code reads relative to its own module (src/cli.ts reads ../package.json), as paths in
 * the package: resolved from where the module lands in dist/.
 */
function filesReadRelativeToModules(dir = join(top, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return filesReadRelativeToModules(path);
    if (!e.name.endsWith('.ts')) return [];
    const builtAs = posix.join('dist', relative(join(top, 'src'), path).split(sep).join('/')).replace(/\.ts$/, '.js');
    return [...readFileSync(path, 'utf8').matchAll(/new URL\(\s*'(\.{1,2}\/[^']+)',\s*import\.meta\.url\s*\)/g)].map((m) =>
      posix.normalize(posix.join(posix.dirname(builtAs), m[1]!)),
    );
  });
}
const filesReadBesideCode = filesReadRelativeToModules();

let scratch: string;
let tarball: string;
let packedFiles: string[];
let prefix: string;
let elsewhere: string;

/**
 * A copy of the checkout without node_modules (linked instead), .git and dist/. `npm pack` runs
 * `prepare` (tsc), as `npm publish` would; in the copy, that build starts from an empty dist/ (no
 * leftovers of deleted sources get packed) and never rewrites the dist/ that other tests are
 * running as a child process at the same time.
 */
function stageCheckout(into: string): string {
  const skip = new Set(['node_modules', '.git', 'dist', 'tmp', '.cache']);
  mkdirSync(into);
  for (const name of readdirSync(top)) {
    if (skip.has(name) || name.endsWith('.tgz')) continue;
    cpSync(join(top, name), join(into, name), { recursive: true, filter: (src) => !/[/\\]\.mirror-build\./.test(src) });
  }
  symlinkSync(join(top, 'node_modules'), join(into, 'node_modules'));
  return into;
}

beforeAll(() => {
  scratch = realpathSync(mkdtempSync(join(tmpdir(), 'kdebuginfo-npm-')));
  prefix = join(scratch, 'prefix');
  elsewhere = join(scratch, 'elsewhere');
  mkdirSync(elsewhere);
  const checkout = stageCheckout(join(scratch, 'checkout'));
  const packed = JSON.parse(mustRun('npm', ['pack', '--json', '--pack-destination', scratch], checkout)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  tarball = join(scratch, packed[0]!.filename);
  packedFiles = packed[0]!.files.map((f) => f.path);
  // From an unrelated directory, so the repo's .npmrc does not apply.
  mustRun('npm', ['install', '--global', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'], elsewhere);
}, 150_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('npm pack, then npm install -g of the tarball', () => {
  it('packs the entry, the built CLI and every lazily imported command; no sources, tests, fixtures or single-file build', () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['package.json', 'README.md', 'bin/kdebuginfo.js', 'dist/cli.js', 'dist/errors.js']));
    const lazyImports = [...readFileSync(join(top, 'src/cli.ts'), 'utf8').matchAll(/import\(\s*'\.\/([^']+)'\s*\)/g)].map((m) => `dist/${m[1]}`);
    expect(lazyImports.length).toBeGreaterThan(0);
    expect(packedFiles).toEqual(expect.arrayContaining(lazyImports));
    const unwanted = packedFiles.filter(
      (p) => (/^(src|test|fixtures|bench|scripts|node_modules)\//.test(p) && !filesReadBesideCode.includes(p)) || p === 'dist/kdebuginfo.mjs',
    );
    expect(unwanted).toEqual([]);
  });

  it('packs every file the built code reads beside itself (`new URL(..., import.meta.url)`)', () => {
    expect(filesReadBesideCode).toContain('package.json');
    expect(packedFiles).toEqual(expect.arrayContaining(filesReadBesideCode));
  });

  it('installs a kdebuginfo command that prints the version from another directory', () => {
    const bin = join(prefix, 'bin', 'kdebuginfo');
    expect(existsSync(bin)).toBe(true);
    const r = run(bin, ['--version'], elsewhere, { PATH: process.env.PATH, HOME: elsewhere });
    expect({ code: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('runs a lazily loaded command from the installed copy: plan --json', () => {
    const r = run(join(prefix, 'bin', 'kdebuginfo'), ['plan', '--json', '--kernel', '3.10.0-1160.119.1.el7.x86_64', '--os', 'centos:7'], elsewhere, {
      PATH: process.env.PATH,
      HOME: elsewhere,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.kernel).toMatchObject({ version: '3.10.0', release: '1160.119.1.el7', arch: 'x86_64' });
    expect(out.os).toMatchObject({ id: 'centos', version: '7' });
    expect(out.packages.map((p: any) => p.role)).toEqual(['debuginfo', 'debuginfo-common', 'devel']);
  });

  it('downloads from the installed copy: the sink thread starts from dist/ (tsc output)', async () => {
    const mirror = await startFixtureMirror();
    const cacheDir = join(scratch, 'cache');
    try {
      // Asynchronous (execFile, not spawnSync): the fixture mirror answers from this process.
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          join(prefix, 'bin', 'kdebuginfo'),
          ['download', '--json', '--kernel', '4.18.0-348.7.1.el8_5.x86_64', '--os', 'centos:8', '--cache-dir', cacheDir],
          { cwd: elsewhere, env: { PATH: process.env.PATH, HOME: elsewhere, KDEBUGINFO_MIRROR: mirror.mirrorEnv }, encoding: 'utf8', timeout: 60_000 },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
        );
      });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.packages.map((p: any) => [p.status, p.verifiedBy])).toEqual([
        ['downloaded', 'sha256'],
        ['downloaded', 'sha256'],
        ['downloaded', 'sha256'],
      ]);
      for (const p of out.packages) {
        const served = readFileSync(join(FIXTURE_MIRROR_ROOT, decodeURIComponent(p.url.slice(mirror.server.url.length + 1))));
        expect(createHash('sha256').update(readFileSync(join(cacheDir, p.file))).digest('hex')).toBe(createHash('sha256').update(served).digest('hex'));
      }
    } finally {
      await mirror.close();
    }
  });

  it('installs the runtime dependencies only: no TypeScript, vitest or esbuild', () => {
    const installed = join(prefix, 'lib', 'node_modules', pkg.name);
    expect(existsSync(join(installed, 'node_modules', 'commander'))).toBe(true);
    for (const dev of ['typescript', 'vitest', 'esbuild']) expect(existsSync(join(installed, 'node_modules', dev)), dev).toBe(false);
  });
});
