import type { Context } from '../context.js';
import { finishInstall, verifyAfterInstall, type InstallResult, type PackageAction } from './install-result.js';
import { readTarget } from '../backends/target.js';
import type { Backend, InstallItem, InstallSettings, PlanOptions, Resolved } from '../backends/types.js';
import { installedKernels } from '../backends/rpm/target.js';
import { formatBytes } from '../core/format.js';
import { downloadVerified, inspectCache } from '../io/download.js';
import { recordInstall } from '../io/install-record.js';
import { checkBundleKernel, openBundle, type OpenedBundle } from '../io/bundle-read.js';
import { packagingOf } from '../io/bundle.js';
import { promptConfirm, promptSelect } from '../io/prompt.js';
import { readHostFacts } from '../io/host.js';
import type { PackageManagerName } from '../io/package-manager.js';
import { cacheDirFor, downloadItemOf, engineOptions, lockCache, progressFor } from './fetch-plan.js';
import { ExitCode, KdebuginfoError, UsageError } from '../errors.js';
import { decideVerification, type VerifyLevel, type Verifier } from './install-verify.js';

export type { VerifyLevel, Verifier };

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

export type { InstallResult, PackageAction } from './install-result.js';

/**
 * The main job, as one story for every packaging family: choose the target, see what is already
 * there, find and fetch what is missing (or take it from a bundle), check where it came from,
 * install, verify, report. Idempotent: a second run finds everything present and changes nothing.
 * What differs between RPM and Debian/Ubuntu lives in the backend (src/backends/).
 */
export async function runInstall(ctx: Context, opts: InstallOptions, verifier?: Verifier): Promise<InstallResult> {
  // A dry run of an RPM bundle reads only its manifest: nothing is unpacked. A Debian bundle's
  // files are read even then (apt simulates the install and vouches for them).
  const bundle = opts.fromBundle ? await openBundle(opts.fromBundle, { manifestOnly: (m) => ctx.dryRun && packagingOf(m) === 'rpm' }) : undefined;
  try {
    let targetOpts: PlanOptions;
    if (bundle) {
      // The bundle was made for one kernel and OS: they come from its manifest.
      checkBundleKernel(opts.kernel, bundle.manifest);
      const { kernel, os } = bundle.manifest;
      targetOpts = { ...opts, kernel: kernel.uname, os: opts.os ?? `${os.id}:${os.version}` };
    } else {
      targetOpts = { ...opts, kernel: await chooseKernel(ctx, opts, opts.root ?? '/') };
    }
    return await installTarget(ctx, await readTarget(ctx, targetOpts), opts, verifier, bundle);
  } finally {
    await bundle?.close();
  }
}

/** The install story for a target already read (runInstall reads it from the flags; tests may bind their own). */
export async function installTarget(ctx: Context, backend: Backend, opts: InstallOptions, verifier?: Verifier, bundle?: OpenedBundle): Promise<InstallResult> {
  const started = Date.now();
  const root = opts.root ?? '/';
  const warnings: string[] = [];
  if (bundle && packagingOf(bundle.manifest) !== backend.family) {
    throw new UsageError(`the bundle holds ${packagingOf(bundle.manifest)} packages, but ${bundle.manifest.os.name} is served with ${backend.family} packages`, 'make the bundle again with kdebuginfo bundle');
  }
  const s: InstallSettings = {
    root,
    gpgKeys: opts.gpgKeys,
    noGpgcheck: opts.noGpgcheck,
    packageManager: opts.packageManager,
    wait: opts.wait,
    yes: opts.yes,
    systemtap: opts.systemtap,
    rewrites: opts.rewrites,
    userAgent: opts.userAgent,
  };
  if (root === '/' && !ctx.isRoot && !ctx.dryRun) {
    throw new KdebuginfoError('installing packages on this host needs root', {
      exitCode: ExitCode.needsRoot,
      hint: 'run it with sudo, or use --dry-run to see what would change',
    });
  }
  await backend.checkInstall(s, { fromBundle: bundle !== undefined }, warnings);
  // Decided before anything changes: a verification that cannot run is a usage error now, not
  // a failure after the packages went in.
  const runVerification = decideVerification(ctx, backend, opts.verify, verifier);
  if (root === '/') await backend.ensureSystemtap(s, warnings);

  const items = await backend.installItems(s, bundle);
  const present = await backend.present(items);
  const missing = items.filter((i) => !present.has(i.key));
  await backend.compareWithStapPrep(items, missing, warnings);

  const next = nextSteps(backend, ctx.dryRun);
  const base = { kernel: backend.json.kernel, os: backend.json.os, failed: false, rc: 0, warnings, next };
  const sizes = new Map<string, number | null>(items.map((i) => [i.key, i.size]));
  const report = (action: (i: InstallItem) => InstallResult['packages'][number]['action']) =>
    items.map((i) => ({ role: i.role, name: i.name, file: i.file, action: action(i), size: sizes.get(i.key) ?? null }));
  const whenMissing = (a: PackageAction) => (i: InstallItem) => (missing.includes(i) ? a : 'present');
  const allPresent = async () =>
    finishInstall({
      ...base,
      changed: false,
      msg: `all ${items.length} packages ${bundle ? 'of the bundle ' : ''}for ${backend.uname} are already installed${backend.buildNote()}`,
      packages: report(() => 'present'),
      verify: await runVerification(),
      durationMs: Date.now() - started,
    });

  if (missing.length === 0) return allPresent();
  // Before anything is fetched: what would stop the install after the download stops it now.
  await backend.preflight(s, { fromBundle: bundle !== undefined });

  // What to install: the bundle's own files, or found where they can be fetched.
  let toFetch: Resolved[] = [];
  let local: Array<{ item: InstallItem; path: string }> = [];
  if (bundle) {
    local = missing.map((item) => ({ item, path: (bundle.files.find((f) => f.file === item.file) as OpenedBundle['files'][number]).path }));
  } else {
    const outcome = await backend.resolveForInstall(missing, s, ctx.signal);
    if (outcome.kind === 'would') {
      return finishInstall({ ...base, changed: true, msg: outcome.msg, packages: report(whenMissing('would-install')), verify: null, durationMs: Date.now() - started });
    }
    toFetch = outcome.packages;
    for (const p of toFetch) {
      const item = missing.find((m) => m.role === p.role);
      if (item) {
        sizes.set(item.key, p.size);
        if (!item.file) item.file = p.file;
      }
    }
  }
  const kept = bundle ? `the bundle ${opts.fromBundle}` : cacheDirFor(ctx, opts);
  const checkTrust = async (files: Parameters<Backend['checkTrust']>[0]) => {
    try {
      await backend.checkTrust(files, s, { fromBundle: bundle !== undefined, kept }, warnings);
    } catch (err) {
      if (err instanceof KdebuginfoError && err.detail === undefined) {
        throw new KdebuginfoError(err.message, { exitCode: err.exitCode, hint: err.hint, detail: { ...base, packages: report(whenMissing('would-install')) }, cause: err });
      }
      throw err;
    }
  };
  // A bundle's files are here already: where they come from is checked before anything else.
  const localFiles = local.map((l) => ({ path: l.path, file: l.item.file, name: l.item.name, version: '', sha256: null }));
  if (bundle && localFiles.every((f) => f.path !== '')) await checkTrust(localFiles);
  const ours = bundle ? missing.map((m) => ({ name: m.name, file: m.file })) : toFetch;
  const unpacked = localFiles.every((f) => f.path !== '');
  const { extra, alsoInstalled, alsoFetchedBytes } = bundle && !unpacked ? { extra: '', alsoInstalled: [], alsoFetchedBytes: 0 } : await backend.preview(ours, bundle ? local.map((l) => l.path) : undefined, warnings);
  // With the package manager's own downloads (apt fetches the dependencies it adds itself).
  const total = (bundle ? local.reduce((n, l) => n + (l.item.size ?? 0), 0) : await bytesToFetch(ctx, opts, toFetch)) + alsoFetchedBytes;
  const count = missing.length;

  if (ctx.dryRun) {
    return finishInstall({
      ...base,
      changed: true,
      msg: `would ${bundle ? '' : `download ${formatBytes(total)} and `}install ${count} package(s) for ${backend.uname}${bundle ? ' from the bundle' : ''}${backend.installVia}${extra}`,
      packages: report(whenMissing('would-install')),
      verify: null,
      durationMs: Date.now() - started,
    });
  }

  if (ctx.isInteractive && !opts.yes) {
    const list = missing.map((m) => `  ${m.file || m.name} (${sizes.get(m.key) == null ? 'size unknown' : formatBytes(sizes.get(m.key) as number)})`).join('\n');
    const from = bundle ? `the bundle ${opts.fromBundle}` : hostsOf(toFetch);
    ctx.ui.info(
      `To install for ${backend.uname} (${backend.json.os.name}) into ${root === '/' ? '/ (this host)' : root}, from ${from}:\n${list}` +
        `${alsoInstalled.length > 0 ? `\n  and their dependencies: ${alsoInstalled.join(', ')}` : ''}`,
    );
    if (!(await promptConfirm(ctx, `${bundle ? '' : `Download ${formatBytes(total)} and i`}${bundle ? 'I' : ''}nstall ${count} package(s)${bundle ? ' from the bundle' : ''}${backend.installVia}?`))) {
      throw new KdebuginfoError('cancelled: nothing was installed', { exitCode: ExitCode.failed });
    }
  }

  const cacheDir = cacheDirFor(ctx, opts);
  const { lock, waited } = await lockCache(ctx, cacheDir, opts.wait);
  let manager: string;
  let installedNow: InstallItem[];
  try {
    // Another run may have installed them while this one waited for the lock.
    const nowPresent = waited ? await backend.present(missing) : new Set<string>();
    installedNow = missing.filter((m) => !nowPresent.has(m.key));
    if (installedNow.length === 0) return await allPresent();
    const files = bundle
      ? localFiles.filter((f) => installedNow.some((m) => m.file === f.file))
      : await fetchForInstall(ctx, opts, cacheDir, toFetch.filter((p) => installedNow.some((m) => m.role === p.role)), root);
    if (!bundle) await checkTrust(files);
    manager = await backend.install(files.map((f) => f.path), s);
    const after = await backend.present(installedNow);
    const stillMissing = installedNow.filter((m) => !after.has(m.key));
    if (stillMissing.length > 0) {
      throw new KdebuginfoError(`${manager} finished but ${stillMissing.map((m) => m.file || m.name).join(', ')} is not installed`);
    }
    // What kdebuginfo installed, so `remove` and `prune` never take what the user installed otherwise.
    await recordInstall(ctx.exec, { root, family: backend.family, kernel: backend.uname, packages: installedNow.map((i) => ({ name: i.name, key: i.key })) }).catch((err: unknown) => {
      const w = `could not record what was installed: ${(err as Error).message}`;
      warnings.push(w);
      ctx.ui.warn(w);
    });
  } finally {
    await lock.release();
  }

  return verifyAfterInstall(
    {
      ...base,
      changed: true,
      msg: `installed ${installedNow.length} package(s) for ${backend.uname}${bundle ? ' from the bundle' : ''}${extra}`,
      packages: report(whenMissing('installed')),
    },
    runVerification,
    started,
  );
}

/** What a download still has to fetch: a verified copy in the cache costs nothing, a partial one its rest. */
async function bytesToFetch(ctx: Context, opts: InstallOptions, packages: readonly Resolved[]): Promise<number> {
  const states = await inspectCache(packages.map(downloadItemOf), { cacheDir: cacheDirFor(ctx, opts), exec: ctx.exec });
  return packages.reduce((n, p, i) => {
    const st = states[i];
    const size = p.size ?? 0;
    if (st?.state === 'cached') return n;
    if (st?.state === 'partial') return n + Math.max(0, size - st.bytes);
    return n + size;
  }, 0);
}

/** The missing packages into the cache, resumable and verified, as `download` does. */
async function fetchForInstall(ctx: Context, opts: InstallOptions, cacheDir: string, packages: readonly Resolved[], root: string) {
  const progress = progressFor(ctx);
  try {
    const files = await downloadVerified(packages.map(downloadItemOf), { ...engineOptions(ctx, opts, cacheDir, progress), installRoot: root });
    return files.map((f, i) => {
      const p = packages[i] as Resolved;
      return { path: f.path, file: f.file, name: p.name, version: p.version, sha256: f.sha256 };
    });
  } finally {
    progress.close();
  }
}

/**
 * On a terminal, with several kernels to choose from and no --kernel, ask which one; otherwise
 * leave the choice to the target reader (which fails with exit 2 naming --kernel when it must).
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
  for (const p of r.packages) lines.push(`  ${p.action.padEnd(13)} ${p.file || p.name}`);
  if (r.verify) lines.push(`verify (${r.verify.level}): ${r.verify.ok ? 'ok' : 'FAILED'}: ${r.verify.detail}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  lines.push(`took ${(r.durationMs / 1000).toFixed(1)} s`);
  if (!r.failed && r.next.length > 0) lines.push('', 'Next:', ...r.next.map((n) => `  ${n}`));
  return lines.join('\n') + '\n';
}

/** The probe every SystemTap tutorial starts with, on the fork path of any kernel generation. */
const TRY_THE_PROBE = `stap -v -e 'probe kernel.function("kernel_clone") !, kernel.function("_do_fork") !, kernel.function("do_fork") { printf("%s[%d] forks\\n", execname(), pid()) }' -c 'sh -c "sleep 1 & wait"'`;

/**
 * What to do next, only where it is true: the probe on the host's running kernel; a dry run says
 * how to make it real; an image root or a kernel that is not running cannot be probed from here.
 */
function nextSteps(backend: Backend, dryRun: boolean): string[] {
  const k = backend.uname;
  if (dryRun) return [`run the same command without --dry-run to install`];
  if (backend.root !== '/') return [`inside the image, once it boots ${k}: kdebuginfo verify, then try the probe`];
  if (!backend.isRunning) return [`kdebuginfo verify --kernel ${k} --level compile (proves it without running ${k})`, `after booting ${k}: ${TRY_THE_PROBE}`];
  return [`try the probe: ${TRY_THE_PROBE}`];
}

/** The hosts the packages come from, for the confirmation (credentials are masked at output). */
function hostsOf(packages: readonly Resolved[]): string {
  const hosts = [...new Set(packages.map((p) => { try { return new URL(p.url).host; } catch { return p.url; } }))];
  return hosts.length > 0 ? hosts.join(', ') : 'the mirrors';
}

export type { Backend };
