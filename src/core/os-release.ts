/**
 * Which distribution (and major version) a box runs, from /etc/os-release, from `--os ID:MAJOR`,
 * or, when neither is there, inferred from the kernel's dist tag. The distribution decides where
 * debuginfo lives (docs/mirror-layouts.md).
 */
import { UsageError } from '../errors.js';
import { showUntrusted as shown } from './untrusted-text.js';
import { distTagInfo, type DistTagInfo } from './kernel-release.js';
import { debOsFromOsRelease, parseDebOsFlag } from './debian.js';
import type { KernelRelease, OsId, OsInfo } from './types.js';

/** Display name of each supported distribution; OsInfo.name appends the major version. */
export const OS_NAMES: Readonly<Record<OsId, string>> = {
  centos: 'CentOS Linux',
  'centos-stream': 'CentOS Stream',
  rhel: 'Red Hat Enterprise Linux',
  rocky: 'Rocky Linux',
  almalinux: 'AlmaLinux',
  ol: 'Oracle Linux',
  fedora: 'Fedora',
  debian: 'Debian',
  ubuntu: 'Ubuntu',
};

export const OS_IDS = Object.keys(OS_NAMES) as OsId[];

/**
 * os-release `ID=` values kdebuginfo supports. `centos` covers both CentOS Linux and CentOS
 * Stream: they share ID="centos" and differ only in NAME ("CentOS Linux" vs "CentOS Stream").
 */
const OS_RELEASE_IDS: Readonly<Record<string, OsId>> = {
  centos: 'centos',
  rhel: 'rhel',
  rocky: 'rocky',
  almalinux: 'almalinux',
  ol: 'ol',
  fedora: 'fedora',
};

/** NAME= values that tell the two CentOS apart (CentOS Linux 7/8, CentOS Stream 8/9/10). */
const CENTOS_NAMES: Readonly<Record<string, OsId>> = {
  'CentOS Linux': 'centos',
  'CentOS Stream': 'centos-stream',
};

/** Majors that exist, where the set is closed or has a floor. */
const MAJOR_LIMITS: Partial<Record<OsId, { allowed?: readonly number[]; min?: number; note: string }>> = {
  // CentOS Linux ended with 8; 6 has no os-release but its debuginfo tree still exists.
  centos: { allowed: [6, 7, 8], note: 'CentOS Linux has only majors 6, 7 and 8 (for 9 and later use centos-stream:MAJOR)' },
  'centos-stream': { min: 8, note: 'CentOS Stream starts at 8 (for 7 and earlier use centos:MAJOR)' },
};

const SUPPORTED_LIST = OS_IDS.join(', ');
const OS_RELEASE_IDS_LIST = Object.keys(OS_RELEASE_IDS).join(', ');

export function osInfo(id: OsId, major: number): OsInfo {
  return { id, version: String(major), name: `${OS_NAMES[id]} ${major}` };
}

/**
 * The KEY=VALUE assignments of an os-release file (os-release(5)): comments and blank lines are
 * skipped, values may be double-quoted (with `\"`, `\\`, `\$`, `` \` `` escapes), single-quoted
 * or bare. Lines that are no assignment are ignored, as systemd does.
 */
export function parseOsReleaseFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m === null) continue;
    const key = m[1] as string;
    let value = m[2] as string;
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    } else if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
      value = value.slice(1, -1);
    } else {
      value = value.replace(/\\(.)/g, '$1');
    }
    fields[key] = value;
  }
  return fields;
}

/** `8.5.2111` -> 8, `9` -> 9, `39` -> 39; undefined when VERSION_ID does not start with a number. */
function majorOf(versionId: string): number | undefined {
  const m = /^(\d+)(?:\.|$)/.exec(versionId);
  return m === null ? undefined : Number(m[1]);
}

/**
 * Parse the contents of an os-release file. `source` (the path read) names the file in errors.
 * Unsupported distributions throw UsageError naming the file and its ID.
 */
export function parseOsRelease(text: string, source: string): OsInfo {
  const fields = parseOsReleaseFields(text);
  const rawId = fields['ID'];
  if (rawId === undefined || rawId === '') {
    throw new UsageError(
      `${shown(source)} has no ID= line (expected an os-release file, e.g. ID="rocky" and VERSION_ID="9.3")`,
      'pass --os ID:MAJOR to name the distribution yourself, e.g. --os rocky:9',
    );
  }
  // Debian, Ubuntu and Ubuntu's derivatives: versions like 24.04, codenames, no VERSION_ID on sid.
  const deb = debOsFromOsRelease(fields, source);
  if (deb) return deb;
  const pretty = fields['PRETTY_NAME'] ?? fields['NAME'];
  let id = OS_RELEASE_IDS[rawId];
  if (id === undefined) {
    const what = pretty === undefined ? '' : ` (${shown(pretty)})`;
    throw new UsageError(
      `${shown(source)}: ID=${shown(rawId)}${what} is not a distribution kdebuginfo supports (supported: ${OS_RELEASE_IDS_LIST}, debian, ubuntu)`,
      'to fetch packages for a supported distribution from here, pass --os ID:MAJOR, e.g. --os rocky:9',
    );
  }
  if (id === 'centos') {
    const name = fields['NAME'] ?? '';
    const centos = CENTOS_NAMES[name];
    if (centos === undefined) {
      throw new UsageError(
        `${shown(source)}: ID=centos with NAME="${shown(name)}" is neither "CentOS Linux" nor "CentOS Stream"`,
        'pass --os centos:MAJOR or --os centos-stream:MAJOR',
      );
    }
    id = centos;
  }
  const versionId = fields['VERSION_ID'];
  if (versionId === undefined || versionId === '') {
    throw new UsageError(
      `${shown(source)}: ID=${shown(rawId)} but no VERSION_ID= line (expected e.g. VERSION_ID="9")`,
      `pass --os ${id}:MAJOR`,
    );
  }
  const major = majorOf(versionId);
  if (major === undefined) {
    throw new UsageError(
      `${shown(source)}: VERSION_ID="${shown(versionId)}" is not a version kdebuginfo can read (expected a number such as 9 or 8.5.2111)`,
      `pass --os ${id}:MAJOR`,
    );
  }
  return osInfo(id, major);
}

/** Parse the value of `--os ID:MAJOR`, e.g. `centos-stream:9`, `ol:8`, `fedora:39`. */
export function parseOsFlag(value: string): OsInfo {
  // debian:12, ubuntu:24.04 (and their codenames).
  const deb = parseDebOsFlag(value);
  if (deb) return deb;
  const m = /^([a-z-]+):(\d+)$/.exec(value);
  if (m === null) {
    throw new UsageError(
      `--os "${shown(value)}" is not of the form ID:MAJOR (ID one of ${SUPPORTED_LIST}; e.g. --os centos-stream:9)`,
    );
  }
  const rawId = m[1] as string;
  if (!(OS_IDS as string[]).includes(rawId)) {
    throw new UsageError(
      `--os "${shown(value)}": "${rawId}" is not a distribution kdebuginfo supports (expected ID:MAJOR with ID one of ${SUPPORTED_LIST})`,
    );
  }
  const id = rawId as OsId;
  const major = Number(m[2]);
  const limits = MAJOR_LIMITS[id];
  if (
    major === 0 ||
    (limits?.allowed !== undefined && !limits.allowed.includes(major)) ||
    (limits?.min !== undefined && major < limits.min)
  ) {
    throw new UsageError(`--os "${shown(value)}": ${limits?.note ?? `${major} is not a major version of ${OS_NAMES[id]}`}`);
  }
  return osInfo(id, major);
}

/**
 * Kernel base numbers of CentOS Linux 8 point-release kernels 8.0 to 8.5 (docs/mirror-layouts.md, "Point releases":
 * 4.18.0-80 .. -348). A plain-`el8` kernel with another base number is a CentOS Stream 8 build:
 * ansible's centos_stream_8 fixture runs `4.18.0-257.el8.x86_64`.
 */
const CENTOS_LINUX_8_BASES: readonly number[] = [80, 147, 193, 240, 305, 348];
/** CentOS Linux 8 carried RHEL's z-stream kernels up to 8.5 (`4.18.0-348.7.1.el8_5`). */
const CENTOS_LINUX_8_LAST_MINOR = 5;

interface Inference {
  os: OsInfo;
  reason: string;
}

type InferenceRule = (k: KernelRelease, d: DistTagInfo) => Inference | undefined;

/**
 * The build numbers before the real-time marker, if any: `['362']` for `362.el9`,
 * `['500']` for `500.rt7.289.el8`, `['284', '11', '1']` for `284.11.1.el9_2`.
 */
function buildNumbers(d: DistTagInfo): string[] {
  const rt = d.before.findIndex((p) => /^rt\d+$/.test(p));
  return rt < 0 ? d.before : d.before.slice(0, rt);
}

function because(id: OsId, major: number, why: string): Inference {
  const os = osInfo(id, major);
  return { os, reason: `inferred ${os.name} from ${why}` };
}

/**
 * Ordered rules from dist tag to distribution; the first that answers wins. CentOS Stream builds
 * carry a single build number and a plain dist tag (`5.14.0-362.el9`, `4.18.0-257.el8`); RHEL's
 * point-release and z-stream kernels carry more numbers or an `_N` (`5.14.0-284.11.1.el9_2`,
 * `4.18.0-372.9.1.el8` of AlmaLinux 8.6) and are never in CentOS Stream, so those go to Rocky,
 * whose vault keeps the debuginfo of every point release (docs/mirror-layouts.md; the inference rules: docs/kernel-releases.md).
 */
const INFERENCE_RULES: readonly InferenceRule[] = [
  (k, d) => (d.kind === 'fc' ? because('fedora', d.major, `dist tag ${k.distTag}`) : undefined),
  (k, d) =>
    d.variant === 'uek' ? because('ol', d.major, `dist tag ${k.distTag} (Unbreakable Enterprise Kernel)`) : undefined,
  // Rocky's rebuild marker: `4.18.0-348.el8.0.2` (Rocky 8.5), `4.18.0-372.16.1.el8_6.0.1` (Rocky 8.6).
  (k, d) =>
    d.major >= 8 && d.after.length > 0 && d.after.every((p) => /^\d+$/.test(p))
      ? because('rocky', d.major, `the .${d.after.join('.')} after dist tag ${k.distTag} (Rocky's rebuild suffix)`)
      : undefined,
  // CentOS Linux 6 and 7 rebuilt every RHEL kernel; el7a is the CentOS 7 altarch kernel.
  (k, d) => (d.major <= 7 ? because('centos', d.major, `dist tag ${k.distTag}`) : undefined),
  (k, d) =>
    d.major === 8 && d.minor !== undefined && d.minor <= CENTOS_LINUX_8_LAST_MINOR
      ? because('centos', 8, `dist tag ${k.distTag}`)
      : undefined,
  (k, d) => {
    const base = Number(d.before[0]);
    return d.major === 8 && d.minor === undefined && d.variant === '' && CENTOS_LINUX_8_BASES.includes(base)
      ? because('centos', 8, `dist tag ${k.distTag} and build ${base} (a CentOS Linux 8 release kernel)`)
      : undefined;
  },
  // el9s: CentOS SIG builds on top of Stream (cbs.centos.org).
  (k, d) => (d.variant === 's' ? because('centos-stream', d.major, `dist tag ${k.distTag}`) : undefined),
  (k, d) =>
    d.minor === undefined && buildNumbers(d).length === 1
      ? because('centos-stream', d.major, `dist tag ${k.distTag}`)
      : undefined,
  (k, d) =>
    because(
      'rocky',
      d.major,
      `dist tag ${k.distTag} (${k.version}-${k.release} is a RHEL release kernel, which CentOS Stream never ships)`,
    ),
];

/**
 * Guess the distribution from the kernel alone (no /etc/os-release, or a container whose
 * os-release describes the container, not the host kernel). `reason` is one sentence for the CLI
 * to print so the guess is never silent; `--os` overrides it.
 */
export function inferOsFromKernel(k: KernelRelease): Inference {
  const d = distTagInfo(k);
  for (const rule of INFERENCE_RULES) {
    const answer = rule(k, d);
    if (answer !== undefined) return answer;
  }
  // The last rule always answers.
  throw new Error(`inferOsFromKernel: no rule for ${k.uname}`);
}
