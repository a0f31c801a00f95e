import type { PackageSpec } from './types.js';
import type { Attempt } from './resolver.js';
import { nvraOf } from './package-naming.js';
import { rpmvercmp } from './rpm-version.js';

/**
 * Why packages were not resolved, told apart: `network` when some missing package got no answer
 * from any of its locations (DNS, refused, timeout, TLS), so nothing is known about it: that is
 * never "not found"; `not-found` when every missing package was looked for on a host that answered.
 */
export interface ResolveFailure {
  outcome: 'network' | 'not-found';
  /** Missing packages no location answered for (outcome `network`). */
  unreached: string[];
  /** Missing packages that hosts answered without. */
  notFound: string[];
  /** Hosts that answered for the missing packages (host[:port]). */
  answered: string[];
  /** Hosts that gave no answer, each with the first reason seen. */
  unreachable: Array<{ host: string; reason: string }>;
  /** A `uname -r` that exists there, nearest to the one asked for; same arch and flavour. */
  didYouMean: string | null;
}

/** How many tried locations the message shows before "and N more". */
const SHOWN_ATTEMPTS = 4;

export function describeResolveFailure(
  missing: ReadonlyArray<PackageSpec & { file: string }>,
  attempts: readonly Attempt[],
  kernel: { uname: string; version: string; release: string },
): ResolveFailure {
  const unreached: string[] = [];
  const notFound: string[] = [];
  const answered = new Set<string>();
  const unreachable = new Map<string, string>();
  const nearestSets: Array<Set<string>> = [];
  for (const m of missing) {
    const mine = attempts.filter((a) => a.package === nvraOf(m));
    const isUnreached = mine.length > 0 && mine.every((a) => a.outcome === 'unreachable');
    (isUnreached ? unreached : notFound).push(m.file);
    for (const a of mine) {
      const host = hostOf(a.location);
      if (a.outcome === 'unreachable') {
        if (!unreachable.has(host)) unreachable.set(host, bareReason(a.reason));
      } else answered.add(host);
    }
    const near = new Set(mine.flatMap((a) => a.nearest ?? []));
    if (near.size > 0) nearestSets.push(near);
  }
  return {
    outcome: unreached.length > 0 ? 'network' : 'not-found',
    unreached,
    notFound,
    answered: [...answered],
    unreachable: [...unreachable].filter(([h]) => !answered.has(h)).map(([host, reason]) => ({ host, reason })),
    didYouMean: suggestRelease(nearestSets, kernel),
  };
}

/**
 * The message: what is missing and why first (unreached hosts, or the hosts that answered
 * without the files), a "did you mean" a user can paste, then a few of the locations tried, one
 * per missing package where it can (the one that says most: with versions that do exist), and
 * how many more there are; --json and --verbose carry every one.
 */
export function formatResolveFailure(f: ResolveFailure, missing: ReadonlyArray<PackageSpec & { file: string }>, attempts: readonly Attempt[]): string {
  const lines: string[] = [];
  const hosts = (list: readonly string[]) => list.join(', ');
  if (f.outcome === 'network') {
    lines.push(`could not reach any mirror for ${f.unreached.join(', ')}: ${f.unreachable.map((u) => `${u.host} (${u.reason})`).join(', ')}`);
    if (f.notFound.length > 0) lines.push(`not found on the mirrors that answered (${hosts(f.answered)}): ${f.notFound.join(', ')}`);
  } else {
    lines.push(`not found on any mirror: ${f.notFound.join(', ')}`);
    lines.push(`answered without ${f.notFound.length === 1 ? 'it' : 'them'}: ${hosts(f.answered)}`);
    if (f.unreachable.length > 0) lines.push(`could not reach: ${f.unreachable.map((u) => `${u.host} (${u.reason})`).join(', ')}`);
  }
  if (f.didYouMean) lines.push(`did you mean ${f.didYouMean}?`);
  const tried = attempts.filter((a) => a.outcome !== 'found');
  const shown = pickShown(tried, missing);
  lines.push(`tried ${tried.length} location${tried.length === 1 ? '' : 's'}:`);
  for (const a of shown) lines.push(`  ${formatAttempt(a)}`);
  const more = tried.length - shown.length;
  if (more > 0) lines.push(`  and ${more} more (see --json or --verbose)`);
  return lines.join('\n');
}

export function formatAttempt(a: Attempt): string {
  let line = `${a.package}: ${a.method} ${a.location}: ${a.outcome}${a.reason ? ` (${a.reason})` : ''}`;
  if (a.nearest && a.nearest.length > 0) line += `; nearest there: ${a.nearest.join(', ')}`;
  return line;
}

/** One attempt per missing package (the first with versions there, else the first), then the rest in order, up to SHOWN_ATTEMPTS. */
function pickShown(tried: readonly Attempt[], missing: ReadonlyArray<PackageSpec>): Attempt[] {
  const picked = new Set<Attempt>();
  for (const m of missing) {
    const mine = tried.filter((a) => a.package === nvraOf(m));
    const best = mine.find((a) => a.nearest && a.nearest.length > 0) ?? mine.find((a) => a.outcome !== 'unreachable') ?? mine[0];
    if (best && picked.size < SHOWN_ATTEMPTS) picked.add(best);
  }
  for (const a of tried) {
    if (picked.size >= SHOWN_ATTEMPTS) break;
    picked.add(a);
  }
  return tried.filter((a) => picked.has(a));
}

/**
 * The nearest `version-release` every missing package has somewhere (else the first package's
 * nearest), as a full uname: the asked-for uname with its version-release swapped, so the arch
 * and flavour suffix stay. Nearest: the longest common prefix with what was asked (a dropped
 * `_5` of `el8_5` keeps all of it), then the newer one.
 */
function suggestRelease(sets: ReadonlyArray<Set<string>>, kernel: { uname: string; version: string; release: string }): string | null {
  const [first, ...rest] = sets;
  if (!first) return null;
  const common = [...first].filter((v) => rest.every((s) => s.has(v)));
  const pool = common.length > 0 ? common : [...first];
  const wanted = `${kernel.version}-${kernel.release}`;
  if (!kernel.uname.startsWith(wanted)) return null;
  const prefix = (v: string) => {
    let i = 0;
    while (i < v.length && v[i] === wanted[i]) i++;
    return i;
  };
  const newer = (a: string, b: string) => {
    const [av = '', ar = ''] = a.split('-');
    const [bv = '', br = ''] = b.split('-');
    return rpmvercmp(av, bv) || rpmvercmp(ar, br);
  };
  const best = [...pool].sort((a, b) => prefix(b) - prefix(a) || newer(b, a))[0];
  return best === undefined ? null : best + kernel.uname.slice(wanted.length);
}

function hostOf(location: string): string {
  try {
    return new URL(location).host;
  } catch {
    return location;
  }
}

/** `repomd.xml: ECONNREFUSED` -> `ECONNREFUSED`: the host's reason, without the file it was for. */
function bareReason(reason: string | undefined): string {
  if (!reason) return 'no answer';
  const m = /^[^\s:]+\.(?:xml|gz)[^\s:]*: (.+)$/.exec(reason);
  return m?.[1] ?? reason;
}
