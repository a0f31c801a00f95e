/**
 * What a Debian/Ubuntu install does to the host besides installing the two packages: SystemTap
 * itself, Ubuntu's ddebs source, the stap-prep comparison, and the checks a bundle's .debs pass.
 */
import type { Context } from '../../context.js';
import type { InstallSettings } from '../types.js';
import type { DebTarget } from './target.js';
import type { DebPlanned } from './plan.js';
import { compareDebWithStapPrep, ddebsSourceLines, debImagePackages, unreachableDdebs, UBUNTU_DDEBS, type DebPackageRole } from '../../core/debian.js';
import { rewriteUrl, type MirrorRewrite } from '../../core/mirrors.js';
import { aptInstall, aptPrintUris, aptShow, aptSimulateInstall, aptUpdate, dpkgArchitecture, dpkgInstalled, writeAptSource, type AptUri } from '../../io/apt.js';
import type { OpenedBundle } from '../../io/bundle-read.js';
import { debVersionOf } from '../../io/bundle.js';
import { runStapPrep } from '../../io/stap-prep.js';
import { ExitCode, KdebuginfoError, UsageError } from '../../errors.js';

/** How long apt may wait for the dpkg lock (another apt or unattended-upgrades): --no-wait is 0. */
const LOCK_WAIT_SECONDS = 600;

export function aptWaitSeconds(s: Pick<InstallSettings, 'wait'>): number {
  return s.wait ? LOCK_WAIT_SECONDS : 0;
}

export async function bundlePackagesPresent(ctx: Context, files: OpenedBundle['files']): Promise<Set<string>> {
  const installed = await dpkgInstalled(ctx.exec, files.map((f) => f.name));
  const out = new Set<string>();
  for (const f of files) {
    const have = installed.get(f.name);
    if (have === undefined) continue;
    const want = debVersionOf(f);
    if (have === want || (f.dependencyOf !== undefined && (await isDebVersionAtLeast(ctx, have, want)))) out.add(f.name);
  }
  return out;
}

/** `dpkg --compare-versions A ge B`: Debian's own ordering (epochs, `~`), exit 0 yes, 1 no. */
async function isDebVersionAtLeast(ctx: Context, a: string, b: string): Promise<boolean> {
  const r = await ctx.exec(['dpkg', '--compare-versions', a, 'ge', b], { allowFailure: true });
  if (r.exitCode > 1) throw new KdebuginfoError(`dpkg --compare-versions ${a} ge ${b} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.exitCode === 0;
}

/**
 * A bundle's .debs carry no signature of their own, and the manifest's sha256 sums travel in the
 * same tarball: they show the copy is whole, not where it came from. What vouches for a .deb is
 * this host's apt: its lists are signed by the archive, and `apt-cache show NAME=VERSION` gives
 * the file's SHA256 there. A file whose sum differs, or that apt does not list (stale lists, an
 * air-gapped host), is refused unless --no-gpgcheck.
 */
export async function vouchForBundleFiles(ctx: Context, files: OpenedBundle['files'], noGpgcheck: boolean, warnings: string[]): Promise<void> {
  const problems: string[] = [];
  for (const f of files) {
    const version = debVersionOf(f);
    const stanza = await aptShow(ctx.exec, f.name, version);
    const listed = stanza?.['SHA256']?.toLowerCase();
    if (listed === undefined) problems.push(`${f.file}: apt on this host does not list ${f.name}=${version}, so nothing vouches for it`);
    else if (listed !== f.sha256) problems.push(`${f.file}: its sha256 ${f.sha256} is not the ${listed} apt's signed lists give for ${f.name}=${version}`);
  }
  if (problems.length === 0) return;
  if (noGpgcheck) {
    const w = `--no-gpgcheck: installing on the bundle's own sha256 sums; apt's lists do not vouch for ${problems.length} file(s)`;
    warnings.push(w);
    ctx.ui.warn(w);
    return;
  }
  throw new KdebuginfoError(`the bundle's packages are not the ones apt's signed lists describe:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
    exitCode: ExitCode.failed,
    hint: 'refresh apt\'s lists (apt-get update) where the host reaches its mirror, or pass --no-gpgcheck to install on the bundle\'s sha256 sums alone',
  });
}

/** Ubuntu's releases name no architecture: an amd64 bundle must not reach an arm64 host's apt. */
export async function checkBundleArch(ctx: Context, files: OpenedBundle['files']): Promise<void> {
  const host = await dpkgArchitecture(ctx.exec);
  const foreign = [...new Set(files.map((f) => f.arch).filter((a) => a !== 'all' && a !== host))];
  if (foreign.length > 0) throw new UsageError(`the bundle's packages are for ${foreign.join(', ')}, this host is ${host}`, 'make the bundle for this host\'s architecture');
}

/**
 * What every apt install refuses or ignores, before anything changes: --root (apt installs into
 * the running system), another --package-manager, a host whose apt is not the target's, a
 * non-root user without --dry-run; --gpg-key is a warning, and so is --no-gpgcheck except for
 * a bundle (gpgcheckApplies), whose files apt's lists must vouch for.
 */
export function checkDebInstallOptions(ctx: Context, target: DebTarget, opts: InstallSettings, warnings: string[], how: { elsewhereHint: string; gpgcheckApplies?: boolean }): void {
  const root = opts.root;
  const { kernel: k, os } = target;
  if (root !== '/') {
    throw new UsageError(`--root is not supported for ${os.name} targets: apt installs into the running system`, `run it inside the image instead: chroot ${root} kdebuginfo install --kernel ${k.uname}`);
  }
  if (opts.packageManager !== 'auto') {
    throw new UsageError(`--package-manager ${opts.packageManager}: ${os.name} packages are installed with apt`);
  }
  if (!target.aptIsTarget) {
    throw new UsageError(`this machine's apt does not serve ${os.name}: install runs on the target host`, how.elsewhereHint);
  }
  if (!ctx.isRoot && !ctx.dryRun) {
    throw new KdebuginfoError('installing packages on this host needs root', {
      exitCode: ExitCode.needsRoot,
      hint: 'run it with sudo, or use --dry-run to see what would change',
    });
  }
  const ignored = (what: string) => {
    warnings.push(`${what} is ignored on ${os.name}: apt checks the archive's signatures itself`);
    ctx.ui.warn(warnings[warnings.length - 1] as string);
  };
  if (opts.noGpgcheck && !how.gpgcheckApplies) ignored('--no-gpgcheck');
  if (opts.gpgKeys.length > 0) ignored('--gpg-key');
}

/**
 * `apt-get install -s` of what is about to be installed (NAME=VERSION specs or .deb paths): which
 * other packages apt would install (for the message) and upgrade (a warning: the host changes
 * beyond our packages). A simulation: nothing changes, so it runs under --dry-run too.
 */
export async function simulateAptInstall(ctx: Context, specs: readonly string[], ours: readonly string[], warnings: string[]): Promise<{ alsoInstalled: string[]; extra: string }> {
  const simulated = await aptSimulateInstall(ctx.exec, specs);
  const isOurs = new Set(ours);
  const alsoInstalled = simulated.filter((c) => !isOurs.has(c.name) && c.previous === null).map((c) => c.name);
  const alsoUpgraded = simulated.filter((c) => !isOurs.has(c.name) && c.previous !== null).map((c) => `${c.name} (${c.previous} -> ${c.version})`);
  if (alsoUpgraded.length > 0) warnings.push(`apt also upgrades ${alsoUpgraded.join(', ')} (dependencies of ${[...isOurs].join(', ')})`);
  return { alsoInstalled, extra: alsoInstalled.length > 0 ? `; apt also installs ${alsoInstalled.join(', ')}` : '' };
}

/** SystemTap itself, from apt (asked, or --yes: src/backends/systemtap.ts decides). */
export async function installSystemtapDeb(ctx: Context, s: InstallSettings): Promise<void> {
  ctx.ui.info('installing systemtap with apt-get');
  await aptInstall(ctx.exec, ['systemtap'], { waitSeconds: aptWaitSeconds(s) });
}

/**
 * Ubuntu's ddebs archive: the keyring package from Ubuntu's main archive, our own source file,
 * then apt-get update. Under --dry-run only says what it would do.
 */
export async function addDdebsSource(ctx: Context, target: DebTarget, rewrites: readonly MirrorRewrite[], waitSeconds: number): Promise<void> {
  const codename = target.os.codename;
  if (codename === undefined) {
    throw new UsageError(`cannot name the ddebs suites: the codename of ${target.os.name} is unknown`, 'add the ddebs source yourself (https://documentation.ubuntu.com/server/explanation/debugging/debug-symbol-packages/)');
  }
  const url = rewriteUrl(UBUNTU_DDEBS.url, rewrites);
  const text = ddebsSourceLines(codename, url);
  ctx.ui.info(`${ctx.dryRun ? 'would add' : 'adding'} Ubuntu's debug symbol archive: ${UBUNTU_DDEBS.sourcesFile} (keyring ${UBUNTU_DDEBS.keyringPackage})`);
  const keyring = await dpkgInstalled(ctx.exec, [UBUNTU_DDEBS.keyringPackage]);
  if (!keyring.has(UBUNTU_DDEBS.keyringPackage)) await aptInstall(ctx.exec, [UBUNTU_DDEBS.keyringPackage], { waitSeconds });
  await writeAptSource(UBUNTU_DDEBS.sourcesFile, text, ctx.dryRun);
  // apt-get update exits 0 when a source cannot be fetched (it only warns): without this check
  // the user would next read "no such package" for a source that was never reached.
  const failed = unreachableDdebs(await aptUpdate(ctx.exec, { waitSeconds }), url);
  if (failed.length > 0) {
    throw new KdebuginfoError(`apt-get update could not fetch Ubuntu's debug symbol archive: ${failed.map((f) => `${f.url}: ${f.reason}`).join('; ')}`, {
      exitCode: ExitCode.network,
      hint: `${url} must be reachable from this host (through a proxy: apt's Acquire::http::Proxy), or name a mirror of it with --mirror ${UBUNTU_DDEBS.url}=URL; the source is ${UBUNTU_DDEBS.sourcesFile}`,
    });
  }
}

/**
 * stap-prep's Debian branch knows only the running kernel and refuses a release argument, so it
 * is run (as nobody, through the one runner: it would apt-get install as root) only when the
 * target is the running kernel, and its list compared with ours.
 */
export async function compareWithDebStapPrep(ctx: Context, target: DebTarget, planned: readonly { role: DebPackageRole; name: string }[], warnings: string[]): Promise<void> {
  const report = await runStapPrep(ctx, undefined);
  if (!report) return;
  if (report.branch !== 'deb' || (report.release !== undefined && report.release !== target.kernel.uname)) {
    ctx.ui.debug(`stap-prep took its ${report.branch} branch for ${report.release ?? '?'}; not comparing`);
    return;
  }
  const byRole = (role: DebPackageRole) => planned.find((p) => p.role === role)?.name ?? '';
  const found = compareDebWithStapPrep(report, { debuginfo: byRole('debuginfo'), devel: byRole('devel') }, debImagePackages(target.kernel));
  for (const w of found) {
    warnings.push(w);
    ctx.ui.warn(w);
  }
}

/**
 * Dependencies of the headers package that apt has at this very version, i.e. built from the same
 * kernel upload: on Debian 12 `linux-headers-6.1.0-56-common (= 6.1.192-2)`,
 * `linux-kbuild-6.1 (>= 6.1.192-2)` and the unversioned `linux-compiler-gcc-12-x86`
 * (fixtures/captured/apt/show-headers.txt); not the generic toolchain a target already has.
 */
export async function sameBuildDependencies(ctx: Context, devel: DebPlanned, version: string): Promise<Array<{ name: string; version: string; uri: AptUri }>> {
  const stanza = await aptShow(ctx.exec, devel.name, version);
  const names = dependencyNames(stanza?.['Depends'] ?? '');
  const uris = names.length === 0 ? new Map<string, AptUri | undefined>() : await aptPrintUris(ctx.exec, names.map((n) => `${n}=${version}`));
  return names.flatMap((name) => {
    const uri = uris.get(`${name}=${version}`);
    return uri ? [{ name, version, uri }] : [];
  });
}

/** The first alternative of each dependency in a Depends field, without version or arch qualifiers. */
function dependencyNames(depends: string): string[] {
  return depends
    .split(',')
    .map((d) => /^\s*([a-z0-9][a-z0-9+.-]*)/.exec(d.split('|')[0] ?? '')?.[1])
    .filter((n): n is string => n !== undefined);
}
