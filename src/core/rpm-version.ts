/**
 * rpm's version ordering, to the letter of rpm 4.18's `rpmvercmp()` (rpmio/rpmvercmp.c) and
 * `rpmverCmp()` / `parseEVR()` (rpmio/rpmver.c). test/core/rpm-version.test.ts checks every
 * table case and a few thousand generated pairs against the real `rpm` binary.
 *
 * Kernel releases defeat naive comparison: `147.5.1.el8_1` is newer than `147.el8` and
 * `el8_10` newer than `el8_9`; never compare kernel versions as numbers (docs/kernel-releases.md).
 */
import { UsageError } from '../errors.js';

export type VerCmp = -1 | 0 | 1;

/** Epoch, version and release. A missing epoch compares as 0; a missing release sorts first. */
export interface Evr {
  epoch?: string | number | undefined;
  version: string;
  release?: string | undefined;
}

// rpm's risdigit/risalpha are ASCII-only (rpmstring.h): any other character is a separator.
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
function isAlpha(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}
function isSeparator(c: string): boolean {
  return !isDigit(c) && !isAlpha(c) && c !== '~' && c !== '^';
}

/**
 * Compare two version (or release) strings the way rpm does: split into runs of digits and runs
 * of letters, ignore other characters except that they separate runs; digits beat letters,
 * numbers compare by value (leading zeros dropped), letters by ASCII; `~` sorts before anything,
 * even the end of the string; `^` sorts after the end of the string but before anything else.
 */
export function rpmvercmp(a: string, b: string): VerCmp {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && isSeparator(a[i] as string)) i += 1;
    while (j < b.length && isSeparator(b[j] as string)) j += 1;
    const ca = a[i];
    const cb = b[j];

    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i += 1;
      j += 1;
      continue;
    }
    // A caret is like a tilde, except that the base version (the side that ended) is older.
    if (ca === '^' || cb === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i += 1;
      j += 1;
      continue;
    }
    if (i >= a.length || j >= b.length) break;

    const startA = i;
    const startB = j;
    const isNum = isDigit(ca);
    const inRun = isNum ? isDigit : isAlpha;
    while (i < a.length && inRun(a[i])) i += 1;
    while (j < b.length && inRun(b[j])) j += 1;
    // b has a run of the other kind here: a number is newer than letters.
    if (startB === j) return isNum ? 1 : -1;

    let segA = a.slice(startA, i);
    let segB = b.slice(startB, j);
    if (isNum) {
      segA = segA.replace(/^0+/, '');
      segB = segB.replace(/^0+/, '');
      if (segA.length !== segB.length) return segA.length > segB.length ? 1 : -1;
    }
    if (segA !== segB) return segA < segB ? -1 : 1;
  }
  // Equal runs, different separators ("1.0" vs "1_0"), or one side has runs left over.
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/**
 * Split `[EPOCH:]VERSION[-RELEASE]` as rpm's parseEVR does: the epoch is the leading digits when
 * a `:` follows them (an empty epoch, `:1.0`, is "0"); the release is what follows the LAST `-`.
 */
export function parseEvr(s: string): Evr {
  if (s === '') throw new UsageError('version "" is empty (expected [EPOCH:]VERSION[-RELEASE], e.g. 4.18.0-348.7.1.el8_5)');
  let digits = 0;
  while (digits < s.length && isDigit(s[digits])) digits += 1;
  const hasEpoch = s[digits] === ':';
  const epoch = hasEpoch ? (digits === 0 ? '0' : s.slice(0, digits)) : undefined;
  const rest = hasEpoch ? s.slice(digits + 1) : s;
  // rpm searches for the '-' only after the epoch digits; the ':' itself is no '-'.
  const dash = rest.lastIndexOf('-');
  const evr: Evr = dash < 0 ? { version: rest } : { version: rest.slice(0, dash), release: rest.slice(dash + 1) };
  if (epoch !== undefined) evr.epoch = epoch;
  return evr;
}

function compareOptional(a: string | undefined, b: string | undefined): VerCmp {
  if (a === undefined && b === undefined) return 0;
  if (b === undefined) return 1;
  if (a === undefined) return -1;
  return rpmvercmp(a, b);
}

/**
 * Order two EVRs as rpm 4.18's rpmverCmp (what `rpm.ver(a) < rpm.ver(b)` uses): epochs compared
 * with rpmvercmp, missing epoch = "0"; then versions; then releases, where a missing release is
 * older than any release.
 */
export function compareEvr(a: Evr, b: Evr): VerCmp {
  const epochA = a.epoch === undefined ? '0' : String(a.epoch);
  const epochB = b.epoch === undefined ? '0' : String(b.epoch);
  return (
    compareOptional(epochA, epochB) || compareOptional(a.version, b.version) || compareOptional(a.release, b.release)
  );
}
