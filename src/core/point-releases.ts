/**
 * Kernel base number -> the point release that shipped it (docs/mirror-layouts.md, "Point releases"). The base number
 * is the first component of the kernel package release (`1160` in `1160.119.1.el7`): z-stream
 * kernels keep the base of the point release they were built for, so the greatest entry whose
 * base is <= the kernel's base names the point release tree that carries it.
 *
 * EL9 9.3-9.6 (362, 427, 503, 570) are RHEL's published GA kernels (sources in docs/mirror-layouts.md).
 */
export interface PointRelease {
  /** `7.9` */
  version: string;
  /** CentOS vault directory: `7.9.2009`; undefined where CentOS never had one (EL9). */
  vaultDir: string | undefined;
  /** Kernel base number of the GA kernel of that point release. */
  base: number;
}

const table: Record<number, Array<[string, string | undefined, number]>> = {
  7: [
    ['7.0', '7.0.1406', 123],
    ['7.1', '7.1.1503', 229],
    ['7.2', '7.2.1511', 327],
    ['7.3', '7.3.1611', 514],
    ['7.4', '7.4.1708', 693],
    ['7.5', '7.5.1804', 862],
    ['7.6', '7.6.1810', 957],
    ['7.7', '7.7.1908', 1062],
    ['7.8', '7.8.2003', 1127],
    ['7.9', '7.9.2009', 1160],
  ],
  8: [
    ['8.0', '8.0.1905', 80],
    ['8.1', '8.1.1911', 147],
    ['8.2', '8.2.2004', 193],
    ['8.3', '8.3.2011', 240],
    ['8.4', '8.4.2105', 305],
    ['8.5', '8.5.2111', 348],
    ['8.6', undefined, 372],
    ['8.7', undefined, 425],
    ['8.8', undefined, 477],
    ['8.9', undefined, 513],
    ['8.10', undefined, 553],
  ],
  9: [
    ['9.0', undefined, 70],
    ['9.1', undefined, 162],
    ['9.2', undefined, 284],
    ['9.3', undefined, 362],
    ['9.4', undefined, 427],
    ['9.5', undefined, 503],
    ['9.6', undefined, 570],
  ],
};

/** The kernel release's base number: `1160` for `1160.119.1.el7`, `425` for `425.3.1.rt7.213.el8`. */
export function releaseBase(release: string): number | undefined {
  const m = /^(\d+)/.exec(release);
  return m ? Number(m[1]) : undefined;
}

/** Is this the GA kernel of its point release (`1160.el7`, not `1160.119.1.el7`)? */
export function isGaRelease(release: string): boolean {
  return /^\d+\.[a-z]/.test(release);
}

export function pointReleaseFor(major: number, release: string): PointRelease | undefined {
  const base = releaseBase(release);
  const rows = table[major];
  if (base === undefined || rows === undefined) return undefined;
  let found: PointRelease | undefined;
  for (const [version, vaultDir, b] of rows) {
    if (b <= base) found = { version, vaultDir, base: b };
  }
  return found;
}

/** The last CentOS Linux point release of a major, where every later update landed. */
export function lastCentosPoint(major: number): PointRelease | undefined {
  const rows = (table[major] ?? []).filter((r) => r[1] !== undefined);
  const last = rows[rows.length - 1];
  return last ? { version: last[0], vaultDir: last[1], base: last[2] } : undefined;
}
