import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { UsageError } from '../../src/errors.js';
import { compareEvr, parseEvr, rpmvercmp, type VerCmp } from '../../src/core/rpm-version.js';

/**
 * [a, b, rpmvercmp(a, b)]. The generic cases are rpm's own test suite (tests/rpmvercmp.at) and
 * the caret cases its 4.15 additions; the kernel cases are the comparisons kdebuginfo makes.
 * No string has '-' or 'EPOCH:' so that real rpm's EVR-parsing `rpm.vercmp` compares the strings
 * exactly as rpmvercmp does (see the real-rpm test below).
 */
const VERCMP_TABLE: [string, string, VerCmp][] = [
  ['1.0', '1.0', 0],
  ['1.0', '2.0', -1],
  ['2.0', '1.0', 1],
  ['1.0', '1.0a', -1],
  ['2.0.1', '2.0.1', 0],
  ['2.0', '2.0.1', -1],
  ['2.0.1', '2.0', 1],
  ['2.0.1a', '2.0.1a', 0],
  ['2.0.1a', '2.0.1', 1],
  ['2.0.1', '2.0.1a', -1],
  ['5.5p1', '5.5p1', 0],
  ['5.5p1', '5.5p2', -1],
  ['5.5p2', '5.5p1', 1],
  ['5.5p10', '5.5p10', 0],
  ['5.5p1', '5.5p10', -1],
  ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1],
  ['10.1xyz', '10xyz', 1],
  ['xyz10', 'xyz10', 0],
  ['xyz10', 'xyz10.1', -1],
  ['xyz10.1', 'xyz10', 1],
  ['xyz.4', 'xyz.4', 0],
  ['xyz.4', '8', -1],
  ['8', 'xyz.4', 1],
  ['xyz.4', '2', -1],
  ['2', 'xyz.4', 1],
  ['5.5p2', '5.6p1', -1],
  ['5.6p1', '5.5p2', 1],
  ['5.6p1', '6.5p1', -1],
  ['6.5p1', '5.6p1', 1],
  ['6.0.rc1', '6.0', 1],
  ['6.0', '6.0.rc1', -1],
  ['10b2', '10a1', 1],
  ['10a2', '10b2', -1],
  ['1.0aa', '1.0aa', 0],
  ['1.0a', '1.0aa', -1],
  ['1.0aa', '1.0a', 1],
  // Leading zeros do not count.
  ['10.0001', '10.0001', 0],
  ['10.0001', '10.1', 0],
  ['10.1', '10.0001', 0],
  ['10.0001', '10.0039', -1],
  ['10.0039', '10.0001', 1],
  ['4.999.9', '5.0', -1],
  ['5.0', '4.999.9', 1],
  ['20101121', '20101121', 0],
  ['20101121', '20101122', -1],
  ['20101122', '20101121', 1],
  // Separators only separate; which one does not matter.
  ['2_0', '2_0', 0],
  ['2.0', '2_0', 0],
  ['2_0', '2.0', 0],
  ['a', 'a', 0],
  ['a+', 'a+', 0],
  ['a+', 'a_', 0],
  ['a_', 'a+', 0],
  ['+a', '+a', 0],
  ['+a', '_a', 0],
  ['_a', '+a', 0],
  ['+_', '_+', 0],
  ['_+', '+_', 0],
  ['_', '+', 0],
  ['+', '_', 0],
  ['_', '_', 0],
  ['1.0.', '1.0', 0],
  // A number is newer than letters in the same place.
  ['1.a', '1.1', -1],
  ['1.1', '1.a', 1],
  // Tilde sorts before everything, even the end of the string.
  ['1.0~rc1', '1.0~rc1', 0],
  ['1.0~rc1', '1.0', -1],
  ['1.0', '1.0~rc1', 1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~rc2', '1.0~rc1', 1],
  ['1.0~rc1~git123', '1.0~rc1~git123', 0],
  ['1.0~rc1~git123', '1.0~rc1', -1],
  ['1.0~rc1', '1.0~rc1~git123', 1],
  ['a~', 'a', -1],
  // Caret sorts after the end of the string but before anything else.
  ['1.0^', '1.0^', 0],
  ['1.0^', '1.0', 1],
  ['1.0', '1.0^', -1],
  ['1.0^git1', '1.0^git1', 0],
  ['1.0^git1', '1.0', 1],
  ['1.0', '1.0^git1', -1],
  ['1.0^git1', '1.0^git2', -1],
  ['1.0^git2', '1.0^git1', 1],
  ['1.0^git1', '1.01', -1],
  ['1.01', '1.0^git1', 1],
  ['1.0^20160101', '1.0^20160101', 0],
  ['1.0^20160101', '1.0.1', -1],
  ['1.0.1', '1.0^20160101', 1],
  ['1.0^20160101^git1', '1.0^20160101^git1', 0],
  ['1.0^20160102', '1.0^20160101^git1', 1],
  ['1.0^20160101^git1', '1.0^20160102', -1],
  ['1.0~rc1^git1', '1.0~rc1^git1', 0],
  ['1.0~rc1^git1', '1.0~rc1', 1],
  ['1.0~rc1', '1.0~rc1^git1', -1],
  ['1.0^git1~pre', '1.0^git1~pre', 0],
  ['1.0^git1', '1.0^git1~pre', 1],
  ['1.0^git1~pre', '1.0^git1', -1],
  // Kernel releases: z-stream after GA, el8_10 after el8_9, numbers by value not by text.
  ['147.el8', '147.5.1.el8_1', -1],
  ['147.5.1.el8_1', '147.el8', 1],
  ['el8_10', 'el8_9', 1],
  ['el8_9', 'el8_10', -1],
  ['553.el8_10', '513.24.1.el8_9', 1],
  ['1160.119.1', '1160.2.1', 1],
  ['1160.2.1', '1160.119.1', -1],
  ['1160.119.1.el7', '1160.119.1.el7', 0],
  ['348.7.1.el8_5', '348.el8', 1],
  ['348.el8.0.2', '348.el8', 1],
  ['372.16.1.el8_6.0.1', '372.16.1.el8_6', 1],
  ['1160.rt56.1131.el7', '1160.el7', 1],
  ['362.el9', '362.el9s', -1],
  ['427.13.1.el9_4', '427.el9', 1],
  ['5.14.0', '4.18.0', 1],
  ['3.10.0', '4.18.0', -1],
  ['6.12.0', '6.12.0', 0],
  ['0.rc5.20231011git401644852d0b.41.fc40', '300.fc40', -1],
];

describe('rpmvercmp', () => {
  it.each(VERCMP_TABLE)('rpmvercmp(%j, %j) = %i', (a, b, expected) => {
    expect(rpmvercmp(a, b)).toBe(expected);
  });

  it('compares an empty string as older than anything (rpm returns -1 for it too)', () => {
    expect(rpmvercmp('', '1')).toBe(-1);
    expect(rpmvercmp('1', '')).toBe(1);
    expect(rpmvercmp('', '')).toBe(0);
  });

  it('treats non-ASCII letters and digits as separators, like rpm', () => {
    expect(rpmvercmp('1.é', '1')).toBe(0);
    expect(rpmvercmp('1٣', '1')).toBe(0);
  });
});

/** [input, parsed] following rpm's parseEVR. */
const PARSE_TABLE: [string, ReturnType<typeof parseEvr>][] = [
  ['4.18.0-348.7.1.el8_5', { version: '4.18.0', release: '348.7.1.el8_5' }],
  ['1:2.0-3', { epoch: '1', version: '2.0', release: '3' }],
  ['0:4.18.0-147.el8', { epoch: '0', version: '4.18.0', release: '147.el8' }],
  ['2.0', { version: '2.0' }],
  [':2.0-1', { epoch: '0', version: '2.0', release: '1' }],
  ['1:2.0-3-4', { epoch: '1', version: '2.0-3', release: '4' }],
  ['a:1-2', { version: 'a:1', release: '2' }],
  ['12', { version: '12' }],
  ['2.0-', { version: '2.0', release: '' }],
];

/** [a, b, compareEvr(a, b)], as EVR strings. */
const EVR_TABLE: [string, string, VerCmp][] = [
  ['4.18.0-147.el8', '4.18.0-147.5.1.el8_1', -1],
  ['4.18.0-553.el8_10', '4.18.0-513.24.1.el8_9', 1],
  ['3.10.0-1160.119.1.el7', '3.10.0-1160.2.1.el7', 1],
  ['5.14.0-362.el9', '5.14.0-362.el9', 0],
  ['1:1.0-1', '2.0-1', 1],
  ['0:1.0-1', '1.0-1', 0],
  ['00:1.0-1', '0:1.0-1', 0],
  ['1.0', '1.0-1', -1],
  ['1.0-1', '1.0', 1],
  ['1.0', '1.0', 0],
  ['2.0', '1.0-9', 1],
  ['1:2.0-3-4', '1:2.0-3-5', -1],
  ['1.0~rc1-1', '1.0-1', -1],
];

describe('parseEvr', () => {
  it.each(PARSE_TABLE)('parseEvr(%j)', (input, expected) => {
    expect(parseEvr(input)).toEqual(expected);
  });

  it('rejects an empty string', () => {
    expect(() => parseEvr('')).toThrow(UsageError);
    expect(() => parseEvr('')).toThrow(
      'version "" is empty (expected [EPOCH:]VERSION[-RELEASE], e.g. 4.18.0-348.7.1.el8_5)',
    );
  });
});

describe('compareEvr', () => {
  it.each(EVR_TABLE)('compareEvr(%j, %j) = %i', (a, b, expected) => {
    expect(compareEvr(parseEvr(a), parseEvr(b))).toBe(expected);
  });

  it('takes numeric epochs and missing epochs as 0', () => {
    expect(compareEvr({ epoch: 1, version: '1', release: '1' }, { epoch: '1', version: '1', release: '1' })).toBe(0);
    expect(compareEvr({ version: '1', release: '1' }, { epoch: 0, version: '1', release: '1' })).toBe(0);
    expect(compareEvr({ epoch: 2, version: '1', release: '1' }, { epoch: 10, version: '1', release: '1' })).toBe(-1);
  });
});

/** Deterministic strings over an alphabet, so a failure reproduces. */
function* generated(alphabet: string, count: number, seed: number): Generator<[string, string]> {
  let state = seed;
  const next = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const word = (): string => {
    let s = '';
    const length = 1 + next(7);
    for (let i = 0; i < length; i += 1) s += alphabet[next(alphabet.length)];
    return s;
  };
  for (let i = 0; i < count; i += 1) {
    const a = word();
    // Half the pairs share a prefix, so the interesting tail comparisons happen.
    const b = next(2) === 0 ? a.slice(0, next(a.length + 1)) + word() : word();
    yield [a, b];
  }
}

const hasRpm = spawnSync('rpm', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * Run one `rpm --eval` whose Lua calls `fn(p[i], p[i+1])` for every pair and prints the results
 * joined by ','. rpm 4.18's `rpm.vercmp` parses both sides as EVRs and compares with rpmverCmp.
 */
function rpmLua(pairs: [string, string][], body: string): string[] {
  for (const [a, b] of pairs) {
    if (/["\\%{}\n]/.test(a + b)) throw new Error(`cannot quote ${a} / ${b} for rpm --eval`);
  }
  const list = pairs.map(([a, b]) => `"${a}","${b}"`).join(',');
  const script = `%{lua: local p={${list}}; local r={}; for i=1,#p,2 do ${body} end; print(table.concat(r, ","))}`;
  // One argv element may be at most 128 KiB (MAX_ARG_STRLEN).
  expect(script.length).toBeLessThan(120_000);
  const run = spawnSync('rpm', ['--eval', script], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  expect(run.status, run.stderr).toBe(0);
  const out = run.stdout.trim().split(',');
  expect(out).toHaveLength(pairs.length);
  return out;
}

describe.skipIf(!hasRpm)('against the real rpm on this machine', () => {
  it('agrees with rpm.vercmp on the whole table and 3000 generated pairs', () => {
    const pairs: [string, string][] = [
      ...VERCMP_TABLE.map(([a, b]): [string, string] => [a, b]),
      ...generated('0129azAZ._+~^', 3000, 20240601),
    ];
    const rpm = rpmLua(pairs, 'r[#r+1]=rpm.vercmp(p[i],p[i+1])');
    const mismatches = pairs
      .map(([a, b], i) => ({ a, b, rpm: Number(rpm[i]), ours: rpmvercmp(a, b) }))
      .filter((m) => m.rpm !== m.ours);
    expect(mismatches).toEqual([]);
    // And the hand-written expectations are what rpm says.
    expect(VERCMP_TABLE.map(([, , e]) => e)).toEqual(rpm.slice(0, VERCMP_TABLE.length).map(Number));
  });

  it('agrees with rpm.vercmp (rpmverCmp over parsed EVRs) on EVR strings', () => {
    const pairs: [string, string][] = [
      ...EVR_TABLE.map(([a, b]): [string, string] => [a, b]),
      ...generated('019a.~^-:', 2000, 7),
    ];
    const rpm = rpmLua(pairs, 'r[#r+1]=rpm.vercmp(p[i],p[i+1])');
    const mismatches = pairs
      .map(([a, b], i) => ({ a, b, rpm: Number(rpm[i]), ours: compareEvr(parseEvr(a), parseEvr(b)) }))
      .filter((m) => m.rpm !== m.ours);
    expect(mismatches).toEqual([]);
    expect(EVR_TABLE.map(([, , e]) => e)).toEqual(rpm.slice(0, EVR_TABLE.length).map(Number));
  });

  it('splits EVRs as rpm.ver does', () => {
    const inputs = [...PARSE_TABLE.map(([s]) => s), ...[...generated('01a.-:', 500, 99)].map(([a]) => a)];
    const pairs = inputs.map((s): [string, string] => [s, s]);
    const rpm = rpmLua(pairs, 'local v=rpm.ver(p[i]); r[#r+1]=tostring(v.e).."|"..v.v.."|"..tostring(v.r)');
    const ours = inputs.map((s) => {
      const evr = parseEvr(s);
      return `${evr.epoch ?? 'nil'}|${evr.version}|${evr.release ?? 'nil'}`;
    });
    expect(ours).toEqual(rpm);
  });
});
