import { stat } from 'node:fs/promises';
import { resolve, dirname, join } from 'node:path';
import type { Context } from '../context.js';
import type { PlanResult } from './plan.js';
import { cacheDirFor, downloadItemOf, engineOptions, progressFor, resolveForFetch, type FetchOptions } from './fetch-plan.js';
import { debTargetFor, downloadDebForBundle, type DebTarget } from './deb-flow.js';
import { downloadVerified } from '../io/download.js';
import { installScriptTemplate, renderInstallScript, writeBundle, type BundleManifest } from '../io/bundle.js';
import { formatBytes } from '../core/format.js';
import { KdebuginfoError, UsageError } from '../errors.js';

export interface BundleCommandOptions extends FetchOptions {
  /** -o, --output FILE.tar.gz (required). */
  output: string;
  /** This tool's version, for the manifest and install.sh. */
  toolVersion: string;
  /** Clock for the manifest's `created` (tests pin it). */
  now?: () => Date;
}

export interface BundleResult extends Omit<PlanResult, 'packages' | 'kernel' | 'os'> {
  /** The RPM flow's kernel and OS, or Debian/Ubuntu's (`os.id` `debian`, `flavor` `cloud`). */
  kernel: BundleManifest['kernel'];
  os: BundleManifest['os'];
  /** Absolute path of the bundle; under --dry-run, where it would be written. */
  output: string;
  dryRun: boolean;
  /** The top directory inside the archive: `kdebuginfo-<uname -r>`. */
  directory: string;
  /** null under --dry-run. */
  size: number | null;
  sha256: string | null;
  manifest: BundleManifest | null;
  /** Under --dry-run, the packages that would go in (from resolve). */
  packages: Array<{ role: string; file: string; url: string; size: number | null }>;
}

/**
 * Resolve and fetch the kernel's three packages (through the cache, as `download`), then write
 * `-o FILE.tar.gz` with the RPMs, manifest.json and install.sh: how air-gapped hosts and CentOS 7
 * (whose glibc cannot run Node 18+) get served from a control machine. A Debian/Ubuntu kernel
 * gets the same archive with .debs fetched by apt (bundleDeb).
 */
export async function runBundle(ctx: Context, opts: BundleCommandOptions): Promise<BundleResult> {
  if (!/\.(tar\.gz|tgz)$/.test(opts.output)) {
    throw new UsageError(`-o ${opts.output}: a bundle is a gzipped tar, name it FILE.tar.gz`);
  }
  const output = resolve(ctx.cwd, opts.output);
  const deb = await debTargetFor(ctx, opts);
  if (deb) return bundleDeb(ctx, deb, opts, output);
  const { plan, packages } = await resolveForFetch(ctx, opts);
  const directory = `kdebuginfo-${plan.kernel.uname}`;
  const listed = packages.map((p) => ({ role: p.role, file: p.file, url: p.url, size: p.size }));
  const base = { kernel: plan.kernel, os: plan.os, notes: plan.notes, output, dryRun: ctx.dryRun, directory, packages: listed };
  if (ctx.dryRun) {
    ctx.ui.info(`would fetch ${packages.length} packages and write ${output}`);
    return { ...base, size: null, sha256: null, manifest: null };
  }

  const cacheDir = cacheDirFor(ctx, opts);
  const items = packages.map(downloadItemOf);
  const packed = items.reduce((n, i) => n + (i.size ?? 0), 0);
  const progress = progressFor(ctx);
  let files;
  try {
    files = await downloadVerified(items, {
      ...engineOptions(ctx, opts, cacheDir, progress),
      // The archive is about the size of the RPMs (gzip gains nothing on them), plus a temp copy
      // of nothing: it is written once, beside its final name.
      extraSpace: [{ path: dirname(output), bytes: packed, what: 'bundle' }],
    });
  } finally {
    progress.close();
  }

  const manifest: BundleManifest = {
    format: 1,
    packaging: 'rpm',
    tool: { name: 'kdebuginfo', version: opts.toolVersion },
    created: (opts.now ?? (() => new Date()))().toISOString(),
    kernel: { ...plan.kernel },
    os: { ...plan.os },
    packages: packages.map((p, i) => ({
      role: p.role,
      name: p.name,
      version: p.version,
      release: p.release,
      arch: p.arch,
      file: p.file,
      size: files[i]!.size,
      sha256: files[i]!.sha256,
    })),
    installer: 'install.sh',
  };
  const installScript = renderInstallScript(await installScriptTemplate(), manifest);
  ctx.ui.info(`writing ${output}`);
  const written = await writeBundle({
    output,
    directory,
    manifest,
    installScript,
    files: files.map((f) => ({ name: f.file, path: f.path })),
  });
  return { ...base, size: written.size, sha256: written.sha256, manifest };
}

/**
 * The Debian/Ubuntu bundle: `apt-get download` of the pinned debug and headers packages and the
 * headers' same-build dependencies (downloadDeb: each file checked against apt's sha256) into
 * `<cache>/deb/<R>/`, where a second run finds them and fetches nothing, then the same archive
 * as for RPMs with install-deb.sh as its install.sh. apt on this machine must serve the target's
 * release: the control machine runs the same Debian or Ubuntu release as the target.
 */
async function bundleDeb(ctx: Context, target: DebTarget, opts: BundleCommandOptions, output: string): Promise<BundleResult> {
  const uname = target.kernel.uname;
  const directory = `kdebuginfo-${uname}`;
  const dir = join(cacheDirFor(ctx, opts), 'deb', uname);
  const { download, dependencyOf } = await downloadDebForBundle(ctx, target, dir, opts);
  const listed = download.packages.map((p) => ({ role: p.role, file: p.file, url: p.url, size: p.size }));
  const base = { kernel: download.kernel, os: download.os, notes: download.notes, output, dryRun: ctx.dryRun, directory, packages: listed };
  if (ctx.dryRun) {
    ctx.ui.info(`would fetch ${download.packages.filter((p) => p.status !== 'cached').length} of ${listed.length} packages into ${dir} and write ${output}`);
    return { ...base, size: null, sha256: null, manifest: null };
  }

  const files = await Promise.all(
    download.packages.map(async (p) => {
      if (p.path === null || p.sha256 === null) throw new KdebuginfoError(`${p.file} was not fetched`);
      return { ...p, path: p.path, sha256: p.sha256, size: (await stat(p.path)).size };
    }),
  );
  const manifest: BundleManifest = {
    format: 1,
    packaging: 'deb',
    tool: { name: 'kdebuginfo', version: opts.toolVersion },
    created: (opts.now ?? (() => new Date()))().toISOString(),
    kernel: { ...download.kernel },
    os: { ...download.os },
    packages: files.map((p) => {
      const of = dependencyOf.get(p.name);
      return { role: p.role, name: p.name, version: p.version, release: p.release, arch: p.arch, file: p.file, size: p.size, sha256: p.sha256, ...(of === undefined ? {} : { dependencyOf: of }) };
    }),
    installer: 'install.sh',
  };
  const installScript = renderInstallScript(await installScriptTemplate('deb'), manifest);
  ctx.ui.info(`writing ${output}`);
  const written = await writeBundle({ output, directory, manifest, installScript, files: files.map((f) => ({ name: f.file, path: f.path })) });
  return { ...base, size: written.size, sha256: written.sha256, manifest };
}

export function formatBundle(r: BundleResult): string {
  const lines = [`Kernel   ${r.kernel.uname}  (${r.kernel.flavor} flavour, ${r.kernel.arch})`, `OS       ${r.os.name}`, ''];
  if (r.dryRun || !r.manifest) {
    for (const p of r.packages) lines.push(`${p.role.padEnd(17)} ${p.file}  ${p.size === null ? '?' : formatBytes(p.size)}`);
    lines.push('', `Dry run: would write ${r.output}`);
    return lines.join('\n') + '\n';
  }
  for (const p of r.manifest.packages) lines.push(`${p.role.padEnd(17)} ${p.file}  ${formatBytes(p.size)}  sha256 ${p.sha256}`);
  lines.push(
    '',
    `Bundle   ${r.output}  ${formatBytes(r.size ?? 0)}`,
    `sha256   ${r.sha256}`,
    '',
    'On the target:',
    `  tar xzf ${r.output.split('/').pop()} && sudo sh ${r.directory}/install.sh`,
  );
  return lines.join('\n') + '\n';
}
