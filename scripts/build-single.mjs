#!/usr/bin/env node
// build:single: the whole CLI and its dependencies as one ESM file, dist/kdebuginfo.mjs, that
// runs with a bare `node` >= 20.19 and no node_modules: copy it to a box and run it.
//
// Built from src/ (not dist/), so it needs no prior `npm run build`; like esbuild it does not
// type-check (`npm run typecheck` does). The entry is the same two lines as bin/kdebuginfo.js.
// The commands src/cli.ts imports lazily (`await import('./commands/x.js')`) are bundled into the
// same file, not split off (one file is the point): esbuild wraps each module in an init function
// that runs on first import, so a command's modules (and got, tar, prompts...) are still only
// evaluated when that command runs. What every start-up still pays is V8 parsing the whole file,
// which is why the plugins below keep it small and keep builtins lazy.
//
// Files the npm package reads beside its code (package.json, the bundle installer template) are
// inlined with --define: see defineSources.
//
// After building, the script checks the bundle against its metafile and fails when it
// - still imports anything but a node: builtin (it would need node_modules on the target),
// - lacks a module that src/cli.ts imports lazily (a command that would fail only when run), or
// - still mentions a KDEBUGINFO_* constant that was to be defined.
// It writes the file whole and renames it into place.
//
// Usage: node scripts/build-single.mjs [--outfile path] [--quiet] [--analyze]
//        (--analyze: the bytes each package and src/ folder contributes, largest first)
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const top = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const outfile = resolve(top, flag('--outfile') ?? 'dist/kdebuginfo.mjs');
const isQuiet = args.includes('--quiet');
const shouldAnalyze = args.includes('--analyze');

const pkg = JSON.parse(readFileSync(resolve(top, 'package.json'), 'utf8'));
// The lowest Node the bundle must run on: package.json engines (">=20.19") -> esbuild "node20.19".
const minNode = /(\d+(?:\.\d+){0,2})/.exec(pkg.engines?.node ?? '')?.[1] ?? '20';

/**
 * esbuild reads `sideEffects` from the package.json nearest to each file. Packages built with
 * tshy (all of @inquirer/*) declare `"sideEffects": false` at their root but ship a nested
 * dist/esm/package.json holding only {"type":"module"}, so esbuild treats them as having side
 * effects and keeps every re-export: importing `select` from @inquirer/prompts then drags in
 * @inquirer/editor -> external-editor -> iconv-lite (~500 KiB of encoding tables, about half of
 * the bundle, seen with --analyze). This plugin applies the root's own declaration to the
 * package's entry. It changes nothing for packages that declare no `sideEffects`.
 */
const honourRootSideEffects = {
  name: 'honour-root-side-effects',
  setup(b) {
    const declaresNoSideEffects = new Map();
    b.onResolve({ filter: /^[^./]/ }, async (a) => {
      if (a.pluginData?.isInner) return undefined;
      const r = await b.resolve(a.path, { kind: a.kind, importer: a.importer, resolveDir: a.resolveDir, pluginData: { isInner: true } });
      const name = /^(@[^/]+\/[^/]+|[^/]+)/.exec(a.path)?.[1];
      const at = r.errors.length === 0 && !r.external && name ? r.path.lastIndexOf(`/node_modules/${name}/`) : -1;
      if (at === -1) return undefined;
      const root = r.path.slice(0, at + `/node_modules/${name}`.length);
      if (!declaresNoSideEffects.has(root)) {
        let sideEffects;
        try {
          sideEffects = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')).sideEffects;
        } catch {
          sideEffects = undefined;
        }
        declaresNoSideEffects.set(root, sideEffects === false);
      }
      if (!declaresNoSideEffects.get(root)) return undefined;
      return { path: r.path, namespace: r.namespace, suffix: r.suffix, sideEffects: false };
    });
  },
};

/**
 * esbuild turns every `import ... from 'node:zlib'` in the bundle into a top-level import, so
 * each builtin any command uses (zlib, http, https, http2, net, tls, crypto, dns...) would be
 * loaded at start-up, even for --version: ~20 M more instructions than the npm entry (callgrind).
 * Served instead as a tiny CommonJS module that require()s the builtin, an import of a builtin
 * is evaluated where its importer is: lazily, inside the command that needs it. Named imports
 * still work (esbuild reads them off the module object); require() calls are left as they are.
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const builtinNames = new Set(builtinModules);
    b.onResolve({ filter: /^(node:)?[a-z_][a-z0-9_/]*$/ }, (a) => {
      const name = a.path.replace(/^node:/, '');
      if (!builtinNames.has(name) || a.kind === 'require-call') return undefined;
      return { path: name, namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({
      contents: `module.exports = require(${JSON.stringify(`node:${a.path}`)});`,
      loader: 'js',
    }));
  },
};

/**
 * What the npm package reads from files beside the code, which do not exist beside the single
 * file: each is a `declare const KDEBUGINFO_*` in src/ that the code prefers when defined.
 */
const defineSources = {
  // src/cli.ts: the version, else read from package.json.
  KDEBUGINFO_VERSION: () => pkg.version,
  // src/io/bundle.ts: the installer templates, else read from fixtures/bundle/install.sh (RPM)
  // and fixtures/bundle/install-deb.sh (Debian/Ubuntu).
  KDEBUGINFO_INSTALL_SH: () => readFileSync(resolve(top, 'fixtures/bundle/install.sh'), 'utf8'),
  KDEBUGINFO_INSTALL_DEB_SH: () => readFileSync(resolve(top, 'fixtures/bundle/install-deb.sh'), 'utf8'),
};
const declared = new Set();
(function scan(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) scan(path);
    else if (entry.name.endsWith('.ts')) for (const m of readFileSync(path, 'utf8').matchAll(/declare const (KDEBUGINFO_\w+)/g)) declared.add(m[1]);
  }
})(resolve(top, 'src'));
const undefinedHere = [...declared].filter((name) => !(name in defineSources));
if (undefinedHere.length > 0) {
  process.stderr.write(`build-single: src/ declares ${undefinedHere.join(', ')} for this build to define: add to defineSources in scripts/build-single.mjs\n`);
  process.exit(1);
}
const defines = Object.fromEntries([...declared].map((name) => [name, defineSources[name]()]));

const [minMajor = 20, minMinor = 0] = minNode.split('.').map(Number);
const banner = [
  '#!/usr/bin/env node',
  `// kdebuginfo ${pkg.version}, single-file build (scripts/build-single.mjs): needs Node.js >= ${minNode}, nothing else.`,
  // Best effort: a box with an older Node (CentOS 7 has at most 16) gets a sentence instead of
  // whatever the first unsupported API throws. Runs before any bundled module is evaluated.
  `{ const [major, minor] = process.versions.node.split('.').map(Number);`,
  `  if (major < ${minMajor} || (major === ${minMajor} && minor < ${minMinor})) {`,
  `    process.stderr.write('kdebuginfo: needs Node.js >= ${minNode}; this is ' + process.version + '. Where no such Node can be had (CentOS 7), make a bundle on another machine: kdebuginfo bundle --kernel <uname -r> --os centos:7 (README, Install).\\n');`,
  `    process.exit(1);`,
  `  } }`,
  // Some dependencies are CommonJS (commander) and call require('events') etc.; in an ESM
  // bundle esbuild's require shim throws "Dynamic require of ... is not supported" unless a
  // real `require` is in scope. The lazy-builtins plugin below relies on it too.
  "import { createRequire as __kdebuginfoCreateRequire } from 'node:module';",
  'const require = __kdebuginfoCreateRequire(import.meta.url);',
].join('\n');

const result = await build({
  stdin: {
    contents: "import { run } from './src/cli.js';\nrun();\n",
    resolveDir: top,
    sourcefile: 'kdebuginfo-single-entry.ts',
    loader: 'ts',
  },
  outfile,
  bundle: true,
  splitting: false,
  format: 'esm',
  platform: 'node',
  target: `node${minNode}`,
  define: Object.fromEntries(Object.entries(defines).map(([k, v]) => [k, JSON.stringify(v)])),
  banner: { js: banner },
  // Dependencies' licence notices, gathered at the end of the file.
  legalComments: 'eof',
  // Whitespace and syntax only: identifiers stay readable in a stack trace from a user's box.
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  write: false,
  plugins: [honourRootSideEffects, lazyBuiltins],
  logLevel: 'warning',
});

const out = Object.values(result.metafile.outputs)[0];
const code = result.outputFiles[0].text;
const problems = [];

const builtins = new Set(builtinModules);
for (const imp of out.imports) {
  const bare = imp.path.replace(/^node:/, '');
  if (!imp.external) continue;
  if (!builtins.has(bare) && !builtins.has(bare.split('/')[0])) problems.push(`still imports ${imp.path} (${imp.kind}): it would need node_modules`);
}

const inputs = new Set(Object.keys(out.inputs).map((p) => resolve(process.cwd(), p)));
const cliSource = readFileSync(resolve(top, 'src/cli.ts'), 'utf8');
for (const m of cliSource.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
  const ts = resolve(top, 'src', m[1].replace(/\.js$/, '.ts'));
  if (!inputs.has(ts)) problems.push(`src/cli.ts imports ${m[1]} lazily but ${relative(top, ts)} is not in the bundle`);
}
for (const name of declared) if (new RegExp(`\\b${name}\\b`).test(code)) problems.push(`${name} was not replaced by its define`);

if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`build-single: ${p}\n`);
  process.exit(1);
}
// Written whole and renamed into place: a test or bench running it meanwhile sees the old file
// or the new one, never half of one.
mkdirSync(dirname(outfile), { recursive: true });
const partial = `${outfile}.${process.pid}.partial`;
writeFileSync(partial, code, { mode: 0o755 });
renameSync(partial, outfile);
if (shouldAnalyze) {
  const byOwner = new Map();
  for (const [path, { bytesInOutput }] of Object.entries(out.inputs)) {
    const owner = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.replace(/^(src\/[^/]+)\/.*$/, '$1');
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + bytesInOutput);
  }
  for (const [owner, bytes] of [...byOwner].sort((x, y) => y[1] - x[1]).slice(0, 20)) {
    process.stderr.write(`${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${owner}\n`);
  }
}
if (!isQuiet) {
  const kib = (statSync(outfile).size / 1024).toFixed(0);
  process.stderr.write(`build-single: ${relative(top, outfile)} (${kib} KiB, ${Object.keys(out.inputs).length} modules, kdebuginfo ${pkg.version}, node >= ${minNode})\n`);
}
