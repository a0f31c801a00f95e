/**
 * The Debian/Ubuntu backend: apt names the versions and the pool URLs (from its signed lists),
 * kdebuginfo fetches the .debs through its own download engine (resume, progress, the cache and
 * its lock, the sha256 of apt's lists checked before a file is kept), and apt-get installs the
 * local files, taking any other dependency from the host's own sources.
 */
import type { Context } from '../../context.js';
import type { Backend, OfflineExtra, InstallItem, InstallPlanOutcome, InstallSettings } from '../types.js';
import type { DebTarget } from './target.js';
import { buildDebPlan, fillUris, notFound, resolvedOf, resolvedPackages, type DebPlanDetail, type DebPlanned } from './plan.js';
import {
  addDdebsSource,
  aptWaitSeconds,
  bundlePackagesPresent,
  checkBundleArch,
  checkDebInstallOptions,
  compareWithDebStapPrep,
  installSystemtapDeb,
  sameBuildDependencies,
  simulateAptInstall,
  vouchForBundleFiles,
} from './host.js';
import { ensureSystemtap } from '../systemtap.js';
import { aptInstall, aptInstallUris, aptUpdate, dpkgInstalled } from '../../io/apt.js';
import type { OpenedBundle } from '../../io/bundle-read.js';
import { debVersionOf } from '../../io/bundle.js';

export function debBackend(ctx: Context, target: DebTarget): Backend {
  const k = target.kernel;
  let plan: DebPlanDetail | undefined;
  let bundleFiles: OpenedBundle['files'] | undefined;
  let planHasUris = false;
  const planOf = async (rewrites: InstallSettings['rewrites'], withUris = true) => {
    plan = await buildDebPlan(ctx, target, rewrites, { withUris });
    planHasUris = withUris;
    return plan;
  };
  const pinned = () => plan?.planned[0]?.version ?? null;

  return {
    family: 'deb',
    bundleTemplate: 'deb',
    json: {
      kernel: { uname: k.uname, version: k.version, release: k.abi, arch: target.arch, flavor: k.flavor },
      os: { id: target.os.id, version: target.os.version, name: target.os.name },
    },
    uname: k.uname,
    root: '/',
    isRunning: target.isRunning,
    notes: target.notes,

    async plan(opts) {
      return (await planOf(opts.rewrites)).result;
    },

    async resolve(opts) {
      // apt calls take about a second each: the plan just made for the same flags is reused.
      const p = plan && planHasUris ? plan : await planOf(opts.rewrites);
      const missing = p.planned.filter((x) => x.uri === undefined);
      if (missing.length > 0) throw await notFound(ctx, target, p, missing, false);
      return resolvedPackages(target, p.planned);
    },

    /**
     * The headers' dependencies built from the same kernel upload (linux-headers-<abi>-common,
     * linux-kbuild-<series>, ...): without them the headers package does not install on a host
     * that cannot reach the archive.
     */
    async offlineExtras(): Promise<OfflineExtra[]> {
      const version = pinned();
      const devel = plan?.planned.find((p) => p.role === 'devel');
      if (version === null || devel === undefined) return [];
      const deps = await sameBuildDependencies(ctx, devel, version);
      return deps.map((d) => ({ pkg: resolvedOf(target, 'devel', d.name, d.version, d.uri), dependencyOf: devel.name }));
    },

    async checkInstall(s, how, warnings) {
      checkDebInstallOptions(ctx, target, s, warnings, {
        elsewhereHint: how.fromBundle ? `install this bundle on a ${target.os.name} host` : 'plan or download here and install there',
        gpgcheckApplies: how.fromBundle,
      });
    },

    async preflight() {
      // apt checks its own signatures; checkInstall already refused --root and a foreign apt.
    },

    async ensureSystemtap(s, warnings) {
      await ensureSystemtap(ctx, s, warnings, { question: 'Install systemtap with apt?', install: () => installSystemtapDeb(ctx, s) });
    },

    async installItems(s, bundle): Promise<InstallItem[]> {
      if (bundle) {
        await checkBundleArch(ctx, bundle.files);
        bundleFiles = bundle.files;
        return bundle.files.map((f) => ({ role: f.role, name: f.name, file: f.file, key: f.name, size: f.size }));
      }
      const p = await planOf(s.rewrites, false);
      return p.planned.map((x, i) => ({ role: x.role, name: x.name, file: p.result.packages[i]?.file ?? '', key: x.name, size: null }));
    },

    async present(items) {
      if (bundleFiles) {
        const names = new Set(items.map((i) => i.key));
        return bundlePackagesPresent(ctx, bundleFiles.filter((f) => names.has(f.name)));
      }
      return presentAtPinned(ctx, plan?.planned.filter((p) => items.some((i) => i.key === p.name)) ?? []);
    },

    async compareWithStapPrep(_items, _missing, warnings) {
      if (target.isRunning && !bundleFiles && plan) await compareWithDebStapPrep(ctx, target, plan.planned, warnings);
    },

    async resolveForInstall(missingItems, s): Promise<InstallPlanOutcome> {
      let p = plan ?? (await planOf(s.rewrites, false));
      // Ubuntu: the debug symbols come from the ddebs archive; add it when apt has no source for it.
      let updated = false;
      if (!p.hasDebugSource) {
        await addDdebsSource(ctx, target, s.rewrites, aptWaitSeconds(s));
        updated = !ctx.dryRun;
        if (updated) p = await planOf(s.rewrites);
      }
      if (!updated) await fillUris(ctx, target, p);
      const isMissing = (x: DebPlanned) => missingItems.some((m) => m.key === x.name);
      // A package apt does not know (or not at this build) may only be missing from stale lists.
      const unlisted = p.planned.filter((x) => isMissing(x) && x.uri === undefined);
      if (unlisted.length > 0 && !updated && !ctx.dryRun) {
        ctx.ui.info(`apt does not list ${unlisted.map((x) => x.name).join(', ')}${pinned() ? ` at ${pinned()}` : ''}: refreshing its lists (apt-get update)`);
        await aptUpdate(ctx.exec, { waitSeconds: aptWaitSeconds(s) });
        updated = true;
        p = await planOf(s.rewrites);
      }
      const missing = p.planned.filter(isMissing);
      const unresolved = missing.filter((x) => x.uri === undefined);
      if (unresolved.length > 0) {
        if (ctx.dryRun && !p.hasDebugSource) {
          return { kind: 'would', msg: `would add the ddebs source, refresh apt's lists and install ${missing.map((m) => m.name).join(', ')} for ${k.uname}` };
        }
        throw await notFound(ctx, target, p, unresolved, updated);
      }
      return { kind: 'resolved', packages: resolvedPackages(target, missing) };
    },

    async preview(packages, paths, warnings) {
      const version = pinned();
      const specs = paths ?? packages.map((x) => `${x.name}=${version}`);
      const ours = new Set(packages.map((x) => x.file));
      // --print-uris of local .deb files fails (exit 100): a bundle's dependencies come from it or the host.
      const [r, fetches] = await Promise.all([simulateAptInstall(ctx, specs, packages.map((x) => x.name), warnings), paths ? Promise.resolve([]) : aptInstallUris(ctx.exec, specs)]);
      for (const w of warnings.filter((x) => x.startsWith('apt also upgrades'))) ctx.ui.warn(w);
      // What apt-get install will fetch itself besides our files: the dependencies it adds.
      return { ...r, alsoFetchedBytes: fetches.filter((u) => !ours.has(u.file)).reduce((n, u) => n + (u.size ?? 0), 0) };
    },

    async checkTrust(files, s, how, warnings) {
      // Fetched from the network: the engine kept each file only once its sum equalled the one in
      // apt's signed lists. A bundle's files have only the bundle's own sums: apt must vouch.
      if (!how.fromBundle || !bundleFiles) return;
      const paths = new Set(files.map((f) => f.path));
      await vouchForBundleFiles(ctx, bundleFiles.filter((f) => paths.has(f.path)), s.noGpgcheck, warnings);
    },

    installVia: ' with apt',
    buildNote() {
      const first = bundleFiles?.[0];
      const version = first ? debVersionOf(first) : pinned();
      return version ? ` (build ${version})` : '';
    },

    async install(paths, s) {
      await aptInstall(ctx.exec, paths, { waitSeconds: aptWaitSeconds(s) });
      return 'apt-get';
    },
  };
}

/** Present means installed at the pinned build: another build of the same ABI is replaced. */
async function presentAtPinned(ctx: Context, planned: readonly DebPlanned[]): Promise<Set<string>> {
  const installed = await dpkgInstalled(ctx.exec, planned.map((p) => p.name));
  return new Set(
    planned
      .filter((x) => {
        const v = installed.get(x.name);
        return v !== undefined && (x.version === null || v === x.version);
      })
      .map((x) => x.name),
  );
}

