/**
 * The RPM backend: the three packages named from the kernel release (src/core/package-naming.ts),
 * found on the mirrors from repodata first (src/core/resolver.ts), fetched by the download engine,
 * signatures checked against the root's keys in a throw-away keyring, installed with dnf, yum or
 * rpm into the host or an image root.
 */
import type { Context } from '../../context.js';
import type { Backend, InstallItem, InstallSettings } from '../types.js';
import type { Target } from '../../core/target.js';
import { packagesFor, nvraOf } from '../../core/package-naming.js';
import { planLocations, type PlannedPackage } from '../../core/resolver.js';
import { NO_PUBLIC_SOURCE, hasSources } from '../../core/sources.js';
import { compareWithPlan } from '../../core/stap-prep.js';
import { describeVerdict } from '../../core/checksig.js';
import type { MirrorRewrite } from '../../core/mirrors.js';
import { maskUrlCredentials } from '../../core/credentials.js';
import { checkSignatures, queryInstalled, trustedKeyFiles } from '../../io/rpm.js';
import { findPackageManager, installFiles, type PackageManagerName } from '../../io/package-manager.js';
import { runStapPrep } from '../../io/stap-prep.js';
import { ensureSystemtap } from '../systemtap.js';
import { resolveOrThrow } from './resolve.js';
import { join } from 'node:path';
import { ExitCode, KdebuginfoError, UsageError } from '../../errors.js';
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { readHostFacts } from '../../io/host.js';
import { isDebFamily } from '../../core/debian.js';
import { parseOsReleaseFields } from '../../core/os-release.js';

export function rpmBackend(ctx: Context, target: Target, where: { root: string; isRunning: boolean }): Backend {
  const { kernel, os } = target;
  const json = {
    kernel: { uname: kernel.uname, version: kernel.version, release: kernel.release, arch: kernel.arch, flavor: kernel.flavor },
    os: { id: os.id, version: os.version, name: os.name },
  };
  const planFor = (rewrites: readonly MirrorRewrite[]) => planLocations(kernel, os, packagesFor(kernel), rewrites);
  let planned: PlannedPackage[] = [];

  return {
    family: 'rpm',
    bundleTemplate: 'rpm',
    json,
    uname: kernel.uname,
    root: where.root,
    isRunning: where.isRunning,
    notes: target.notes,

    async plan(opts) {
      const notes = [...target.notes];
      const noPublic = NO_PUBLIC_SOURCE[os.id];
      if (noPublic) notes.push(noPublic);
      else if (!hasSources(os)) notes.push(`no known public mirrors for ${os.name}: use --mirror to name yours`);
      // Shown only: the planned packages keep the real URLs (a mirror's credentials included) for requests.
      return { ...json, packages: planFor(opts.rewrites).map(({ locations: _, ...p }) => ({ ...p, candidates: p.candidates.map(maskUrlCredentials) })), notes };
    },

    async resolve(opts) {
      return resolveOrThrow(ctx, planFor(opts.rewrites), { os, kernel }, opts);
    },

    async offlineExtras() {
      return [];
    },

    async checkInstall(_s, _how, warnings) {
      if (where.root !== '/') return;
      // An RPM kernel planned on a Debian/Ubuntu host (a control machine): its packages cannot
      // go into this host's /, only into an image root, or be fetched for the target. A dry run
      // may still show what that host would do, saying so.
      const host = await readHostFacts('/');
      const id = host.osRelease ? parseOsReleaseFields(host.osRelease.text).ID : undefined;
      if (id === undefined || !isDebFamily(id)) return;
      const why = `${kernel.uname} is a ${os.name} kernel, and this host is ${id}: its RPMs cannot be installed into / here`;
      if (ctx.dryRun) {
        warnings.push(`${why}; this dry run shows what a ${os.name} host would do`);
        ctx.ui.warn(warnings[warnings.length - 1] as string);
        return;
      }
      throw new UsageError(why, `install into an image root with --root DIR, fetch them with kdebuginfo download or bundle, or run kdebuginfo on the ${os.name} host`);
    },

    async preflight(s) {
      if (where.root !== '/') {
        try {
          await access(where.root, constants.W_OK);
        } catch {
          throw new KdebuginfoError(`--root ${where.root} is not writable by this user`, { exitCode: ExitCode.usage, hint: 'run as root, or choose an image root you can write' });
        }
      }
      if (!s.noGpgcheck && (await trustedKeyFiles(where.root, s.gpgKeys)).length === 0) throw noTrustedKeys(where.root);
    },

    async ensureSystemtap(s, warnings) {
      await ensureSystemtap(ctx, s, warnings, {
        question: 'Install systemtap and systemtap-runtime from the configured repos?',
        install: async () => {
          const pm = await findPackageManager(ctx.env);
          if (!pm || pm === 'rpm') throw new KdebuginfoError('SystemTap is not installed and there is no dnf or yum to install it with');
          ctx.ui.info(`installing systemtap with ${pm}`);
          await ctx.exec([pm, '-y', 'install', `--releasever=${os.version}`, '--setopt=*.skip_if_unavailable=True', 'systemtap', 'systemtap-runtime'], { mutates: true });
        },
      });
    },

    async installItems(s, bundle): Promise<InstallItem[]> {
      if (bundle) return bundle.files.map((f) => ({ role: f.role, name: f.name, file: f.file, key: nvraOf(f), size: f.size }));
      planned = planFor(s.rewrites);
      return planned.map((p) => ({ role: p.role, name: p.name, file: p.file, key: nvraOf(p), size: null }));
    },

    async present(items) {
      const installed = await queryInstalled(ctx.exec, where.root, items.map((i) => i.key));
      return new Set(items.filter((i) => installed.get(i.key)).map((i) => i.key));
    },

    /**
     * Run stap-prep (where present) so it cannot install anything, and say where its list of
     * missing packages differs from ours: it gets +64k, +rt, +rt-debug and .centos.plus names wrong.
     */
    async compareWithStapPrep(_items, missing, warnings) {
      if (where.root !== '/') return;
      const report = await runStapPrep(ctx, kernel.uname);
      if (!report) return;
      if (report.branch !== 'rpm') {
        ctx.ui.debug(`stap-prep took its ${report.branch} branch; not comparing`);
        return;
      }
      // stap-prep lists the kernel image package and never -common: neither is a disagreement.
      const cmp = compareWithPlan(report, missing.map((m) => m.key));
      const theirs = cmp.onlyStapPrep.filter((n) => !n.startsWith(`${kernel.family}-${kernel.version}`));
      const ours = cmp.onlyOurs.filter((n) => !n.includes('-debuginfo-common'));
      const found: string[] = [];
      if (theirs.length > 0) found.push(`stap-prep asks for ${theirs.join(', ')}, which kdebuginfo does not install (its name for this kernel differs)`);
      if (ours.length > 0) found.push(`stap-prep does not list ${ours.join(', ')}, which this kernel needs`);
      for (const w of found) {
        warnings.push(w);
        ctx.ui.warn(w);
      }
    },

    async resolveForInstall(missing, s) {
      const wanted = planned.filter((p) => missing.some((m) => m.key === nvraOf(p)));
      // The common package may be retargeted by the debuginfo package's Requires.
      return { kind: 'resolved', packages: await resolveOrThrow(ctx, wanted, { os, kernel }, s, json) };
    },

    async preview() {
      return { extra: '', alsoInstalled: [], alsoFetchedBytes: 0 };
    },

    async checkTrust(files, s, how, warnings) {
      if (s.noGpgcheck) {
        warnings.push('signatures not checked (--no-gpgcheck)');
        ctx.ui.warn('signatures not checked (--no-gpgcheck)');
        return;
      }
      const keys = await trustedKeyFiles(where.root, s.gpgKeys);
      if (keys.length === 0) throw noTrustedKeys(where.root);
      const verdicts = await checkSignatures(ctx.exec, files.map((f) => f.path), keys);
      const bad = [...verdicts.entries()].filter(([, v]) => v.verdict !== 'signed');
      if (bad.length > 0) {
        // A key can only help a package that is signed: say so only then.
        const keyCanHelp = bad.some(([, v]) => v.verdict === 'untrusted-key');
        throw new KdebuginfoError(`refusing to install: ${bad.map(([f, v]) => describeVerdict(f.split('/').pop() ?? f, v)).join('; ')}`, {
          hint: `${keyCanHelp ? 'trust the signing key with --gpg-key FILE, or install' : 'install'} anyway with --no-gpgcheck; the files stay in ${how.kept}`,
        });
      }
    },

    installVia: '',
    buildNote: () => '',

    async install(paths, s) {
      const pm = await choosePackageManager(ctx, s.packageManager, where.root);
      ctx.ui.info(`installing ${paths.length} package(s) with ${pm}${where.root === '/' ? '' : ` into ${where.root}`}`);
      await installFiles(ctx.exec, pm, { files: [...paths], root: where.root, releasever: os.version, noGpgcheck: s.noGpgcheck });
      return pm;
    },
  };
}

function noTrustedKeys(root: string): KdebuginfoError {
  return new KdebuginfoError(`no trusted GPG keys: none in ${join(root, 'etc/pki/rpm-gpg')} and no --gpg-key given`, {
    hint: 'pass the distro key with --gpg-key FILE (e.g. RPM-GPG-KEY-centosofficial), or --no-gpgcheck to skip the check',
  });
}

async function choosePackageManager(ctx: Context, wanted: InstallSettings['packageManager'], root: string): Promise<PackageManagerName> {
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
