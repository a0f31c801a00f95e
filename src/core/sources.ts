import type { KernelRelease, OsInfo, PackageRole } from './types.js';
import { isGaRelease, lastCentosPoint, pointReleaseFor } from './point-releases.js';

/**
 * Where each package lives, per distro and major version, in the order locations are tried
 * (docs/mirror-layouts.md). Data, not code: a row is a URL template and the conditions under which it
 * applies. Placeholders: {arch} {major} {V} {R} {point} (e.g. 8.5) {vault} (e.g. 8.5.2111)
 * {lastVault} (7.9.2009: where CentOS 7 put every kernel after 7.9 GA). A row whose placeholder
 * has no value for this kernel is left out.
 */
export interface SourceRow {
  /** Repo root: the directory holding repodata/ when the host has it. */
  repo: string;
  /** Directory of the package files, relative to repo ('' for flat trees). */
  packages: string;
  /** Short name shown in listings of what was tried. */
  label: string;
  roles: readonly PackageRole[];
  /** Does this tree carry repodata? Koji archives and Oracle's debuginfo dir do not. */
  repodata: boolean;
  /** Only for these package families (default: all). */
  families?: readonly string[];
  /** Leave out for these families. */
  notFamilies?: readonly string[];
  /** Only for a point release's GA kernel (true) or only for its z-stream kernels (false). */
  ga?: boolean;
}

export interface Location {
  repo: string;
  packages: string;
  label: string;
  repodata: boolean;
}

const DBG: readonly PackageRole[] = ['debuginfo', 'debuginfo-common'];
const DEVEL: readonly PackageRole[] = ['devel'];
const ALL: readonly PackageRole[] = ['debuginfo', 'debuginfo-common', 'devel'];
const DI: readonly PackageRole[] = ['debuginfo'];
const COMMON: readonly PackageRole[] = ['debuginfo-common'];

const row = (
  label: string,
  repo: string,
  packages: string,
  roles: readonly PackageRole[],
  extra: Partial<SourceRow> = {},
): SourceRow => ({ label, repo, packages, roles, repodata: true, ...extra });

/** Public mirrors of debuginfo.centos.org (docs/mirror-layouts.md). */
const debuginfoCentosMirrors = (dir: string, packages: string): SourceRow[] => [
  row('debuginfo.centos.org', `https://debuginfo.centos.org/${dir}/{arch}/`, packages, DBG),
  row('mirror.facebook.net', `https://mirror.facebook.net/centos-debuginfo/${dir}/{arch}/`, packages, DBG),
  row('linuxsoft.cern.ch', `https://linuxsoft.cern.ch/centos-debuginfo/${dir}/{arch}/`, packages, DBG),
];

const streamKoji = row(
  'kojihub.stream.centos.org',
  'https://kojihub.stream.centos.org/kojifiles/packages/kernel/{V}/{R}/{arch}/',
  '',
  ALL,
  { repodata: false },
);

const centos7Devel = (repo: string, families?: readonly string[]): SourceRow[] => {
  const f = families ? { families } : { notFamilies: ['kernel-plus', 'kernel-rt'] };
  return [
    row('vault.centos.org', `https://vault.centos.org/{vault}/${repo}/{arch}/`, 'Packages/', DEVEL, f),
    row('archive.kernel.org', `https://archive.kernel.org/centos-vault/{vault}/${repo}/{arch}/`, 'Packages/', DEVEL, f),
  ];
};

export const SOURCES: Record<string, readonly SourceRow[]> = {
  'centos:6': [
    ...debuginfoCentosMirrors('6', ''),
    row('vault.centos.org', 'https://vault.centos.org/6.10/updates/{arch}/', 'Packages/', DEVEL),
    row('vault.centos.org', 'https://vault.centos.org/6.10/os/{arch}/', 'Packages/', DEVEL),
  ],
  'centos:7': [
    ...debuginfoCentosMirrors('7', ''),
    // GA kernels of a point release are in its os/ tree, later ones in its updates/ tree.
    ...centos7Devel('os').map((r) => ({ ...r, ga: true })),
    ...centos7Devel('updates').map((r) => ({ ...r, ga: false })),
    ...centos7Devel('centosplus', ['kernel-plus']),
    ...centos7Devel('rt', ['kernel-rt', 'kernel-rt-debug']),
    // 7.9.2009/updates holds every kernel released after 7.9 GA.
    row('vault.centos.org', 'https://vault.centos.org/{lastVault}/updates/{arch}/', 'Packages/', DEVEL, {
      notFamilies: ['kernel-plus', 'kernel-rt'],
    }),
  ],
  'centos:8': [
    ...debuginfoCentosMirrors('8', 'Packages/'),
    row('vault.centos.org', 'https://vault.centos.org/{vault}/BaseOS/{arch}/os/', 'Packages/', DEVEL),
    row('archive.kernel.org', 'https://archive.kernel.org/centos-vault/{vault}/BaseOS/{arch}/os/', 'Packages/', DEVEL),
  ],
  'centos-stream:8': [
    ...debuginfoCentosMirrors('8-stream', 'Packages/'),
    row('vault.centos.org', 'https://vault.centos.org/8-stream/BaseOS/{arch}/os/', 'Packages/', DEVEL),
    row('archive.kernel.org', 'https://archive.kernel.org/centos-vault/8-stream/BaseOS/{arch}/os/', 'Packages/', DEVEL),
    streamKoji,
  ],
  'centos-stream:9': streamRows(9),
  'centos-stream:10': streamRows(10),
  'rocky:8': rockyRows('BaseOS'),
  'rocky:9': rockyRows('AppStream'),
  'almalinux:8': almaRows('BaseOS'),
  'almalinux:9': almaRows('AppStream'),
  // Oracle: debuginfo is a flat directory without repodata; kernel-devel and kernel-uek-devel
  // are in the yum repos (packages under getPackage/). The yum paths are inferred from
  // yum.oracle.com's published repo layout.
  'ol:7': oracleRows(7),
  'ol:8': oracleRows(8),
  'ol:9': oracleRows(9),
  fedora: [
    row('dl.fedoraproject.org', 'https://dl.fedoraproject.org/pub/fedora/linux/updates/{major}/Everything/{arch}/debug/', 'Packages/k/', DBG),
    row('dl.fedoraproject.org', 'https://dl.fedoraproject.org/pub/fedora/linux/updates/{major}/Everything/{arch}/', 'Packages/k/', DEVEL),
    row('dl.fedoraproject.org', 'https://dl.fedoraproject.org/pub/fedora/linux/releases/{major}/Everything/{arch}/debug/tree/', 'Packages/k/', DBG),
    row('dl.fedoraproject.org', 'https://dl.fedoraproject.org/pub/fedora/linux/releases/{major}/Everything/{arch}/os/', 'Packages/k/', DEVEL),
    row('kojipkgs.fedoraproject.org', 'https://kojipkgs.fedoraproject.org/packages/kernel/{V}/{R}/{arch}/', '', ALL, { repodata: false }),
  ],
};

function streamRows(n: number): SourceRow[] {
  const base = `https://mirror.stream.centos.org/${n}-stream`;
  return [
    row('mirror.stream.centos.org', `${base}/BaseOS/{arch}/debug/tree/`, 'Packages/', DBG),
    // EL9 moved kernel-devel to AppStream; BaseOS is tried too.
    row('mirror.stream.centos.org', `${base}/AppStream/{arch}/os/`, 'Packages/', DEVEL),
    row('mirror.stream.centos.org', `${base}/BaseOS/{arch}/os/`, 'Packages/', DEVEL),
    streamKoji,
  ];
}

function rockyRows(develRepo: string): SourceRow[] {
  const trees = [
    ['download.rockylinux.org', 'https://download.rockylinux.org/pub/rocky/{major}'],
    ['download.rockylinux.org (vault)', 'https://download.rockylinux.org/vault/rocky/{point}'],
  ] as const;
  return trees.flatMap(([label, t]) => [
    row(label, `${t}/BaseOS/{arch}/debug/tree/`, 'Packages/k/', DI),
    // Rocky keeps kernel-debuginfo-common in the devel tree, not beside kernel-debuginfo.
    row(label, `${t}/devel/{arch}/debug/tree/`, 'Packages/k/', COMMON),
    row(label, `${t}/BaseOS/{arch}/debug/tree/`, 'Packages/k/', COMMON),
    row(label, `${t}/${develRepo}/{arch}/os/`, 'Packages/k/', DEVEL),
  ]);
}

function almaRows(develRepo: string): SourceRow[] {
  return [
    row('vault.almalinux.org', 'https://vault.almalinux.org/{point}/BaseOS/debug/{arch}/', 'Packages/', DBG),
    row('repo.almalinux.org', `https://repo.almalinux.org/almalinux/{major}/${develRepo}/{arch}/os/`, 'Packages/', DEVEL),
    row('vault.almalinux.org', `https://vault.almalinux.org/{point}/${develRepo}/{arch}/os/`, 'Packages/', DEVEL),
  ];
}

function oracleRows(major: number): SourceRow[] {
  return [
    row('oss.oracle.com', `https://oss.oracle.com/ol${major}/debuginfo/`, '', DBG, { repodata: false }),
    row('yum.oracle.com', `https://yum.oracle.com/repo/OracleLinux/OL${major}/baseos/latest/{arch}/`, 'getPackage/', DEVEL, {
      notFamilies: ['kernel-uek'],
    }),
    ...['UEKR7', 'UEKR6', 'UEKR5'].map((uek) =>
      row('yum.oracle.com', `https://yum.oracle.com/repo/OracleLinux/OL${major}/${uek}/{arch}/`, 'getPackage/', DEVEL, {
        families: ['kernel-uek'],
      }),
    ),
  ];
}

/** Why an OS has no public source, for the user: RHEL's debuginfo is behind a subscription. */
export const NO_PUBLIC_SOURCE: Partial<Record<string, string>> = {
  rhel:
    'RHEL has no public debuginfo mirror: enable the subscription\'s debug repos (e.g. rhel-9-for-x86_64-baseos-debug-rpms) and run `dnf debuginfo-install kernel-$(uname -r)`, or point --mirror at your Satellite/Pulp copy',
};

function rowsFor(os: OsInfo): readonly SourceRow[] | undefined {
  return SOURCES[`${os.id}:${os.version}`] ?? SOURCES[os.id];
}

/** Is there a source table for this OS? */
export function hasSources(os: OsInfo): boolean {
  return rowsFor(os) !== undefined;
}

/** The ordered locations to try for one package role of this kernel on this OS. */
export function locationsFor(kernel: KernelRelease, os: OsInfo, role: PackageRole, family: string): Location[] {
  const rows = rowsFor(os) ?? [];
  const major = Number(os.version);
  const point = pointReleaseFor(major, kernel.release);
  const vars: Record<string, string | undefined> = {
    arch: kernel.arch,
    major: os.version,
    V: kernel.version,
    R: kernel.release,
    point: point?.version,
    vault: point?.vaultDir,
    lastVault: lastCentosPoint(major)?.vaultDir,
  };
  const ga = isGaRelease(kernel.release);
  const out: Location[] = [];
  for (const r of rows) {
    if (!r.roles.includes(role)) continue;
    if (r.families && !r.families.includes(family)) continue;
    if (r.notFamilies?.includes(family)) continue;
    if (r.ga !== undefined && r.ga !== ga) continue;
    const repo = fill(r.repo, vars);
    if (repo === undefined) continue;
    if (out.some((l) => l.repo === repo && l.packages === r.packages)) continue;
    out.push({ repo, packages: r.packages, label: r.label, repodata: r.repodata });
  }
  return out;
}

function fill(template: string, vars: Record<string, string | undefined>): string | undefined {
  let missing = false;
  const s = template.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = vars[k];
    if (v === undefined) missing = true;
    return v ?? '';
  });
  return missing ? undefined : s;
}

/** Every host the source table can send a request to (tests rewrite them all to a local server). */
export function allSourceHosts(): string[] {
  const hosts = new Set<string>();
  for (const rows of Object.values(SOURCES)) for (const r of rows) hosts.add(new URL(r.repo.replace(/\{\w+\}/g, 'x')).host);
  return [...hosts].sort();
}
