import { nvraOf } from '../core/package-naming.js';
import { digestFile } from './download/verify.js';
import { chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isSafeFileName } from '../core/file-name.js';
import { forkProbeScript, workloadScript } from '../core/fork-probe.js';
import type { PackageRole } from '../core/types.js';
import { showUntrusted } from '../core/untrusted-text.js';
import { KdebuginfoError, UsageError } from '../errors.js';

/**
 * A bundle is `<name>.tar.gz` holding one directory, `kdebuginfo-<uname -r>/` (so extracting it
 * never scatters files into the current directory), with:
 *   - the packages: the three RPMs, or for a Debian/Ubuntu kernel the debug and headers .debs
 *     plus the headers' same-build dependencies,
 *   - manifest.json (BundleManifest below: what `install --from-bundle` reads),
 *   - install.sh, the POSIX sh installer from fixtures/bundle/install.sh (RPM) or
 *     fixtures/bundle/install-deb.sh (apt) with this bundle's kernel, packages, checksums and
 *     probe filled in.
 */
export interface BundleManifest {
  /**
   * Bumped when a field changes meaning. `packaging` is an addition, not a change: a reader that
   * predates it takes a Debian bundle for an RPM one and stops at planning (`--os debian:12` is
   * no RPM distribution) before anything is installed.
   */
  format: 1;
  /** What the packages are and what installs them: RPMs (dnf, yum, rpm) or .debs (apt). Absent in bundles made before it existed: rpm. */
  packaging?: BundlePackaging;
  tool: { name: 'kdebuginfo'; version: string };
  /** ISO 8601, UTC. */
  created: string;
  kernel: { uname: string; version: string; release: string; arch: string; flavor: string };
  os: { id: string; version: string; name: string };
  /**
   * For .debs, `version` and `release` are the Debian upstream version and revision (`6.1.192`,
   * `2`: kernel packages carry no epoch), and `dependencyOf` marks a package that is there only
   * because the named one depends on it (linux-headers-<abi>-common, linux-kbuild-<series>, ...).
   */
  packages: Array<{
    role: PackageRole;
    name: string;
    version: string;
    release: string;
    arch: string;
    file: string;
    size: number;
    sha256: string;
    dependencyOf?: string;
  }>;
  /** The installer's file name inside the bundle directory. */
  installer: 'install.sh';
}

export type BundlePackaging = 'rpm' | 'deb';

/** The manifest's packaging, old bundles (no field) being RPM ones. */
export function packagingOf(manifest: Pick<BundleManifest, 'packaging'>): BundlePackaging {
  return manifest.packaging ?? 'rpm';
}

/** A .deb's full version from a manifest entry (`6.1.192` + `2` -> `6.1.192-2`; a native package has no revision). */
export function debVersionOf(p: Pick<BundleManifest['packages'][number], 'version' | 'release'>): string {
  return p.release === '' ? p.version : `${p.version}-${p.release}`;
}

/** What install.sh's probe section writes and runs: the SystemTap script and the workload it watches. */
export interface BundleProbe {
  script: string;
  workload: string;
}

/**
 * The probe install.sh runs when stap is there: verify's own fork probe (src/core/fork-probe.ts),
 * byte for byte, so a bundle proves what `kdebuginfo verify` proves. The script filters on
 * target(), which `stap -c 'sh WORKLOAD'` sets to the workload's pid; the workload does not wait
 * for a line on stdin, because stap -c starts it only once the probes are armed.
 */
export function bundleProbe(): BundleProbe {
  return { script: forkProbeScript(), workload: workloadScript({ waitForStdinLine: false }) };
}

/** The here-document terminators install.sh uses for the two files (a line equal to one would end it early). */
const HEREDOC_END = { script: 'KDEBUGINFO_PROBE_END', workload: 'KDEBUGINFO_WORKLOAD_END' } as const;

/** Set by the single-file build (esbuild --define) to the text of fixtures/bundle/install.sh. */
declare const KDEBUGINFO_INSTALL_SH: string | undefined;
/** Likewise, fixtures/bundle/install-deb.sh. */
declare const KDEBUGINFO_INSTALL_DEB_SH: string | undefined;

/**
 * The installer template for this packaging: inlined in the single-file build, else read beside
 * the package. Two templates, not one with a branch: their flags differ (an RPM bundle installs
 * into an image root with --root and can skip dependencies with --nodeps; apt can do neither), and
 * each script's --help is cut from its own header comment.
 */
export async function installScriptTemplate(packaging: BundlePackaging = 'rpm'): Promise<string> {
  // src/io/bundle.ts and dist/io/bundle.js are both two levels below the package root.
  if (packaging === 'deb') {
    if (typeof KDEBUGINFO_INSTALL_DEB_SH === 'string') return KDEBUGINFO_INSTALL_DEB_SH;
    return readFile(new URL('../../fixtures/bundle/install-deb.sh', import.meta.url), 'utf8');
  }
  if (typeof KDEBUGINFO_INSTALL_SH === 'string') return KDEBUGINFO_INSTALL_SH;
  return readFile(new URL('../../fixtures/bundle/install.sh', import.meta.url), 'utf8');
}

// What may be pasted into the script's single-quoted strings: no quote, no newline, no `$`.
// File names: isSafeFileName (the one rule for names from repodata, listings and manifests).
const SAFE_WORD = /^[A-Za-z0-9._+~^:-]+$/;
const HEX = /^[0-9a-f]{64}$/;

/** install.sh with this bundle's fields filled in. Throws on anything that could break the quoting. */
export function renderInstallScript(template: string, manifest: BundleManifest, probe: BundleProbe = bundleProbe()): string {
  const check = (what: string, v: string, re: RegExp | ((v: string) => boolean)) => {
    if (!(typeof re === 'function' ? re(v) : re.test(v))) throw new KdebuginfoError(`cannot put ${what} "${v}" into install.sh`);
    return v;
  };
  // One line per package. RPM: sha256, file, name-version-release.arch (what rpm -q takes). deb:
  // sha256, file, name, version, and `main` or `dependency` (a dependency already installed at a
  // newer version is left alone: apt-get -y would refuse the downgrade).
  const packages = manifest.packages
    .map((p) =>
      [
        check('a sha256', p.sha256, HEX),
        check('a file name', p.file, isSafeFileName),
        ...(packagingOf(manifest) === 'deb'
          ? [check('a package name', p.name, SAFE_WORD), check('a version', debVersionOf(p), SAFE_WORD), p.dependencyOf === undefined ? 'main' : 'dependency']
          : [check('a package name', nvraOf(p), SAFE_WORD)]),
      ].join(' '),
    )
    .join('\n');
  for (const part of ['script', 'workload'] as const) {
    const end = HEREDOC_END[part];
    if (probe[part].split('\n').some((l) => l.trim() === end)) throw new KdebuginfoError(`the probe ${part} contains the here-document terminator ${end}`);
  }
  const fields: Record<string, string> = {
    '@@TOOL_VERSION@@': check('a version', manifest.tool.version, SAFE_WORD),
    '@@KERNEL@@': check('a kernel release', manifest.kernel.uname, SAFE_WORD),
    '@@PACKAGES@@': `\n${packages}\n`,
    // Without its last newline: the template puts the terminator on the next line.
    '@@PROBE@@': probe.script.replace(/\n$/, ''),
    '@@WORKLOAD@@': probe.workload.replace(/\n$/, ''),
  };
  let out = template;
  for (const [k, v] of Object.entries(fields)) {
    if (!out.includes(k)) throw new KdebuginfoError(`install.sh template has no ${k}`);
    out = out.split(k).join(v);
  }
  return out;
}

export interface BundleFile {
  /** Name inside the bundle directory. */
  name: string;
  /** Where it is now (the cache). */
  path: string;
}

export interface WrittenBundle {
  path: string;
  size: number;
  sha256: string;
  /** The directory every entry is under. */
  directory: string;
}

/**
 * Can a bundle be written at `output` (absolute)? Checked before anything is downloaded: the
 * path is not a directory, and its directory exists (or can be made: its nearest existing
 * ancestor is a directory). `-o /a/file/x.tar.gz`, under a regular file, failed after the
 * download with a stack trace. One line naming -o, exit 2.
 */
export async function checkBundleOutput(output: string): Promise<void> {
  const at = await lstat(output).catch(() => undefined);
  if (at?.isDirectory()) throw new UsageError(`-o ${showUntrusted(output)}: is a directory; name the bundle file, e.g. ${join(showUntrusted(output), 'k.tar.gz')}`);
  let dir = dirname(output);
  for (;;) {
    const st = await stat(dir).catch((err: NodeJS.ErrnoException) => err);
    if (!(st instanceof Error)) {
      if (!st.isDirectory()) throw new UsageError(`-o ${showUntrusted(output)}: ${showUntrusted(dir)} is not a directory`);
      return;
    }
    if ((st.code !== 'ENOENT' && st.code !== 'ENOTDIR') || dirname(dir) === dir) throw new UsageError(`-o ${showUntrusted(output)}: cannot use ${showUntrusted(dir)} (${st.code ?? st.message})`);
    dir = dirname(dir);
  }
}

/** A file-system error while writing the bundle, as one line naming -o (no stack trace). */
function outputError(output: string, err: unknown): KdebuginfoError {
  if (err instanceof KdebuginfoError) return err;
  const e = err as NodeJS.ErrnoException;
  // mkdir -p says EEXIST for a path through a regular file.
  const what = e.code === 'ENOTDIR' || e.code === 'EEXIST' ? 'a part of the path is not a directory' : e.code === 'EACCES' ? 'permission denied' : e.code === 'ENOSPC' ? 'no space left' : (e.code ?? e.message);
  return new KdebuginfoError(`-o ${showUntrusted(output)}: cannot write the bundle (${what})`, { cause: err });
}

/**
 * Write the .tar.gz: staged as symlinks to the cached packages (no copy), packed with the tar package
 * following them, gzip level 1 (RPM and .deb payloads are already xz/zstd-compressed: higher levels
 * cost time and gain nothing), into a temp file beside `output` that is renamed into place only
 * once complete, so an interrupted run never leaves a truncated bundle under the real name.
 * manifest.json is the first file after the directory, install.sh the second: a reader checks
 * every later member against the manifest before reading it (src/io/bundle-read.ts).
 */
export async function writeBundle(opts: {
  output: string;
  directory: string;
  manifest: BundleManifest;
  installScript: string;
  files: readonly BundleFile[];
}): Promise<WrittenBundle> {
  const outDir = dirname(opts.output);
  let stage: string | undefined;
  const tmp = join(outDir, `.${basename(opts.output)}.tmp-${process.pid}`);
  try {
    await mkdir(outDir, { recursive: true });
    stage = await mkdtemp(join(outDir, '.kdebuginfo-bundle-'));
    const top = join(stage, opts.directory);
    await mkdir(top);
    for (const f of opts.files) await symlink(f.path, join(top, f.name));
    await writeFile(join(top, 'manifest.json'), `${JSON.stringify(opts.manifest, null, 2)}\n`);
    await writeFile(join(top, 'install.sh'), opts.installScript);
    await chmod(join(top, 'install.sh'), 0o755);
    const tar = await import('tar');
    const members = [opts.directory, ...['manifest.json', 'install.sh', ...opts.files.map((f) => f.name)].map((n) => `${opts.directory}/${n}`)];
    await tar.c({ gzip: { level: 1 }, file: tmp, cwd: stage, follow: true, portable: true, noDirRecurse: true }, members);
    const size = (await stat(tmp)).size;
    const sha256 = await sha256File(tmp);
    await rename(tmp, opts.output);
    return { path: opts.output, size, sha256, directory: opts.directory };
  } catch (err) {
    throw outputError(opts.output, err);
  } finally {
    if (stage) await rm(stage, { recursive: true, force: true });
    // A path under a regular file is ENOTDIR, which force does not cover.
    await rm(tmp, { force: true }).catch(() => {});
  }
}

/** The bundle's own sha256, with the download engine's one digest function. */
async function sha256File(path: string): Promise<string> {
  const read = await digestFile(path, ['sha256']);
  if (read === null) throw new KdebuginfoError(`${path} vanished while it was being written`);
  return read.digests.get('sha256') as string;
}
