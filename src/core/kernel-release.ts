/**
 * The grammar of RPM-family `uname -r` strings (docs/kernel-releases.md).
 *
 * A standard kernel's `uname -r` is `VERSION-RELEASE.ARCH` of its package, optionally followed by
 * a flavour suffix: `.debug` / `.PAE` on EL5-7, UEK and old Fedora, `+debug`, `+rt`, `+64k`, ...
 * on EL8 and later. The release carries a dist tag (`el8_5`, `el9`, `el8uek`, `fc39`, ...) and
 * sometimes markers around it (`rt56` for the old separate kernel-rt builds, `.centos.plus`,
 * Rocky's numeric rebuild suffix `.0.1`). Everything the parser accepts is listed in the tables
 * below; anything else is a UsageError, never a guess.
 */
import { UsageError } from '../errors.js';
import type { Flavor, KernelRelease } from './types.js';
import { hasHiddenCharacters, showUntrusted } from './untrusted-text.js';

/**
 * Architectures kdebuginfo names packages for. `ppc64` is RHEL/CentOS 7 big-endian POWER
 * (`3.10.0-862.el7.ppc64` on CentOS 7.5 AltArch, `3.10.0-1160.105.1.el7.ppc64` at OSUOSL).
 */
export const KERNEL_ARCHES: readonly string[] = ['x86_64', 'aarch64', 'ppc64le', 's390x', 'ppc64', 'i686'];

/** What a parsed `uname -r` is called in error messages, with one real example. */
const FORM = 'VERSION-RELEASE.ARCH[+FLAVOUR], e.g. 4.18.0-348.7.1.el8_5.x86_64';
const EXPECTED_FORM = `expected ${FORM}`;

/** Package family for each flavour: the `F` of `F-debuginfo` and `F-devel` (docs/kernel-packages.md). */
export const FLAVOR_FAMILY: Readonly<Record<Flavor, string>> = {
  default: 'kernel',
  debug: 'kernel-debug',
  rt: 'kernel-rt',
  'rt-debug': 'kernel-rt-debug',
  '64k': 'kernel-64k',
  '64k-debug': 'kernel-64k-debug',
  'rt-64k': 'kernel-rt-64k',
  'rt-64k-debug': 'kernel-rt-64k-debug',
  plus: 'kernel-plus',
  uek: 'kernel-uek',
  'uek-debug': 'kernel-uek-debug',
  // Fedora's i686 PAE kernel (F11-F30): `2.6.38.6-26.rc1.fc15.i686.PAE`, `4.17.19-100.fc27.i686+PAE`.
  pae: 'kernel-PAE',
};

/** How the flavour is attached after the arch: `.debug` (old spec files) or `+debug` (EL8+). */
type SuffixStyle = 'dot' | 'plus';

/** What the release says about the build before any flavour suffix is considered. */
type BaseKind =
  | 'standard'
  /** `rtNN` in the release: the separate kernel-rt srpm of EL6-EL9.3 (`1160.rt56.1131.el7`). */
  | 'rt-srpm'
  /** `.centos.plus` after the dist tag: CentOS's kernel-plus. */
  | 'plus'
  /** `elNuek` dist tag: Oracle's Unbreakable Enterprise Kernel. */
  | 'uek';

interface ParsedDist {
  tag: string;
  kind: 'el' | 'fc';
  major: number;
  /** `5` for `el8_5`; undefined for `el8`. */
  minor: number | undefined;
  /** `a` (EL7 altarch), `s` (CentOS SIG builds on Stream), `uek`, or ''. */
  variant: '' | 'a' | 's' | 'uek';
}

/**
 * Dist tags kdebuginfo knows. `el7a`: RHEL/CentOS 7 altarch 4.14 kernels (`4.14.0-115.el7a.aarch64`).
 * `el9s`: CentOS SIG builds on Stream (`kernel-5.14.0-362.el9s` on cbs.centos.org,
 * `5.14.0-438.el9s.x86_64+rt` in an LKML report). `elNuek`: Oracle UEK (`5.4.17-2102.201.3.el8uek`).
 * `aa7a`: the CentOS 7 AltArch aarch64 kernels before el7a (`3.19.0-0.80.aa7a.aarch64`, whose
 * debuginfo is under debuginfo.centos.org/7/aarch64/): read as EL7 altarch, like `el7a`.
 */
const DIST_TAG = /^(?:el(\d+)(?:_(\d+)|(a|s|uek))?|fc(\d+)|aa(\d+)a)$/;

function parseDistTag(component: string): ParsedDist | undefined {
  const m = DIST_TAG.exec(component);
  if (m === null) return undefined;
  if (m[4] !== undefined) {
    return { tag: component, kind: 'fc', major: Number(m[4]), minor: undefined, variant: '' };
  }
  if (m[5] !== undefined) return { tag: component, kind: 'el', major: Number(m[5]), minor: undefined, variant: 'a' };
  const variant = (m[3] ?? '') as ParsedDist['variant'];
  return {
    tag: component,
    kind: 'el',
    major: Number(m[1]),
    minor: m[2] === undefined ? undefined : Number(m[2]),
    variant,
  };
}

/**
 * Which suffix styles a dist generation uses. EL5-7 (and the EL7 altarch kernel-alt) and every UEK
 * spell it with a dot (`3.10.0-1160.6.1.el7.x86_64.debug`, `3.8.13-68.3.4.el6uek.x86_64.debug`,
 * UEK spec `KVERREL.%{1}`); EL8+ with a plus (`4.18.0-319.el8.x86_64+debug`). Fedora switched
 * around F20 (`2.6.38.6-26.rc1.fc15.i686.PAE` vs `3.11.10-301.fc20.i686+PAE`), so both are taken.
 */
function suffixStylesFor(dist: ParsedDist): readonly SuffixStyle[] {
  if (dist.kind === 'fc') return ['dot', 'plus'];
  if (dist.variant === 'uek' || dist.major <= 7) return ['dot'];
  return ['plus'];
}

interface SuffixRule {
  /** Which base kinds the suffix combines with, and the flavour that results. */
  flavorFor: Partial<Record<BaseKind, Flavor>>;
  /** Only on this arch (64k page kernels exist only on aarch64; PAE only on i686). */
  arch?: string;
  /** Dist generations the suffix exists in; `why` completes "... is only used by". */
  dist?: { test: (d: ParsedDist) => boolean; why: string };
}

/** EL9 and later, not UEK: where the kernel srpm builds the rt and 64k variants itself. */
const EL9_PLUS = {
  test: (d: ParsedDist) => d.kind === 'el' && d.variant !== 'uek' && d.major >= 9,
  why: 'EL9 and later kernels',
};

/**
 * Flavour suffixes after the arch, by the word after `.` or `+` (underscores read as hyphens:
 * the kernel spec's `kernel-uname-r` provide spells `+rt-64k` as `+rt_64k`, and leapp's tests
 * treat both as real, see leapp-repository `test_kernel_lib.py`).
 * Evidence: `5.14.0-354.el9.x86_64+rt`, `5.14.0-503.23.1.el9_5.x86_64+rt-debug` (kernel log),
 * `5.14.0-354.el9.aarch64+64k`, `5.14.0-327.el9.aarch64+64k-debug` (kdump-utils comment),
 * `6.12.0-131...el10.aarch64+rt-64k` (kernel log), `4.18.0-353.rt7.138.el8.x86_64+debug`.
 * `+rt-64k-debug` is in the kernel spec's variant list (`%{1}" == "rt-64k-debug"`); no uname
 * of it was found in public text, so it is accepted by analogy with `+64k-debug`.
 */
const SUFFIX_RULES: Readonly<Record<string, SuffixRule>> = {
  debug: { flavorFor: { standard: 'debug', 'rt-srpm': 'rt-debug', uek: 'uek-debug' } },
  rt: { flavorFor: { standard: 'rt' }, dist: EL9_PLUS },
  'rt-debug': { flavorFor: { standard: 'rt-debug' }, dist: EL9_PLUS },
  '64k': { flavorFor: { standard: '64k' }, arch: 'aarch64', dist: EL9_PLUS },
  '64k-debug': { flavorFor: { standard: '64k-debug' }, arch: 'aarch64', dist: EL9_PLUS },
  'rt-64k': { flavorFor: { standard: 'rt-64k' }, arch: 'aarch64', dist: EL9_PLUS },
  'rt-64k-debug': { flavorFor: { standard: 'rt-64k-debug' }, arch: 'aarch64', dist: EL9_PLUS },
  PAE: {
    flavorFor: { standard: 'pae' },
    arch: 'i686',
    dist: { test: (d) => d.kind === 'fc', why: 'Fedora kernels' },
  },
};

/** Flavour of a kernel with no suffix, by base kind. */
const BASE_FLAVOR: Readonly<Record<BaseKind, Flavor>> = {
  standard: 'default',
  'rt-srpm': 'rt',
  plus: 'plus',
  uek: 'uek',
};

/**
 * Debian/Ubuntu release shapes: ABI number then a flavour word (`6.1.0-56-cloud-amd64`,
 * `5.15.0-91-generic`, `6.1.0-0.deb11.17-amd64`), or the newer `+debNN`/`+bpo` form
 * (`6.12.38+deb13-amd64`, `6.10.11+bpo-amd64`).
 */
const DEBIAN_UBUNTU = /^\d+\.\d+(?:\.\d+)?(?:-\d+(?:\.deb\d+\.\d+)?|\+deb\d+|\+bpo)-[a-z][a-z0-9-]*$/;

const VERSION = /^\d+(?:\.\d+){1,3}$/;
const RELEASE_COMPONENT = /^[A-Za-z0-9_]+$/;
/** `rt56`, `rt7`, `rt14`: the real-time patch level in a separate kernel-rt build's release. */
const RT_MARKER = /^rt\d+$/;
/** Rocky rebuild suffix after the dist tag: `4.18.0-348.el8.0.2`, `4.18.0-372.16.1.el8_6.0.1`. */
const NUMERIC = /^\d+$/;

function fail(uname: string, detail: string): never {
  throw new UsageError(`kernel release "${showUntrusted(uname)}" ${detail}`);
}

/**
 * The longest `uname -r` there can be: the kernel's utsname release field holds 64 characters
 * (`__NEW_UTS_LEN` in include/uapi/linux/utsname.h) plus its NUL.
 */
export const MAX_RELEASE_CHARS = 64;

/**
 * What a kernel release given on the command line may look like before anything uses it: one
 * word of letters, digits and `. _ + ~ -` starting with a letter or digit, at most 64 characters.
 * It becomes a path component (`/lib/modules/<R>`, `/usr/src/kernels/<R>`) and an argument
 * (`stap -r <R>`): a `/` or `..` would leave those directories, a leading `-` would be read as an
 * option, a control character would reach the terminal. The words `running` and
 * `newest-installed` pass too; the full grammar is parseKernelRelease's.
 */
const RELEASE_TOKEN = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

/** Throw a UsageError naming `flag` when `value` is not a plain release token (RELEASE_TOKEN). */
export function checkReleaseToken(value: string, flag: string): void {
  if (value.length <= MAX_RELEASE_CHARS && RELEASE_TOKEN.test(value)) return;
  const why =
    value === ''
      ? 'is empty'
      : value.length > MAX_RELEASE_CHARS
        ? `is ${value.length} characters long; a kernel release has at most ${MAX_RELEASE_CHARS}`
        : 'is not a kernel release';
  throw new UsageError(
    `${flag} "${showUntrusted(value)}" ${why} (expected one word of letters, digits and . _ + ~ - starting with a letter or digit, as uname -r prints, e.g. 4.18.0-348.7.1.el8_5.x86_64)`,
  );
}

function notAForm(uname: string): never {
  fail(uname, `is not a form kdebuginfo knows (${EXPECTED_FORM})`);
}

const KNOWN_SUFFIXES = Object.keys(SUFFIX_RULES)
  .map((w) => `+${w}`)
  .concat(['.debug', '.PAE'])
  .join(', ');

/**
 * Parse `uname -r` of an RPM-family kernel into the package's name family, version, release and
 * arch. Surrounding whitespace (a trailing newline from `uname -r`) is ignored; anything else that
 * does not fit a known form throws UsageError naming the input and what was expected.
 */
export function parseKernelRelease(input: string): KernelRelease {
  const uname = input.trim();
  // Bounded and free of control characters first: the messages below quote parts of it.
  if (uname === '' || /\s/.test(uname) || uname.length > MAX_RELEASE_CHARS || hasHiddenCharacters(uname)) notAForm(uname);
  if (DEBIAN_UBUNTU.test(uname)) {
    fail(
      uname,
      `looks like a Debian/Ubuntu kernel, not an RPM one (${FORM}): for Debian/Ubuntu pass --os debian:MAJOR or --os ubuntu:YY.MM, or leave --os out`,
    );
  }

  // A package name (`kernel-4.18.0-348.7.1.el8_5.x86_64`, `kernel-rt-...`) instead of the release.
  const pkg = /^kernel(?:-[a-z0-9]+)*-(\d.*)$/.exec(uname);
  if (pkg) {
    const release = (pkg[1] as string).replace(/\.rpm$/, '');
    fail(uname, `is a package name, not a kernel release: pass the release as uname -r prints it (--kernel ${showUntrusted(release)})`);
  }

  const dash = uname.indexOf('-');
  if (dash < 0) notAForm(uname);
  const version = uname.slice(0, dash);
  if (!VERSION.test(version)) notAForm(uname);

  // The release never contains '+', so the first '+' starts the EL8+ flavour suffix.
  const afterDash = uname.slice(dash + 1);
  const plus = afterDash.indexOf('+');
  const core = plus < 0 ? afterDash : afterDash.slice(0, plus);
  const plusWord = plus < 0 ? undefined : afterDash.slice(plus + 1);
  if (core.includes('-')) notAForm(uname);

  const parts = core.split('.');
  let archAt = -1;
  for (let i = parts.length - 1; i >= 1; i -= 1) {
    if (KERNEL_ARCHES.includes(parts[i] ?? '')) {
      archAt = i;
      break;
    }
  }
  if (archAt < 0) {
    const last = parts.length > 1 ? parts[parts.length - 1] : undefined;
    if (last === undefined || last === '') notAForm(uname);
    fail(
      uname,
      `does not end in an architecture kdebuginfo knows ("${last}"; expected one of ${KERNEL_ARCHES.join(', ')})`,
    );
  }
  const arch = parts[archAt] as string;
  const dotWords = parts.slice(archAt + 1);
  const releaseParts = parts.slice(0, archAt);
  const release = releaseParts.join('.');

  let suffix: { style: SuffixStyle; word: string } | undefined;
  if (plusWord !== undefined) {
    if (dotWords.length > 0 || !/^[A-Za-z0-9_-]+$/.test(plusWord)) notAForm(uname);
    suffix = { style: 'plus', word: plusWord };
  } else if (dotWords.length === 1) {
    suffix = { style: 'dot', word: dotWords[0] as string };
  } else if (dotWords.length > 1) {
    fail(uname, `has a flavour suffix kdebuginfo does not know (".${dotWords.join('.')}"; known: ${KNOWN_SUFFIXES})`);
  }

  if (releaseParts.some((p) => !RELEASE_COMPONENT.test(p)) || !/^\d/.test(releaseParts[0] ?? '')) {
    notAForm(uname);
  }

  // The dist tag is the first release component that is one; what follows it must be known.
  const distAt = releaseParts.findIndex((p) => parseDistTag(p) !== undefined);
  if (distAt <= 0) {
    fail(
      uname,
      `has no dist tag kdebuginfo knows in its release "${release}" (expected elN, elN_M, el7a, aa7a, elNs, elNuek or fcNN, e.g. 4.18.0-348.7.1.el8_5.x86_64)`,
    );
  }
  const dist = parseDistTag(releaseParts[distAt] as string) as ParsedDist;
  const before = releaseParts.slice(0, distAt);
  const after = releaseParts.slice(distAt + 1);

  let base: BaseKind = dist.variant === 'uek' ? 'uek' : 'standard';
  if (after.length > 0) {
    if (after.length === 2 && after[0] === 'centos' && after[1] === 'plus' && base === 'standard') {
      base = 'plus';
    } else if (!after.every((p) => NUMERIC.test(p))) {
      fail(
        uname,
        `has ".${after.join('.')}" after its dist tag ${dist.tag}, which kdebuginfo does not know (known: .centos.plus, and numeric rebuild suffixes like the .0.1 of 4.18.0-372.16.1.el8_6.0.1)`,
      );
    }
  }
  if (before.some((p) => RT_MARKER.test(p))) {
    if (base !== 'standard' || dist.kind !== 'el') notAForm(uname);
    base = 'rt-srpm';
  }

  let flavor: Flavor = BASE_FLAVOR[base];
  if (suffix !== undefined) {
    const written = `${suffix.style === 'dot' ? '.' : '+'}${suffix.word}`;
    const rule = SUFFIX_RULES[suffix.word.replace(/_/g, '-')];
    if (rule === undefined) {
      fail(uname, `has a flavour suffix kdebuginfo does not know ("${written}"; known: ${KNOWN_SUFFIXES})`);
    }
    const styles = suffixStylesFor(dist);
    if (!styles.includes(suffix.style)) {
      const right = `${suffix.style === 'dot' ? '+' : '.'}${suffix.word}`;
      fail(uname, `does not fit its dist tag: ${dist.tag} kernels spell the flavour "${right}", not "${written}"`);
    }
    if (rule.dist !== undefined && !rule.dist.test(dist)) {
      fail(uname, `has flavour "${written}", which is only used by ${rule.dist.why} (this one is ${dist.tag})`);
    }
    if (rule.arch !== undefined && rule.arch !== arch) {
      fail(uname, `has flavour "${written}", which exists only on ${rule.arch} (this one is ${arch})`);
    }
    const combined = rule.flavorFor[base];
    if (combined === undefined) {
      fail(uname, `has flavour "${written}" on a ${describeBase(base)} release, a combination kdebuginfo does not know`);
    }
    flavor = combined;
  }

  return {
    uname,
    version,
    release,
    arch,
    flavor,
    family: FLAVOR_FAMILY[flavor],
    distTag: dist.tag,
    distMajor: dist.major,
    distKind: dist.kind,
  };
}

function describeBase(base: BaseKind): string {
  switch (base) {
    case 'rt-srpm':
      return 'real-time (rtNN)';
    case 'plus':
      return 'centos.plus';
    case 'uek':
      return 'UEK';
    case 'standard':
      return 'standard';
  }
}

/**
 * True for real-time kernels from the separate kernel-rt srpm (EL6 MRG to EL9.3): their release
 * carries the RT patch level, `3.10.0-1160.rt56.1131.el7`, `5.14.0-284.11.1.rt14.296.el9_2`.
 * From EL9.4 on the kernel srpm builds rt itself and uname says `+rt` instead.
 */
export function isSeparateRtBuild(k: Pick<KernelRelease, 'release'>): boolean {
  return k.release.split('.').some((p) => RT_MARKER.test(p));
}

/** Parsed pieces of a release's dist tag, for OS inference. */
export interface DistTagInfo {
  kind: 'el' | 'fc';
  major: number;
  /** The `_N` of `el8_5`, if any. */
  minor: number | undefined;
  variant: '' | 'a' | 's' | 'uek';
  /** Release components between the dist tag and the arch, e.g. `['0', '2']` or `['centos', 'plus']`. */
  after: string[];
  /** Release components before the dist tag, e.g. `['1160', '119', '1']`. */
  before: string[];
}

/** Split a parsed kernel's release around its dist tag. */
export function distTagInfo(k: Pick<KernelRelease, 'release' | 'distTag'>): DistTagInfo {
  const parts = k.release.split('.');
  const at = parts.indexOf(k.distTag);
  const dist = parseDistTag(k.distTag);
  if (at < 0 || dist === undefined) {
    throw new Error(`distTagInfo: release "${k.release}" does not contain dist tag "${k.distTag}"`);
  }
  return {
    kind: dist.kind,
    major: dist.major,
    minor: dist.minor,
    variant: dist.variant,
    before: parts.slice(0, at),
    after: parts.slice(at + 1),
  };
}

/**
 * Does this string look like an RPM-family kernel release or package (a dist tag such as `.el8_5`,
 * `.fc39`, `.aa7a`, or a `kernel-` package prefix), even one the grammar refuses? Then the RPM
 * parser's error (which names what is missing) is the one to show, whatever the host's distro.
 */
export function looksLikeRpmKernel(input: string): boolean {
  return /^kernel(-[a-z0-9]+)*-\d/.test(input) || /\.(?:el\d+(?:_\d+|a|s|uek)?|fc\d+|aa\d+a)(?:[.+]|$)/.test(input);
}
