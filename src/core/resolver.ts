import type { KernelRelease, OsInfo, PackageSpec } from './types.js';
import { nvraOf, rpmFileName } from './package-naming.js';
import type { PrimaryEntry } from './repodata.js';
import type { Location } from './sources.js';
import { locationsFor } from './sources.js';
import { safeRepoUrl } from './listing.js';
import { rewriteUrl, type MirrorRewrite } from './mirrors.js';
import { rpmvercmp } from './rpm-version.js';
import { maskUrlCredentials } from './credentials.js';

/** `isUnreachable`: no answer at all from the host (DNS, refused, timeout, TLS), as opposed to an answer without the file. */
export type Found<T> = { ok: true; value: T } | { ok: false; reason: string; isUnreachable?: boolean };

/** What the resolver needs from the network; src/io/mirror-client.ts implements it over HTTP. */
export interface RepoAccess {
  /** Packages of the repo's primary.xml that `names` lists; stops early once `isComplete` says so. */
  scanRepodata(repo: string, wants: (name: string) => boolean, isComplete: (matches: PrimaryEntry[]) => boolean): Promise<Found<PrimaryEntry[]>>;
  /**
   * File names linked from the directory page, only those `keep` accepts (all by default), and
   * how many file links the page has in all.
   */
  listDirectory(url: string, keep?: (name: string) => boolean): Promise<Found<{ files: string[]; links: number }>>;
  /** Does the file exist? Its size when the server says. */
  probe(url: string): Promise<Found<{ size: number | undefined }>>;
}

/** `apt`: Debian/Ubuntu packages, found by apt in its own lists (src/commands/deb-flow.ts). */
export type ResolveSource = 'repodata' | 'listing' | 'probe' | 'apt';

export interface ResolvedPackage extends PackageSpec {
  url: string;
  size: number | null;
  checksum: { type: string; value: string } | null;
  source: ResolveSource;
  candidates: string[];
}

export interface Attempt {
  package: string;
  /** Where it looked, as it may be shown: credentials masked (maskUrlCredentials). */
  location: string;
  method: ResolveSource;
  /**
   * `absent`: the host answered and the file is not there; `unavailable`: it answered, but not
   * usably (no repodata, a broken body); `unreachable`: no answer at all (DNS, refused, timeout, TLS).
   */
  outcome: 'found' | 'absent' | 'unavailable' | 'unreachable';
  reason?: string;
  /** Versions of the same package and arch that do exist there, nearest first. */
  nearest?: string[];
}

export interface Resolution {
  /** `url` and `candidates` are the real URLs, credentials included: they are fetched. Show them through shownPackage. */
  packages: ResolvedPackage[];
  /** `candidates` credentials masked: only shown. */
  missing: Array<PackageSpec & { candidates: string[] }>;
  attempts: Attempt[];
}

export interface PlannedPackage extends PackageSpec {
  locations: Location[];
  candidates: string[];
}

/** The plan: each package with the ordered locations (after mirror rewrites) to try. */
export function planLocations(
  kernel: KernelRelease,
  os: OsInfo,
  specs: readonly PackageSpec[],
  rewrites: readonly MirrorRewrite[],
): PlannedPackage[] {
  return specs.map((spec) => {
    const locations = locationsFor(kernel, os, spec.role, kernel.family).map((l) => ({
      ...l,
      repo: rewriteUrl(l.repo, rewrites),
    }));
    return { ...spec, locations, candidates: locations.map((l) => l.repo + l.packages + spec.file) };
  });
}

const nvra = nvraOf;

/**
 * Find each planned package: location by location in order; in each, repodata first, then the
 * directory listing when there is no usable repodata, then a HEAD probe when there is no listing
 * either. The first location that has the exact file wins.
 */
export async function resolvePackages(planned: readonly PlannedPackage[], access: RepoAccess): Promise<Resolution> {
  const attempts: Attempt[] = [];
  const repodataCache = new Map<string, Promise<Found<PrimaryEntry[]>>>();
  const names = new Set(planned.map((p) => p.name));
  // Also keep every *-debuginfo-common-* entry: the debuginfo package's Requires may name
  // another common package than the naming rule did.
  const wants = (name: string) => names.has(name) || name.includes('-debuginfo-common');
  const packages: Internal[] = [];
  const missing: Resolution['missing'] = [];

  const scan = (repo: string) => {
    let p = repodataCache.get(repo);
    if (!p) {
      // Stop reading once every planned package that could live here has been seen.
      const isComplete = (m: PrimaryEntry[]) => planned.every((s) => m.some((e) => matchesSpec(e, s)));
      p = access.scanRepodata(repo, wants, isComplete);
      repodataCache.set(repo, p);
    }
    return p;
  };

  for (let spec of planned) {
    const debuginfo = packages.find((p) => p.role === 'debuginfo');
    if (spec.role === 'debuginfo-common' && debuginfo?.requiredCommon && debuginfo.requiredCommon !== spec.name) {
      // primary.xml's Requires names the exact common package; trust it over the naming rule.
      spec = retarget(spec, debuginfo.requiredCommon);
    }
    const found = await resolveOne(spec, scan, access, attempts);
    if (found) packages.push(found);
    else missing.push({ ...stripLocations(spec), candidates: spec.candidates.map(maskUrlCredentials) });
  }
  return { packages: packages.map(({ requiredCommon: _, ...p }) => p), missing, attempts };
}

/** A resolved package as it may be shown (stdout, --json): its URLs without credentials. */
export function shownPackage<T extends Pick<ResolvedPackage, 'url' | 'candidates'>>(p: T): T {
  return { ...p, url: maskUrlCredentials(p.url), candidates: p.candidates.map(maskUrlCredentials) };
}

function retarget(spec: PlannedPackage, name: string): PlannedPackage {
  const file = rpmFileName({ ...spec, name });
  return { ...spec, name, file, candidates: spec.locations.map((l) => l.repo + l.packages + file) };
}

function stripLocations(p: PlannedPackage): PackageSpec {
  const { locations: _l, candidates: _c, ...spec } = p;
  return spec;
}

function matchesSpec(e: PrimaryEntry, s: PackageSpec): boolean {
  return e.name === s.name && e.arch === s.arch && e.version === s.version && e.release === s.release;
}

type Internal = ResolvedPackage & { requiredCommon?: string };

async function resolveOne(
  spec: PlannedPackage,
  scan: (repo: string) => Promise<Found<PrimaryEntry[]>>,
  access: RepoAccess,
  attempts: Attempt[],
): Promise<Internal | undefined> {
  const base = { ...stripLocations(spec), candidates: spec.candidates };
  for (const loc of spec.locations) {
    const dirUrl = loc.repo + loc.packages;
    const fileUrl = dirUrl + spec.file;
    // Attempts are only shown: never with a mirror's credentials.
    const record = (a: Omit<Attempt, 'package'>) =>
      attempts.push({
        package: nvra(spec),
        ...a,
        location: maskUrlCredentials(a.location),
        ...(a.reason === undefined ? {} : { reason: maskUrlCredentials(a.reason) }),
      });

    if (loc.repodata) {
      const r = await scan(loc.repo);
      if (r.ok) {
        const entries = r.value.filter((e) => e.name === spec.name && e.arch === spec.arch);
        const hit = entries.find((e) => matchesSpec(e, spec));
        const url = hit && safeRepoUrl(hit.base && /^https?:\/\//.test(hit.base) ? hit.base : loc.repo, hit.href);
        if (hit && url) {
          record({ location: loc.repo, method: 'repodata', outcome: 'found' });
          const common = hit.requires.find((q) => /-debuginfo-common/.test(q.name));
          return {
            ...base,
            url,
            size: hit.size ?? null,
            checksum: hit.checksum && hit.checksum.value ? hit.checksum : null,
            source: 'repodata',
            ...(common ? { requiredCommon: common.name } : {}),
          };
        }
        record({
          location: loc.repo,
          method: 'repodata',
          outcome: 'absent',
          ...(hit ? { reason: `unsafe location href "${hit.href}"` } : {}),
          nearest: nearestVersions(entries.map((e) => `${e.version}-${e.release}`), `${spec.version}-${spec.release}`),
        });
        continue;
      }
      record({ location: loc.repo, method: 'repodata', outcome: r.isUnreachable ? 'unreachable' : 'unavailable', reason: r.reason });
    }

    // Only this package's own names are kept: the page may list tens of thousands of files.
    const listing = await access.listDirectory(dirUrl, (f) => f.startsWith(`${spec.name}-`));
    if (listing.ok && listing.value.links > 0) {
      if (listing.value.files.includes(spec.file)) {
        const probe = await access.probe(fileUrl);
        record({ location: dirUrl, method: 'listing', outcome: 'found' });
        return { ...base, url: fileUrl, size: probe.ok ? (probe.value.size ?? null) : null, checksum: null, source: 'listing' };
      }
      record({
        location: dirUrl,
        method: 'listing',
        outcome: 'absent',
        nearest: nearestVersions(versionsInListing(listing.value.files, spec.name, spec.arch), `${spec.version}-${spec.release}`),
      });
      continue;
    }
    record({
      location: dirUrl,
      method: 'listing',
      outcome: !listing.ok && listing.isUnreachable ? 'unreachable' : 'unavailable',
      reason: listing.ok ? 'no links' : listing.reason,
    });

    const probe = await access.probe(fileUrl);
    if (probe.ok) {
      record({ location: fileUrl, method: 'probe', outcome: 'found' });
      return { ...base, url: fileUrl, size: probe.value.size ?? null, checksum: null, source: 'probe' };
    }
    // Only a 404 or 410 says the file is not there; a 500 or a refused HEAD says nothing about it.
    const outcome = probe.isUnreachable ? 'unreachable' : /^HTTP 4(04|10)$/.test(probe.reason) ? 'absent' : 'unavailable';
    record({ location: fileUrl, method: 'probe', outcome, reason: probe.reason });
  }
  return undefined;
}

/** `version-release` strings from listing file names of one package name and arch. */
export function versionsInListing(files: readonly string[], name: string, arch: string): string[] {
  const out: string[] = [];
  const suffix = `.${arch}.rpm`;
  for (const f of files) {
    if (!f.startsWith(`${name}-`) || !f.endsWith(suffix)) continue;
    const vr = f.slice(name.length + 1, -suffix.length);
    // `kernel-debuginfo-common-x86_64-...` must not count as `kernel-debuginfo-...`.
    if (/^\d/.test(vr) && vr.split('-').length === 2) out.push(vr);
  }
  return out;
}

/** Up to `n` versions closest to `wanted` in rpm order: the ones just below and just above it. */
export function nearestVersions(vrs: readonly string[], wanted: string, n = 4): string[] {
  const cmp = (a: string, b: string) => {
    const [av = '', ar = ''] = a.split('-');
    const [bv = '', br = ''] = b.split('-');
    return rpmvercmp(av, bv) || rpmvercmp(ar, br);
  };
  const sorted = [...new Set(vrs)].sort(cmp);
  const below = sorted.filter((v) => cmp(v, wanted) < 0).reverse();
  const above = sorted.filter((v) => cmp(v, wanted) > 0);
  const out: string[] = [];
  for (let i = 0; out.length < n && (i < below.length || i < above.length); i++) {
    if (below[i]) out.push(below[i]!);
    if (above[i] && out.length < n) out.push(above[i]!);
  }
  return out;
}
