/**
 * Debian and Ubuntu kernels (docs/kernel-releases.md, docs/kernel-packages.md, docs/stap-prep.md; issue 7): the `uname -r` grammar, which distribution
 * and release a kernel belongs to, the package names SystemTap needs, where their files land, the
 * Ubuntu debug-symbol archive's apt source, and what stap-prep's Debian branch gets wrong. Pure:
 * no I/O; src/io/apt.ts asks apt and dpkg, src/commands/deb-flow.ts tells the story.
 *
 * Evidence, in order of preference:
 *  - this Debian 12 machine's apt lists (fixtures/captured/apt/): `linux-image-6.1.0-56-cloud-amd64-dbg`,
 *    `linux-image-6.12.107+deb12-cloud-amd64-dbg`, `linux-headers-6.1.0-56-cloud-amd64`;
 *  - release strings seen in public sources: `6.12.38+deb13-amd64` (Debian 13), `6.10.11+bpo-amd64`
 *    and `6.1.0-0.deb11.7-amd64` (backports), `5.10.0-0.bpo.5-amd64` (old backports form),
 *    `6.8.0-45-generic`, `5.15.0-1064-aws`, `6.17.0-1007-aws` on 24.04 (uname -v `#7~24.04.1-Ubuntu`);
 *  - Ubuntu's debug-symbol documentation and scripts built on it: ddebs.ubuntu.com with
 *    `ubuntu-dbgsym-keyring` (`/usr/share/keyrings/ubuntu-dbgsym-keyring.gpg`), the vmlinux at
 *    `/usr/lib/debug/boot/vmlinux-<R>` from `linux-image-unsigned-<R>-dbgsym` (signed kernels) or
 *    `linux-image-<R>-dbgsym`;
 *  - Debian 12's /usr/bin/stap-prep (systemtap 4.8-2) for its Debian branch.
 *
 * The package version of a Debian/Ubuntu kernel (`6.1.192-2`, `6.8.0-45.45`) is not in `uname -r`:
 * apt, dpkg or the running kernel's `uname -v` / `/proc/version_signature` say it.
 */
import { UsageError } from '../errors.js';
import { showUntrusted as shown } from './untrusted-text.js';

export type DebFamily = 'debian' | 'ubuntu';

/** The distribution, shaped like OsInfo (src/core/types.ts) so the two are interchangeable. */
export interface DebOsInfo {
  id: DebFamily;
  /** Debian: the major (`12`), or the codename for testing/sid without VERSION_ID. Ubuntu: `24.04`. */
  version: string;
  /** `Debian 12`, `Ubuntu 24.04`. */
  name: string;
  /** `bookworm`, `noble`: names the apt suites (and Ubuntu's ddebs suites). */
  codename?: string;
}

/** A parsed Debian/Ubuntu `uname -r`. */
export interface DebKernelRelease {
  uname: string;
  /** Whose kernel build this is, judged from the form and the flavour. */
  family: DebFamily;
  /** Upstream version as the release spells it: `6.1.0` (ABI form), `6.12.38` (`+debNN` form). */
  version: string;
  /**
   * What stands between the version and the flavour: the ABI (`56`, `1064`), an old backport ABI
   * (`0.deb11.17`, `0.bpo.5`), the new-form suffix (`deb13`, `bpo`), or '' (unstable: `6.6.13-amd64`).
   */
  abi: string;
  /** Flavour without the arch: `default`, `cloud`, `rt`, `pae` (Debian); `generic`, `aws`, `lowlatency` (Ubuntu). */
  flavor: string;
  /** The flavour exactly as in the release: `cloud-amd64`, `generic`. */
  flavorTag: string;
  /** Debian architecture (`amd64`, `arm64`, ...) when the flavour names one; undefined for Ubuntu's multi-arch flavours. */
  arch: string | undefined;
  /** The Debian release the kernel was built for when the release says (`+deb13`, `0.deb11.17`). */
  debianMajor?: number;
}

// ---------------------------------------------------------------------------------------------
// Distributions
// ---------------------------------------------------------------------------------------------

export const DEB_OS_NAMES: Readonly<Record<DebFamily, string>> = { debian: 'Debian', ubuntu: 'Ubuntu' };

/** Debian majors and their codenames (also apt suite names). */
export const DEBIAN_CODENAMES: Readonly<Record<string, string>> = {
  '8': 'jessie',
  '9': 'stretch',
  '10': 'buster',
  '11': 'bullseye',
  '12': 'bookworm',
  '13': 'trixie',
  '14': 'forky',
};

/** Ubuntu releases kdebuginfo knows by codename (the ddebs archive's suite names). */
export const UBUNTU_CODENAMES: Readonly<Record<string, string>> = {
  '16.04': 'xenial',
  '18.04': 'bionic',
  '20.04': 'focal',
  '22.04': 'jammy',
  '23.04': 'lunar',
  '23.10': 'mantic',
  '24.04': 'noble',
  '24.10': 'oracular',
  '25.04': 'plucky',
  '25.10': 'questing',
  '26.04': 'resolute',
};

const CODENAMES: Readonly<Record<DebFamily, Readonly<Record<string, string>>>> = { debian: DEBIAN_CODENAMES, ubuntu: UBUNTU_CODENAMES };

export function isDebFamily(id: string): id is DebFamily {
  return id === 'debian' || id === 'ubuntu';
}

export function debOsInfo(id: DebFamily, version: string, codename?: string): DebOsInfo {
  const os: DebOsInfo = { id, version, name: `${DEB_OS_NAMES[id]} ${version}` };
  const c = codename ?? CODENAMES[id][version];
  if (c !== undefined) os.codename = c;
  return os;
}

function versionForCodename(id: DebFamily, codename: string): string | undefined {
  return Object.entries(CODENAMES[id]).find(([, c]) => c === codename)?.[0];
}

/**
 * The Debian/Ubuntu reading of os-release fields (parsed by parseOsReleaseFields), or undefined
 * when the file describes neither. Derivatives that say `ID_LIKE=ubuntu` and carry
 * `UBUNTU_CODENAME` (Linux Mint, Pop!_OS) run Ubuntu's kernels, so they count as that Ubuntu.
 * Debian testing/sid has no VERSION_ID: the codename stands in.
 */
export function debOsFromOsRelease(fields: Readonly<Record<string, string>>, source: string): DebOsInfo | undefined {
  const id = fields['ID'] ?? '';
  const like = (fields['ID_LIKE'] ?? '').split(/\s+/);
  const versionId = fields['VERSION_ID'] ?? '';
  const codename = fields['VERSION_CODENAME'] || undefined;
  if (id === 'ubuntu') {
    const version = /^\d+\.\d+/.exec(versionId)?.[0] ?? (codename ? versionForCodename('ubuntu', codename) : undefined);
    if (version === undefined) {
      throw new UsageError(`${shown(source)}: ID=ubuntu but no VERSION_ID= line kdebuginfo can read (expected e.g. VERSION_ID="24.04")`, 'pass --os ubuntu:VERSION, e.g. --os ubuntu:24.04');
    }
    return debOsInfo('ubuntu', version, fields['UBUNTU_CODENAME'] || codename);
  }
  if (id !== 'debian' && like.includes('ubuntu') && fields['UBUNTU_CODENAME']) {
    const ubuntuCodename = fields['UBUNTU_CODENAME'];
    const version = versionForCodename('ubuntu', ubuntuCodename);
    if (version === undefined) {
      throw new UsageError(`${shown(source)}: ID=${shown(id)} is based on Ubuntu "${shown(ubuntuCodename)}", a release kdebuginfo does not know`, 'pass --os ubuntu:VERSION, e.g. --os ubuntu:24.04');
    }
    return debOsInfo('ubuntu', version, ubuntuCodename);
  }
  if (id === 'debian') {
    const major = /^\d+/.exec(versionId)?.[0];
    if (major !== undefined) return debOsInfo('debian', major, codename);
    if (codename !== undefined) return debOsInfo('debian', versionForCodename('debian', codename) ?? codename, codename);
    throw new UsageError(`${shown(source)}: ID=debian with neither VERSION_ID= nor VERSION_CODENAME=`, 'pass --os debian:MAJOR, e.g. --os debian:12');
  }
  return undefined;
}

/**
 * `--os debian:12`, `--os ubuntu:24.04` (also `debian:bookworm`, `ubuntu:noble`); undefined when
 * the ID is not Debian's or Ubuntu's (the RPM parser handles those).
 */
export function parseDebOsFlag(value: string): DebOsInfo | undefined {
  const m = /^([a-z-]+):(.+)$/.exec(value);
  if (m === null || !isDebFamily(m[1] as string)) return undefined;
  const id = m[1] as DebFamily;
  const v = m[2] as string;
  if (id === 'debian' && /^\d+$/.test(v) && Number(v) > 0) return debOsInfo('debian', String(Number(v)));
  if (id === 'ubuntu' && /^\d{2}\.(04|10)$/.test(v)) return debOsInfo('ubuntu', v);
  const byName = /^[a-z]+$/.test(v) ? versionForCodename(id, v) : undefined;
  if (byName !== undefined) return debOsInfo(id, byName, v);
  throw new UsageError(
    id === 'debian'
      ? `--os "${shown(value)}": expected debian:MAJOR (e.g. debian:12) or a codename kdebuginfo knows (${Object.values(DEBIAN_CODENAMES).join(', ')})`
      : `--os "${shown(value)}": expected ubuntu:YY.MM (e.g. ubuntu:24.04) or a codename kdebuginfo knows (${Object.values(UBUNTU_CODENAMES).join(', ')})`,
  );
}

// ---------------------------------------------------------------------------------------------
// Kernel releases
// ---------------------------------------------------------------------------------------------

/**
 * Debian flavours end in the architecture they are built for (kernel-team handbook §3.3; seen:
 * `amd64`, `cloud-amd64`, `rt-amd64`, `686-pae`, `armmp-lpae`, `powerpc64le`, `arm64-16k`).
 * Longest first where one ends another (`686-pae` before `686`).
 */
const DEBIAN_BASE_FLAVOURS: ReadonlyArray<{ tag: string; arch: string; flavor: string }> = [
  { tag: 'powerpc64le-64k', arch: 'ppc64el', flavor: '64k' },
  { tag: 'powerpc64le', arch: 'ppc64el', flavor: 'default' },
  { tag: 'armmp-lpae', arch: 'armhf', flavor: 'lpae' },
  { tag: 'arm64-16k', arch: 'arm64', flavor: '16k' },
  { tag: 'loongson-3', arch: 'mips64el', flavor: 'loongson-3' },
  { tag: 'mips64r2el', arch: 'mips64el', flavor: 'default' },
  { tag: 'mips32r2el', arch: 'mipsel', flavor: 'default' },
  { tag: '686-pae', arch: 'i386', flavor: 'pae' },
  { tag: 'riscv64', arch: 'riscv64', flavor: 'default' },
  { tag: 'loong64', arch: 'loong64', flavor: 'default' },
  { tag: 'marvell', arch: 'armel', flavor: 'marvell' },
  { tag: 'octeon', arch: 'mips64el', flavor: 'octeon' },
  { tag: 'armmp', arch: 'armhf', flavor: 'default' },
  { tag: 'amd64', arch: 'amd64', flavor: 'default' },
  { tag: 'arm64', arch: 'arm64', flavor: 'default' },
  { tag: 's390x', arch: 's390x', flavor: 'default' },
  { tag: 'rpi', arch: 'armel', flavor: 'rpi' },
  { tag: '686', arch: 'i386', flavor: 'default' },
];

/** Debian's flavour prefixes (the `cloud` flavour, the `rt` featureset). */
const DEBIAN_FLAVOUR_PREFIXES: readonly string[] = ['cloud', 'rt'];

/**
 * Ubuntu kernel flavours (the part after the ABI). Most are built for several architectures:
 * `arch` is set only where the flavour names one. Unknown flavours are accepted only when the
 * distribution is known to be Ubuntu (--os or os-release), never guessed from the string.
 */
const UBUNTU_FLAVOURS: Readonly<Record<string, { arch?: string }>> = {
  generic: {},
  'generic-64k': { arch: 'arm64' },
  'generic-lpae': { arch: 'armhf' },
  lowlatency: {},
  'lowlatency-64k': { arch: 'arm64' },
  realtime: {},
  aws: {},
  'aws-fips': {},
  azure: {},
  'azure-fips': {},
  'azure-cvm': { arch: 'amd64' },
  gcp: {},
  'gcp-fips': {},
  gke: {},
  gkeop: {},
  oracle: {},
  'oracle-64k': { arch: 'arm64' },
  ibm: {},
  kvm: {},
  oem: { arch: 'amd64' },
  fips: {},
  nvidia: {},
  'nvidia-64k': { arch: 'arm64' },
  'nvidia-lowlatency': {},
  'intel-iotg': { arch: 'amd64' },
  raspi: {},
  'raspi-nolpae': { arch: 'armhf' },
  'xilinx-zynqmp': { arch: 'arm64' },
  bluefield: { arch: 'arm64' },
};

/**
 * The part between the upstream version and the flavour:
 *  - `-N-` numeric ABI (Debian 8-12, every Ubuntu kernel): `6.1.0-56-cloud-amd64`, `5.15.0-1064-aws`;
 *  - `-0.debNN.N-` / `-0.bpo.N-` (Debian backports before 6.3): `6.1.0-0.deb11.17-amd64`, `5.10.0-0.bpo.5-amd64`;
 *  - `+debNN-` / `+bpo-` (Debian 6.3 and later): `6.12.38+deb13-amd64`, `6.12.107+deb12-amd64`, `6.10.11+bpo-amd64`;
 *  - nothing (unstable and testing): `6.6.13-amd64`.
 */
const RELEASE_FORMS: ReadonlyArray<{ re: RegExp; numericAbi: boolean }> = [
  { re: /^(\d+\.\d+(?:\.\d+)?)-(\d+)-([a-z0-9][a-z0-9-]*)$/, numericAbi: true },
  { re: /^(\d+\.\d+(?:\.\d+)?)-(0\.(?:deb\d+|bpo)\.\d+)-([a-z0-9][a-z0-9-]*)$/, numericAbi: false },
  { re: /^(\d+\.\d+(?:\.\d+)?)\+(deb\d+|bpo)-([a-z0-9][a-z0-9-]*)$/, numericAbi: false },
  { re: /^(\d+\.\d+(?:\.\d+)?)()-([a-z0-9][a-z0-9-]*)$/, numericAbi: false },
];

const EXAMPLES = 'e.g. 6.1.0-56-cloud-amd64, 6.12.38+deb13-amd64 (Debian) or 6.8.0-45-generic, 5.15.0-1064-aws (Ubuntu)';

function debianFlavour(tag: string): { arch: string; flavor: string } | undefined {
  for (const base of DEBIAN_BASE_FLAVOURS) {
    if (tag === base.tag) return { arch: base.arch, flavor: base.flavor };
    if (!tag.endsWith(`-${base.tag}`)) continue;
    const prefix = tag.slice(0, -base.tag.length - 1);
    if (!DEBIAN_FLAVOUR_PREFIXES.includes(prefix)) return undefined;
    return { arch: base.arch, flavor: base.flavor === 'default' ? prefix : `${prefix}-${base.flavor}` };
  }
  return undefined;
}

function debianMajorOf(abi: string): number | undefined {
  const m = /deb(\d+)/.exec(abi);
  return m === null ? undefined : Number(m[1]);
}

/** Does the string have the shape of a Debian/Ubuntu release (whatever its flavour)? */
export function looksLikeDebKernelRelease(input: string): boolean {
  const uname = input.trim();
  return RELEASE_FORMS.some((f) => f.re.test(uname)) && !/\.(x86_64|aarch64|ppc64le|s390x|i686|ppc64)/.test(uname);
}

/**
 * Parse a Debian/Ubuntu `uname -r`. `family`, when the distribution is already known (--os,
 * os-release), decides between the two readings and lets an Ubuntu flavour kdebuginfo has not
 * seen through; without it the flavour tables decide, and a flavour in neither is a UsageError.
 */
export function parseDebKernelRelease(input: string, family?: DebFamily): DebKernelRelease {
  const uname = input.trim();
  const fail = (detail: string): never => {
    throw new UsageError(`kernel release "${shown(uname)}" ${detail}`, family === undefined ? 'name the distribution with --os debian:MAJOR or --os ubuntu:YY.MM' : undefined);
  };
  if (uname === '' || /\s/.test(uname)) fail(`is not a Debian or Ubuntu kernel release (${EXAMPLES})`);
  for (const form of RELEASE_FORMS) {
    const m = form.re.exec(uname);
    if (m === null) continue;
    const [, version, abi, tag] = m as unknown as [string, string, string, string];
    const deb = debianFlavour(tag);
    const ubuntu = form.numericAbi ? UBUNTU_FLAVOURS[tag] : undefined;
    const base = { uname, version, abi, flavorTag: tag };
    // Debian's own forms (backport ABIs, +debNN, none) only ever carry Debian flavours.
    if (family !== 'ubuntu' && deb !== undefined) {
      const k: DebKernelRelease = { ...base, family: 'debian', flavor: deb.flavor, arch: deb.arch };
      const major = debianMajorOf(abi);
      if (major !== undefined) k.debianMajor = major;
      return k;
    }
    if (family !== 'debian' && form.numericAbi && (ubuntu !== undefined || family === 'ubuntu')) {
      return { ...base, family: 'ubuntu', flavor: tag, arch: ubuntu?.arch };
    }
    if (family === 'debian') {
      fail(`does not end in a Debian flavour kdebuginfo knows ("${tag}"; a Debian flavour ends in its architecture: amd64, cloud-amd64, rt-amd64, arm64, 686-pae, ...)`);
    }
    if (family === 'ubuntu') fail(`is not an Ubuntu kernel release (Ubuntu's are VERSION-ABI-FLAVOUR, e.g. 6.8.0-45-generic)`);
    fail(`has a flavour ("${tag}") that is neither Debian's nor Ubuntu's as kdebuginfo knows them (${EXAMPLES})`);
  }
  return fail(`is not a Debian or Ubuntu kernel release (${EXAMPLES})`);
}

/** Is this string a Debian/Ubuntu kernel release (for the given family, if known)? */
export function isDebKernelRelease(input: string, family?: DebFamily): boolean {
  try {
    parseDebKernelRelease(input, family);
    return true;
  } catch {
    return false;
  }
}

/**
 * Upstream series of each Debian stable release's kernel (the ABI form, `6.1.0-N-...`); the
 * `+debNN` and `0.debNN` forms say their release themselves.
 */
const DEBIAN_SERIES: Readonly<Record<string, number>> = { '3.16': 8, '4.9': 9, '4.19': 10, '5.10': 11, '6.1': 12, '6.12': 13 };

/**
 * Ubuntu release whose general-availability kernel is this series. The same series also ships as
 * the hardware-enablement kernel of the previous LTS (6.8 on 22.04, 5.15 on 20.04), which only
 * `uname -v` (`#7~22.04.1-Ubuntu`) or --os can tell.
 */
const UBUNTU_SERIES: Readonly<Record<string, string>> = {
  '4.4': '16.04',
  '4.15': '18.04',
  '5.4': '20.04',
  '5.15': '22.04',
  '6.2': '23.04',
  '6.5': '23.10',
  '6.8': '24.04',
  '6.11': '24.10',
  '6.14': '25.04',
  '6.17': '25.10',
};

function seriesOf(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/**
 * Which distribution release a kernel belongs to, from the release string alone (a control host
 * planning for another box). `reason` is the sentence to print; `--os` overrides.
 */
export function inferDebOs(k: DebKernelRelease, unameV?: string): { os: DebOsInfo; reason: string } | undefined {
  if (k.family === 'debian') {
    const major = k.debianMajor ?? DEBIAN_SERIES[seriesOf(k.version)];
    if (major === undefined) return undefined;
    const os = debOsInfo('debian', String(major));
    const why = k.debianMajor !== undefined ? `the ${k.abi} in ${k.uname}` : `its ${seriesOf(k.version)} series (Debian ${major}'s kernel)`;
    return { os, reason: `inferred ${os.name} from ${why}` };
  }
  const hwe = unameV === undefined ? undefined : /~(\d{2}\.\d{2})\.\d+-Ubuntu/.exec(unameV)?.[1];
  const version = hwe ?? UBUNTU_SERIES[seriesOf(k.version)];
  if (version === undefined) return undefined;
  const os = debOsInfo('ubuntu', version);
  const why = hwe !== undefined ? `uname -v (~${hwe})` : `its ${seriesOf(k.version)} series (Ubuntu ${version}'s general-availability kernel; an HWE kernel of an older LTS needs --os)`;
  return { os, reason: `inferred ${os.name} from ${why}` };
}

/**
 * Order for `--kernel newest-installed`: by upstream version, then by ABI number. (Releases of the
 * same family and flavour only; Debian package versions would need dpkg's rules, these do not.)
 */
export function compareDebKernelReleases(a: DebKernelRelease, b: DebKernelRelease): number {
  const nums = (s: string) => s.split(/[^0-9]+/).filter(Boolean).map(Number);
  const cmp = (x: number[], y: number[]) => {
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      const d = (x[i] ?? -1) - (y[i] ?? -1);
      if (d !== 0) return d;
    }
    return 0;
  };
  return cmp(nums(a.version), nums(b.version)) || cmp(nums(a.abi), nums(b.abi));
}

// ---------------------------------------------------------------------------------------------
// Packages and paths
// ---------------------------------------------------------------------------------------------

export type DebPackageRole = 'debuginfo' | 'devel';

/**
 * Package names per distribution, `{R}` standing for the release. Where there are several, apt
 * decides which exists; the first is the one to name when apt cannot be asked.
 *  - Debian: the `-dbg` package is built by src:linux beside the unsigned image; the signed image
 *    (src:linux-signed-*) has no debug package of its own, so there is no `-unsigned` in its name.
 *  - Ubuntu: signed kernels (generic, aws, azure, ... on amd64/arm64) ship their symbols as
 *    `linux-image-unsigned-{R}-dbgsym`; kernels that are not signed (raspi, armhf) as
 *    `linux-image-{R}-dbgsym`. Both live only in the ddebs archive.
 */
export const DEB_PACKAGE_NAMES: Readonly<Record<DebFamily, Readonly<Record<DebPackageRole | 'image', readonly string[]>>>> = {
  debian: {
    debuginfo: ['linux-image-{R}-dbg'],
    devel: ['linux-headers-{R}'],
    image: ['linux-image-{R}', 'linux-image-{R}-unsigned'],
  },
  ubuntu: {
    debuginfo: ['linux-image-unsigned-{R}-dbgsym', 'linux-image-{R}-dbgsym'],
    devel: ['linux-headers-{R}'],
    image: ['linux-image-{R}', 'linux-image-unsigned-{R}'],
  },
};

/** Ubuntu flavours whose image is not signed: their debug package drops `-unsigned`, so name that one first. */
const UBUNTU_UNSIGNED_FLAVOURS: readonly string[] = ['raspi', 'raspi-nolpae', 'generic-lpae'];

export interface DebPackageCandidates {
  role: DebPackageRole;
  /** Package names to try, in order. */
  names: string[];
}

/** The debuginfo and devel packages SystemTap needs for this kernel, each with the names to try. */
export function debPackagesFor(k: DebKernelRelease): DebPackageCandidates[] {
  const names = DEB_PACKAGE_NAMES[k.family];
  const fill = (t: string) => t.replace('{R}', k.uname);
  let debuginfo = names.debuginfo.map(fill);
  if (k.family === 'ubuntu' && UBUNTU_UNSIGNED_FLAVOURS.includes(k.flavorTag)) debuginfo = [...debuginfo].reverse();
  return [
    { role: 'debuginfo', names: debuginfo },
    { role: 'devel', names: names.devel.map(fill) },
  ];
}

/** The kernel image package names (to learn which build is installed). */
export function debImagePackages(k: DebKernelRelease): string[] {
  return DEB_PACKAGE_NAMES[k.family].image.map((t) => t.replace('{R}', k.uname));
}

/**
 * Where the files land. The debug vmlinux is `/usr/lib/debug/boot/vmlinux-<R>`; Debian's `-dbg`
 * also links it from `/usr/lib/debug/lib/modules/<R>/vmlinux` (one of the places elfutils, and so
 * stap, looks). The headers package unpacks to `/usr/src/linux-headers-<R>`, which
 * `/lib/modules/<R>/build` points at; its `include/generated/utsrelease.h` names the release
 * (docs/kernel-packages.md: not `include/config/kernel.release`, which holds the upstream version).
 */
export const DEB_PATHS = {
  debugVmlinux: '/usr/lib/debug/boot/vmlinux-{R}',
  debugVmlinuxLink: '/usr/lib/debug/lib/modules/{R}/vmlinux',
  headersDir: '/usr/src/linux-headers-{R}',
  buildLink: '/lib/modules/{R}/build',
  utsRelease: '/usr/src/linux-headers-{R}/include/generated/utsrelease.h',
} as const;

export function debPaths(release: string): { -readonly [K in keyof typeof DEB_PATHS]: string } {
  const out = {} as { -readonly [K in keyof typeof DEB_PATHS]: string };
  for (const [key, t] of Object.entries(DEB_PATHS) as Array<[keyof typeof DEB_PATHS, string]>) out[key] = t.replace('{R}', release);
  return out;
}

/** A Debian package version split as dpkg does: `[epoch:]upstream[-revision]`. */
export function splitDebVersion(v: string): { epoch: string; upstream: string; revision: string } {
  const colon = v.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(v.slice(0, colon)) ? v.slice(0, colon) : '';
  const rest = epoch === '' ? v : v.slice(colon + 1);
  const dash = rest.lastIndexOf('-');
  return dash < 0 ? { epoch, upstream: rest, revision: '' } : { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
}

/**
 * The file name apt gives a package: `name_version_arch.deb`, the epoch left out (dpkg-name and
 * the archive pool do the same; apt writes a colon as `%3a`, which kernels never carry). Ubuntu's
 * debug symbols are `.ddeb` files in the ddebs pool.
 */
export function debFileName(name: string, version: string, arch: string): string {
  const { upstream, revision } = splitDebVersion(version);
  const v = revision === '' ? upstream : `${upstream}-${revision}`;
  const ext = name.endsWith('-dbgsym') ? 'ddeb' : 'deb';
  return `${name}_${v}_${arch}.${ext}`;
}

/**
 * The package version of the running kernel's build, which its debug package must match exactly
 * (another build with the same ABI has another build-id):
 *  - Debian: `uname -v` is `#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-...)` (older or
 *    non-preemptible builds: `#1 SMP Debian 6.1.20-2~bpo11+1 (...)`);
 *  - Ubuntu: `/proc/version_signature` is `Ubuntu 6.8.0-45.45-generic 6.8.12`; the version is the
 *    second word without the flavour.
 * Undefined when neither says.
 */
export function runningBuildVersion(family: DebFamily, facts: { unameV?: string; versionSignature?: string }): string | undefined {
  if (family === 'debian') {
    return facts.unameV === undefined ? undefined : /(?:^|\s)Debian (\d[^\s]*)/.exec(facts.unameV)?.[1];
  }
  const sig = facts.versionSignature === undefined ? undefined : /^Ubuntu (\d[^\s]*)/.exec(facts.versionSignature.trim())?.[1];
  if (sig === undefined) return undefined;
  // Backport (HWE) builds keep their `~YY.MM.N` in the package version: 6.8.0-40.40~22.04.3.
  const m = /^(\d+\.\d+\.\d+-\d+\.\d+(?:\.\d+)?(?:~[^\s-]+)?)(?:-|$)/.exec(sig);
  return m?.[1];
}

/**
 * The neighbours of a missing package among the names apt knows: same role, same flavour; the
 * same upstream version first, nearest ABI first, then other versions newest first.
 * `linux-image-6.1.0-99-cloud-amd64-dbg` missing -> `linux-image-6.1.0-56-cloud-amd64-dbg`, ...
 */
export function nearestKernelPackages(missing: string, k: DebKernelRelease, known: readonly string[], limit = 3): string[] {
  const at = missing.indexOf(k.uname);
  if (at < 0) return [];
  const prefix = missing.slice(0, at);
  const suffix = missing.slice(at + k.uname.length);
  const out: DebKernelRelease[] = [];
  for (const name of known) {
    if (name === missing || !name.startsWith(prefix) || !name.endsWith(suffix)) continue;
    const release = name.slice(prefix.length, name.length - suffix.length);
    try {
      const other = parseDebKernelRelease(release, k.family);
      if (other.flavorTag === k.flavorTag) out.push(other);
    } catch {
      // a meta-package (linux-image-cloud-amd64-dbg) or another shape: not a neighbour
    }
  }
  const abi = (x: DebKernelRelease) => (/^\d+$/.test(x.abi) ? Number(x.abi) : undefined);
  const distance = (x: DebKernelRelease) => {
    const a = abi(x);
    const b = abi(k);
    return a === undefined || b === undefined ? Number.MAX_SAFE_INTEGER : Math.abs(a - b);
  };
  out.sort((a, b) => {
    const sameA = a.version === k.version ? 0 : 1;
    const sameB = b.version === k.version ? 0 : 1;
    return sameA - sameB || (sameA === 0 ? distance(a) - distance(b) : 0) || compareDebKernelReleases(b, a);
  });
  return out.slice(0, limit).map((o) => `${prefix}${o.uname}${suffix}`);
}

export * from './debian-apt.js';
