import { resolve, dirname } from 'node:path';
import type { Context } from '../context.js';
import type { PlanResult } from './plan.js';
import { cacheDirFor, downloadItemOf, engineOptions, lockCache, progressFor, resolveForFetch, type FetchOptions } from './fetch-plan.js';
import { downloadVerified, inspectCache } from '../io/download.js';
import { installScriptTemplate, renderInstallScript, writeBundle, type BundleManifest } from '../io/bundle.js';
import { formatBytes } from '../core/format.js';
import { UsageError } from '../errors.js';

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
 * Resolve and fetch the kernel's packages (through the cache, as `download`), then write
 * `-o FILE.tar.gz` with the packages, manifest.json and the family's install.sh: how air-gapped
 * hosts and CentOS 7 (whose glibc cannot run Node 18+) get served from a control machine. A
 * Debian/Ubuntu bundle also carries the headers' same-build dependencies; its control machine
 * must run the target's release, because that apt names the packages.
 */
export async function runBundle(ctx: Context, opts: BundleCommandOptions): Promise<BundleResult> {
  if (!/\.(tar\.gz|tgz)$/.test(opts.output)) {
    throw new UsageError(`-o ${opts.output}: a bundle is a gzipped tar, name it FILE.tar.gz`);
  }
  const output = resolve(ctx.cwd, opts.output);
  const { backend, plan, packages, extras } = await resolveForFetch(ctx, opts);
  const all = [...packages, ...extras.map((e) => e.pkg)];
  const dependencyOf = new Map(extras.map((e) => [e.pkg.name, e.dependencyOf]));
  const directory = `kdebuginfo-${plan.kernel.uname}`;
  const listed = all.map((p) => ({ role: p.role, file: p.file, url: p.url, size: p.size }));
  const base = { kernel: plan.kernel, os: plan.os, notes: plan.notes, output, dryRun: ctx.dryRun, directory, packages: listed };
  const cacheDir = cacheDirFor(ctx, opts);
  const items = all.map(downloadItemOf);
  if (ctx.dryRun) {
    const states = await inspectCache(items, { cacheDir, exec: ctx.exec });
    ctx.ui.info(`would fetch ${states.filter((x) => x.state !== 'cached').length} of ${items.length} packages into ${cacheDir} and write ${output}`);
    return { ...base, size: null, sha256: null, manifest: null };
  }

  const packed = items.reduce((n, i) => n + (i.size ?? 0), 0);
  const { lock } = await lockCache(ctx, cacheDir, opts.wait ?? true);
  try {
    const progress = progressFor(ctx);
    let files;
    try {
      files = await downloadVerified(items, {
        ...engineOptions(ctx, opts, cacheDir, progress),
        // The archive is about the size of the packages (gzip gains nothing on them), written once
        // beside its final name.
        extraSpace: [{ path: dirname(output), bytes: packed, what: 'bundle' }],
      });
    } finally {
      progress.close();
    }

    const manifest: BundleManifest = {
      format: 1,
      packaging: backend.bundleTemplate,
      tool: { name: 'kdebuginfo', version: opts.toolVersion },
      created: (opts.now ?? (() => new Date()))().toISOString(),
      kernel: { ...plan.kernel },
      os: { ...plan.os },
      packages: all.map((p, i) => {
        const of = dependencyOf.get(p.name);
        return {
          role: p.role,
          name: p.name,
          version: p.version,
          release: p.release,
          arch: p.arch,
          file: p.file,
          size: files[i]!.size,
          sha256: files[i]!.sha256,
          ...(of === undefined ? {} : { dependencyOf: of }),
        };
      }),
      installer: 'install.sh',
    };
    const installScript = renderInstallScript(await installScriptTemplate(backend.bundleTemplate), manifest);
    ctx.ui.info(`writing ${output}`);
    const written = await writeBundle({ output, directory, manifest, installScript, files: files.map((f) => ({ name: f.file, path: f.path })) });
    return { ...base, size: written.size, sha256: written.sha256, manifest };
  } finally {
    await lock.release();
  }
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
