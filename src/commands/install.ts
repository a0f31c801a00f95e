import { join } from 'node:path';
import type { Context } from '../context.js';
import { finishInstall, verifyAfterInstall } from './install-result.js';
import { debTargetFor, installDeb, installDebBundle, type DebVerifier } from './deb-flow.js';
import type { KernelRelease, OsInfo } from '../core/types.js';
import { buildPlan, installedKernels, type PlanOptions } from './plan.js';
import type { PlannedPackage, ResolvedPackage } from '../core/resolver.js';
import { describeVerdict } from '../core/checksig.js';
import { formatBytes } from '../core/format.js';
import { downloadVerified } from '../io/download.js';
import { createProgress } from '../io/progress.js';
import { chooseCacheDir, ensureDir } from '../io/cache.js';
import { acquireLock } from '../io/lock.js';
import { checkSignatures, queryInstalled, trustedKeyFiles } from '../io/rpm.js';
import { findPackageManager, installFiles, onPath, type PackageManagerName } from '../io/package-manager.js';
import { runStapPrep } from '../io/stap-prep.js';
import { checkBundleKernel, openBundle, type OpenedBundle } from '../io/bundle-read.js';
import { packagingOf } from '../io/bundle.js';
import { compareWithPlan } from '../core/stap-prep.js';
import { promptConfirm, promptSelect } from '../io/prompt.js';
import { readHostFacts } from '../io/host.js';
import { ExitCode, KdebuginfoError, UsageError } from '../errors.js';
import { resolveOrThrow } from './resolve.js';
import { defaultVerifyLevel, verifySituation, type VerifyLevel } from '../core/verify-levels.js';

export type { VerifyLevel };

export interface InstallOptions extends PlanOptions {
  userAgent: string;
  cacheDir: string | undefined;
  gpgKeys: string[];
  noGpgcheck: boolean;
  verify: VerifyLevel | undefined;
  wait: boolean;
  packageManager: PackageManagerName | 'auto';
  /** --yes: answer every question with its default. */
  yes: boolean;
  /** Install SystemTap itself when it is missing on the host (--no-systemtap: leave it). */
  systemtap: boolean;
  /** --from-bundle FILE: the packages come from a bundle made by `kdebuginfo bundle`. */
  fromBundle?: string | undefined;
}

export type PackageAction = 'installed' | 'present' | 'would-install';

export interface InstallResult {
  changed: boolean;
  failed: boolean;
  msg: string;
  rc: number;
  kernel: { uname: string; version: string; release: string; arch: string; flavor: string };
  os: { id: string; version: string; name: string };
  packages: Array<{ role: string; name: string; file: string; action: PackageAction; size: number | null }>;
  verify: { level: VerifyLevel; ok: boolean; detail: string } | null;
  warnings: string[];
  durationMs: number;
}

/** Runs the chosen verification; wired by the verify command module. */
export type Verifier = (ctx: Context, args: { kernel: Pick<KernelRelease, 'uname'>; level: VerifyLevel; root: string }) => Promise<{ ok: boolean; detail: string }>;

/**
 * The main job, as a story: choose the kernel, see what is already there, resolve and fetch
 * what is missing, check signatures, install, verify, report. Idempotent: a second run finds
 * everything present and changes nothing.
 */
export async function runInstall(ctx: Context, opts: InstallOptions, verifier?: Verifier): Promise<InstallResult> {
  // Debian/Ubuntu: apt installs; the verifier (only the release is passed) serves --verify run.
  const debVerifier: DebVerifier | undefined = verifier && ((c, a) => verifier(c, { kernel: { uname: a.uname }, level: a.level, root: a.root }));
  // A bundle names its kernel and what its packages are: RPMs stay on the RPM flow, .debs go to apt.
  const bundle = opts.fromBundle ? await openBundle(opts.fromBundle) : undefined;
  if (bundle) {
    try {
      if (packagingOf(bundle.manifest) === 'deb') return await installDebBundle(ctx, bundle, opts, debVerifier);
      return await installFlow(ctx, opts, verifier, bundle);
    } finally {
      await bundle.close();
    }
  }
  const deb = await debTargetFor(ctx, opts);
  if (deb) return installDeb(ctx, deb, opts, debVerifier);
  return installFlow(ctx, opts, verifier, undefined);
}

async function installFlow(ctx: Context, opts: InstallOptions, verifier: Verifier | undefined, bundle: OpenedBundle | undefined): Promise<InstallResult> {
  const started = Date.now();
  const root = opts.root ?? '/';
  const warnings: string[] = [];
  if (bundle) {
    // The bundle was made for one kernel and OS: they come from its manifest.
    const made = bundle.manifest.kernel.uname;
    checkBundleKernel(opts.kernel, bundle.manifest);
    opts = { ...opts, kernel: made, os: opts.os ?? `${bundle.manifest.os.id}:${bundle.manifest.os.version}` };
  }
  const kernelArg = await chooseKernel(ctx, opts, root);
  const running = (await readHostFacts('/')).unameRelease;
  const { planned, kernel, os } = await buildPlan(ctx, { ...opts, kernel: kernelArg });

  if (root === '/' && !ctx.isRoot && !ctx.dryRun) {
    throw new KdebuginfoError('installing packages on this host needs root', {
      exitCode: ExitCode.needsRoot,
      hint: 'run it with sudo, or use --dry-run to see what would change',
    });
  }

  const nvra = (p: PlannedPackage) => `${p.name}-${p.version}-${p.release}.${p.arch}`;
  const installed = await queryInstalled(ctx.exec, root, planned.map(nvra));
  const missing = planned.filter((p) => !installed.get(nvra(p)));
  if (root === '/') {
    await ensureSystemtap(ctx, opts, os, warnings);
    await compareWithStapPrep(ctx, kernel, missing.map(nvra), warnings);
  }
  const report = (action: (p: PlannedPackage) => PackageAction, sizes = new Map<string, number | null>()) =>
    planned.map((p) => ({ role: p.role, name: p.name, file: p.file, action: action(p), size: sizes.get(p.file) ?? null }));
  const base = {
    kernel: { uname: kernel.uname, version: kernel.version, release: kernel.release, arch: kernel.arch, flavor: kernel.flavor },
    os: { id: os.id, version: os.version, name: os.name },
    failed: false,
    rc: 0,
    warnings,
  };

  let verify: InstallResult['verify'] = null;
  const level = opts.verify ?? defaultVerifyLevel('install', verifySituation(root, kernel.uname, running));
  // Decided before anything changes: a verification that cannot run is a usage error now, not
  // a failure after the packages went in.
  if (level !== 'none' && !verifier) throw new UsageError(`--verify ${level} is not available in this build; use --verify none`);
  const runVerification = async () => {
    if (level === 'none' || ctx.dryRun || !verifier) return null;
    return { level, ...(await verifier(ctx, { kernel, level, root })) };
  };

  if (missing.length === 0) {
    verify = await runVerification();
    return finishInstall({
      ...base,
      changed: false,
      msg: `all ${planned.length} packages for ${kernel.uname} are already installed`,
      packages: report(() => 'present'),
      verify,
      durationMs: Date.now() - started,
    });
  }

  // The common package may have been retargeted by the debuginfo package's Requires.
  const resolved = bundle ? fromBundle(bundle, missing) : await resolveOrThrow(ctx, missing, os, opts, base);
  const sizes = new Map(resolved.map((r) => [r.file, r.size]));
  const total = resolved.reduce((n, r) => n + (r.size ?? 0), 0);
  const isMissing = (p: PlannedPackage) => missing.includes(p);

  const verb = bundle ? 'unpack' : 'download';
  if (ctx.dryRun) {
    return finishInstall({
      ...base,
      changed: true,
      msg: `would ${verb} ${formatBytes(total)} and install ${resolved.length} package(s) for ${kernel.uname}`,
      packages: report((p) => (isMissing(p) ? 'would-install' : 'present'), sizes),
      verify: null,
      durationMs: Date.now() - started,
    });
  }

  if (ctx.isInteractive && !opts.yes) {
    const list = resolved.map((r) => `  ${r.file} (${r.size === null ? 'size unknown' : formatBytes(r.size)})`).join('\n');
    ctx.ui.info(`To install for ${kernel.uname}:\n${list}`);
    if (!(await promptConfirm(ctx, `${bundle ? 'Unpack' : 'Download'} ${formatBytes(total)} and install ${resolved.length} package(s)?`))) {
      throw new KdebuginfoError('cancelled: nothing was installed', { exitCode: ExitCode.failed });
    }
  }

  const cacheDir = chooseCacheDir({ flag: opts.cacheDir, env: ctx.env, isRoot: ctx.isRoot, cwd: ctx.cwd });
  await ensureDir(cacheDir);
  let waited = false;
  const lock = await acquireLock(join(cacheDir, 'install.lock'), {
    wait: opts.wait,
    onWait: (pid) => {
      waited = true;
      ctx.ui.info(`waiting for another kdebuginfo (pid ${pid}) to finish...`);
    },
    signal: ctx.signal,
  });
  try {
    // Another run may have installed them while this one waited for the lock.
    const nowInstalled = waited ? await queryInstalled(ctx.exec, root, missing.map(nvra)) : installed;
    const stillMissing = resolved.filter((r) => !nowInstalled.get(`${r.name}-${r.version}-${r.release}.${r.arch}`));
    if (stillMissing.length === 0) {
      verify = await runVerification();
      return finishInstall({
        ...base,
        changed: false,
        msg: `all ${planned.length} packages for ${kernel.uname} are already installed`,
        packages: report(() => 'present', sizes),
        verify,
        durationMs: Date.now() - started,
      });
    }
    resolved.splice(0, resolved.length, ...stillMissing);
    const files = bundle
      ? resolved.map((r) => ({ path: r.url }))
      : await downloadVerified(
      resolved.map((r) => ({ file: r.file, urls: urlsOf(r), size: r.size, checksum: r.checksum, role: r.role })),
      {
        cacheDir,
        exec: ctx.exec,
        userAgent: opts.userAgent,
        env: ctx.env,
        signal: ctx.signal,
        progress: createProgress(ctx.stderr, { isTty: ctx.isStderrTty, columns: (ctx.stderr as { columns?: number }).columns }),
        installRoot: root,
        debug: ctx.ui.debug,
      },
    );
    const paths = files.map((f) => f.path);
    const kept = bundle ? `the bundle ${opts.fromBundle}` : cacheDir;

    if (opts.noGpgcheck) {
      warnings.push('signatures not checked (--no-gpgcheck)');
      ctx.ui.warn('signatures not checked (--no-gpgcheck)');
    } else {
      const keys = await trustedKeyFiles(root, opts.gpgKeys);
      if (keys.length === 0) {
        throw new KdebuginfoError(`no trusted GPG keys: none in ${join(root, 'etc/pki/rpm-gpg')} and no --gpg-key given`, {
          hint: 'pass the distro key with --gpg-key FILE (e.g. RPM-GPG-KEY-centosofficial), or --no-gpgcheck to skip the check',
        });
      }
      const verdicts = await checkSignatures(ctx.exec, paths, keys);
      const bad = [...verdicts.entries()].filter(([, v]) => v.verdict !== 'signed');
      if (bad.length > 0) {
        // A key can only help a package that is signed: say so only then.
        const keyCanHelp = bad.some(([, v]) => v.verdict === 'untrusted-key');
        throw new KdebuginfoError(`refusing to install: ${bad.map(([f, v]) => describeVerdict(f.split('/').pop() ?? f, v)).join('; ')}`, {
          hint: `${keyCanHelp ? 'trust the signing key with --gpg-key FILE, or install' : 'install'} anyway with --no-gpgcheck; the files stay in ${kept}`,
          detail: { ...base, packages: report((p) => (isMissing(p) ? 'would-install' : 'present'), sizes) },
        });
      }
    }

    const pm = await choosePackageManager(ctx, opts.packageManager, root);
    ctx.ui.info(`installing ${paths.length} package(s) with ${pm}${root === '/' ? '' : ` into ${root}`}`);
    await installFiles(ctx.exec, pm, { files: paths, root, releasever: os.version, noGpgcheck: opts.noGpgcheck });
  } finally {
    await lock.release();
  }

  const installedResult = {
    ...base,
    changed: true,
    msg: `installed ${resolved.length} package(s) for ${kernel.uname}`,
    packages: report((p) => (isMissing(p) ? 'installed' : 'present'), sizes),
  };
  return verifyAfterInstall(installedResult, runVerification, started);
}

/**
 * SystemTap itself, from the configured repos: asked on a terminal, done with --yes; without a
 * terminal and without --yes that is a decision nobody made: exit 2 naming the flags.
 */
async function ensureSystemtap(ctx: Context, opts: InstallOptions, os: OsInfo, warnings: string[]): Promise<void> {
  if (!opts.systemtap || (await onPath('stap', ctx.env))) return;
  if (!opts.yes) {
    if (!ctx.isInteractive) {
      throw new UsageError('SystemTap (stap) is not installed: pass --yes to install systemtap too, or --no-systemtap to leave it out');
    }
    if (!(await promptConfirm(ctx, 'SystemTap is not installed. Install systemtap and systemtap-runtime from the configured repos?'))) {
      warnings.push('SystemTap is not installed: the probe cannot run until it is');
      return;
    }
  }
  const pm = await findPackageManager(ctx.env);
  if (!pm || pm === 'rpm') throw new KdebuginfoError('SystemTap is not installed and there is no dnf or yum to install it with');
  ctx.ui.info(`installing systemtap with ${pm}`);
  await ctx.exec([pm, '-y', 'install', `--releasever=${os.version}`, '--setopt=*.skip_if_unavailable=True', 'systemtap', 'systemtap-runtime'], {
    mutates: true,
  });
}

/**
 * Run stap-prep (where present) so it cannot install anything, and say where its list of
 * missing packages differs from ours: it gets +64k, +rt, +rt-debug and .centos.plus names wrong.
 */
async function compareWithStapPrep(ctx: Context, kernel: KernelRelease, ourMissing: string[], warnings: string[]): Promise<void> {
  const report = await runStapPrep(ctx, kernel.uname);
  if (!report) return;
  if (report.branch !== 'rpm') {
    ctx.ui.debug(`stap-prep took its ${report.branch} branch; not comparing`);
    return;
  }
  // stap-prep lists the kernel image package and never -common: neither is a disagreement.
  const cmp = compareWithPlan(report, ourMissing);
  const theirs = cmp.onlyStapPrep.filter((n) => !n.startsWith(`${kernel.family}-${kernel.version}`));
  const ours = cmp.onlyOurs.filter((n) => !n.includes('-debuginfo-common'));
  if (theirs.length > 0) warnings.push(`stap-prep asks for ${theirs.join(', ')}, which kdebuginfo does not install (its name for this kernel differs)`);
  if (ours.length > 0) warnings.push(`stap-prep does not list ${ours.join(', ')}, which this kernel needs`);
  for (const w of warnings.slice(-2)) if (w.startsWith('stap-prep')) ctx.ui.warn(w);
}

/** The bundle's files for the missing roles; `url` is the unpacked, checksum-verified local path. */
function fromBundle(bundle: OpenedBundle, missing: PlannedPackage[]): ResolvedPackage[] {
  return missing.map((m) => {
    const f = bundle.files.find((b) => b.role === m.role);
    if (!f) throw new KdebuginfoError(`the bundle has no ${m.role} package (${m.file})`, { hint: 'make the bundle again with kdebuginfo bundle' });
    const { locations: _l, ...spec } = m;
    return { ...spec, name: f.name, file: f.file, url: f.path, size: f.size, checksum: { type: 'sha256', value: f.sha256 }, source: 'listing', candidates: [] };
  });
}

function urlsOf(r: ResolvedPackage): string[] {
  return [r.url, ...r.candidates.filter((c) => c !== r.url)];
}

async function choosePackageManager(ctx: Context, wanted: PackageManagerName | 'auto', root: string): Promise<PackageManagerName> {
  // dnf and yum refuse to run without root even for an image root; rpm --root does not.
  const auto = wanted === 'auto' && !ctx.isRoot ? 'rpm' : wanted;
  const pm = await findPackageManager(ctx.env, auto);
  if (!pm) {
    throw new KdebuginfoError(wanted === 'auto' ? 'no package manager found: none of dnf5, dnf, yum, rpm is on PATH' : `${wanted} is not on PATH`, {
      hint: root === '/' ? 'this host does not look like an RPM-based system' : 'install rpm on this host to install into an image root',
    });
  }
  return pm;
}

/**
 * On a terminal, with several kernels to choose from and no --kernel, ask which one; otherwise
 * leave the choice to pickKernel (which fails with exit 2 naming --kernel when it must).
 */
async function chooseKernel(ctx: Context, opts: InstallOptions, root: string): Promise<string | undefined> {
  const arg = opts.kernel;
  if (arg !== undefined || !ctx.isInteractive || opts.yes) return arg;
  const installed = await installedKernels(root);
  const running = (await readHostFacts('/')).unameRelease;
  const newest = installed[installed.length - 1];
  if (root === '/') {
    const others = installed.filter((k) => k !== running);
    if (others.length === 0) return undefined;
    return promptSelect(ctx, 'Which kernel should be made ready for SystemTap?', [
      { value: running, name: `${running} (running)` },
      ...others.reverse().map((k) => ({ value: k, name: k === newest ? `${k} (newest installed)` : k })),
    ]);
  }
  if (installed.length < 2) return undefined;
  return promptSelect(
    ctx,
    `Several kernels are installed in ${root}. Which one?`,
    [...installed].reverse().map((k) => ({ value: k, name: k === newest ? `${k} (newest installed)` : k })),
  );
}

export function formatInstall(r: InstallResult): string {
  const lines = [r.msg];
  for (const p of r.packages) lines.push(`  ${p.action.padEnd(13)} ${p.file}`);
  if (r.verify) lines.push(`verify (${r.verify.level}): ${r.verify.ok ? 'ok' : 'FAILED'}: ${r.verify.detail}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  lines.push(`took ${(r.durationMs / 1000).toFixed(1)} s`);
  if (!r.failed) {
    lines.push(
      '',
      'Try the probe:',
      `  stap -v -e 'probe kernel.function("kernel_clone") !, kernel.function("_do_fork") !, kernel.function("do_fork") { printf("%s[%d] forks\\n", execname(), pid()) }' -c 'sh -c "sleep 1 & wait"'`,
    );
  }
  return lines.join('\n') + '\n';
}

export type { OsInfo };
