import { describe, expect, it } from 'vitest';
import { createProgress, formatEta, formatRate, shorten } from '../../src/io/progress.js';

const MiB = 1024 * 1024;
const URL1 = 'https://debuginfo.centos.org/8/x86_64/Packages/kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm';
const F1 = 'kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm';
const F2 = 'kernel-devel-4.18.0-348.7.1.el8_5.x86_64.rpm';

function clock() {
  let t = 0;
  return { now: () => t, set: (ms: number) => (t = ms) };
}

/** A fake stderr: what was written, raw. */
function sink() {
  const s = { out: '', write: (chunk: string) => (s.out += chunk) };
  return s;
}

describe('progress without a terminal (logs, CI)', () => {
  it('prints a line at the start, at each 25 % crossed, and at the end, exactly', () => {
    const c = clock();
    const err = sink();
    const p = createProgress(err, { isTty: false, now: c.now });
    p.start(F1, { total: 4 * MiB, offset: 0, url: URL1 });
    c.set(1000);
    p.update(F1, 1 * MiB);
    c.set(1500);
    p.update(F1, 1.5 * MiB);
    c.set(3000);
    p.update(F1, 3.5 * MiB); // crosses 50 % and 75 %: one line, the latest
    c.set(4000);
    p.update(F1, 4 * MiB); // 100 %: no quarter line, the done line says it
    p.done(F1, { size: 4 * MiB, fetched: 4 * MiB, verifiedBy: 'sha256' });
    expect(err.out).toBe(
      [
        `${F1}: start, 4.0 MiB from ${URL1}`,
        `${F1}: 25% (1.0 MiB of 4.0 MiB, 1.0 MiB/s)`,
        `${F1}: 75% (3.5 MiB of 4.0 MiB, 1.2 MiB/s)`,
        `${F1}: done, 4.0 MiB in 4.0 s (1.0 MiB/s), sha256 ok`,
        '',
      ].join('\n'),
    );
    expect(err.out).not.toMatch(/\r|\x1b/);
  });

  it('says where a resumed transfer starts, counts quarters from there, and says what was fetched', () => {
    const c = clock();
    const err = sink();
    const p = createProgress(err, { isTty: false, now: c.now });
    p.start(F1, { total: 4 * MiB, offset: 2.5 * MiB, url: URL1 });
    c.set(500);
    p.update(F1, 3 * MiB);
    c.set(1500);
    p.update(F1, 4 * MiB);
    p.done(F1, { size: 4 * MiB, fetched: 1.5 * MiB, verifiedBy: 'rpm digests' });
    expect(err.out.split('\n')).toEqual([
      `${F1}: resuming at 2.5 MiB of 4.0 MiB from ${URL1}`,
      `${F1}: 75% (3.0 MiB of 4.0 MiB, 1.0 MiB/s)`,
      `${F1}: done, 4.0 MiB, 1.5 MiB fetched in 1.5 s (1.0 MiB/s), rpm digests ok`,
      '',
    ]);
  });

  it('prints no percentages when the size is unknown, and plain lines for the rest', () => {
    const c = clock();
    const err = sink();
    const p = createProgress(err, { isTty: false, now: c.now });
    p.cached(F2, 'sha256');
    p.start(F1, { total: null, offset: 0, url: URL1 });
    c.set(2000);
    p.update(F1, 3 * MiB);
    p.note(`${F1}: HTTP 503 from debuginfo.centos.org; retry 1/5 in 1.0 s`);
    p.stopped(F1, 'interrupted, partial download kept');
    p.close();
    expect(err.out.split('\n')).toEqual([
      `${F2}: in the cache, sha256 ok`,
      `${F1}: start, size unknown from ${URL1}`,
      `${F1}: HTTP 503 from debuginfo.centos.org; retry 1/5 in 1.0 s`,
      `${F1}: stopped at 3.0 MiB: interrupted, partial download kept`,
      '',
    ]);
  });
});

/**
 * Just enough of a terminal to replay what progress writes: \r, \n, ESC[nA (up), ESC[K (clear
 * to end of line), ESC[J (clear below), and soft wrap at `columns` like xterm. Returns the rows
 * on screen. A live line that wrapped would make the cursor-up arithmetic overwrite the wrong
 * rows, which the exact screen comparisons below would show.
 */
function screen(raw: string, columns: number): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    if (col === columns) {
      row++;
      col = 0;
      if (lines[row] === undefined) lines[row] = '';
    }
    const line = (lines[row] ?? '').padEnd(col, ' ');
    lines[row] = line.slice(0, col) + ch + line.slice(col + 1);
    col++;
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\x1b') {
      const m = /^\x1b\[(\d*)([AKJ])/.exec(raw.slice(i));
      if (!m) throw new Error(`unexpected escape at ${i}: ${JSON.stringify(raw.slice(i, i + 8))}`);
      const n = Number(m[1] || '1');
      if (m[2] === 'A') row = Math.max(0, row - n);
      else if (m[2] === 'K') lines[row] = (lines[row] ?? '').slice(0, col);
      else lines.splice(row + 1), (lines[row] = (lines[row] ?? '').slice(0, col));
      i += m[0].length - 1;
    } else if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
      if (lines[row] === undefined) lines[row] = '';
    } else put(ch);
  }
  return lines;
}

/** A line as a terminal `columns` wide shows it: cut into rows. */
function rows(line: string, columns: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < line.length; i += columns) out.push(line.slice(i, i + columns));
  return out;
}

/** A fake `every`: the test fires the tick itself; counts how often it was stopped. */
function ticker() {
  const t = {
    fn: null as (() => void) | null,
    stops: 0,
    every: (_ms: number, fn: () => void) => {
      t.fn = fn;
      return () => {
        t.fn = null;
        t.stops++;
      };
    },
    fire: () => t.fn?.(),
  };
  return t;
}

// The three packages of one EL9 kernel, as the mirror names them.
const EL9 = [
  'kernel-debuginfo-5.14.0-362.el9.x86_64.rpm',
  'kernel-debuginfo-common-x86_64-5.14.0-362.el9.x86_64.rpm',
  'kernel-devel-5.14.0-362.el9.x86_64.rpm',
] as const;

describe('progress on a terminal', () => {
  const columns = 100;
  // A fake TTY stream, as process.stderr looks on a terminal.
  const ttyStream = () => ({ out: '', isTTY: true, columns, write(chunk: string) { this.out += chunk; return true; } });

  it('keeps one live line per file with bytes, percentage, rate and ETA, redrawn in place', () => {
    const c = clock();
    const err = ttyStream();
    const p = createProgress(err, { isTty: true, columns: err.columns, now: c.now, redrawMs: 100, every: ticker().every });
    p.start(F1, { total: 600 * MiB, offset: 0, url: URL1 });
    p.start(F2, { total: 20 * MiB, offset: 0, url: URL1 });
    c.set(2000);
    p.update(F1, 150 * MiB);
    p.update(F2, 10 * MiB); // within redrawMs of the last redraw: not drawn yet
    // F1 is too long for its column here (100 columns): without arch and extension it fits.
    const n1 = 'kernel-debuginfo-4.18.0-348.7.1.el8_5'.padEnd(44);
    expect(screen(err.out, columns)).toEqual([
      `${n1}  150.0 MiB / 600.0 MiB   25%   75.0 MiB/s  ETA 0:06`,
      `${F2}        0 B /  20.0 MiB    0%        0 B/s`,
      '',
    ]);
    c.set(2200);
    p.update(F2, 11 * MiB);
    // The rate is over the last 5 s up to now: F1's got no byte since 2000, so it is lower.
    expect(screen(err.out, columns)).toEqual([
      `${n1}  150.0 MiB / 600.0 MiB   25%   68.2 MiB/s  ETA 0:07`,
      `${F2}   11.0 MiB /  20.0 MiB   55%    5.0 MiB/s  ETA 0:02`,
      '',
    ]);
    // Redraws go back up with ESC[nA and only happen on a terminal.
    expect(err.out).toContain('\x1b[2A\r');
  });

  it('at 80 columns the three EL9 names stay apart, every line has its rate, and a stall says so instead of an ETA', () => {
    const c = clock();
    const tick = ticker();
    const err = { ...ttyStream(), columns: 80 };
    const p = createProgress(err, { isTty: true, columns: 80, now: c.now, redrawMs: 0, every: tick.every });
    const [d, common, devel] = EL9;
    p.start(d, { total: 600 * MiB, offset: 0, url: URL1 });
    p.start(common, { total: 80 * MiB, offset: 0, url: URL1 });
    p.start(devel, { total: 20 * MiB, offset: 0, url: URL1 });
    c.set(2000);
    p.update(d, 150 * MiB);
    p.update(common, 40 * MiB);
    p.update(devel, 10 * MiB);
    expect(screen(err.out, 80)).toEqual([
      'kernel-debuginfo-…62.el9  150.0 MiB / 600.0 MiB   25%   75.0 MiB/s  ETA 0:06',
      'kernel-debug…mmon-x86_64   40.0 MiB /  80.0 MiB   50%   20.0 MiB/s  ETA 0:02',
      'kernel-devel-….0-362.el9   10.0 MiB /  20.0 MiB   50%    5.0 MiB/s  ETA 0:02',
      '',
    ]);
    c.set(3000);
    p.update(d, 200 * MiB);
    // No bytes for the other two from 2000: only the ticker redraws; after 3 s they are stalled.
    c.set(5500);
    tick.fire();
    expect(screen(err.out, 80)).toEqual([
      'kernel-debuginfo-…62.el9  200.0 MiB / 600.0 MiB   33%   36.4 MiB/s  ETA 0:11',
      'kernel-debug…mmon-x86_64   40.0 MiB /  80.0 MiB   50%    7.3 MiB/s  stalled 3s',
      'kernel-devel-….0-362.el9   10.0 MiB /  20.0 MiB   50%    1.8 MiB/s  stalled 3s',
      '',
    ]);
    // All three quiet for more than the 5 s rate window: 0 B/s, never a frozen ETA 0:00.
    c.set(12000);
    tick.fire();
    const shown = screen(err.out, 80);
    expect(shown).toEqual([
      'kernel-debuginfo-…62.el9  200.0 MiB / 600.0 MiB   33%        0 B/s  stalled 9s',
      'kernel-debug…mmon-x86_64   40.0 MiB /  80.0 MiB   50%        0 B/s  stalled 10s',
      'kernel-devel-….0-362.el9   10.0 MiB /  20.0 MiB   50%        0 B/s  stalled 10s',
      '',
    ]);
    expect(shown.every((l) => l.length < 80)).toBe(true);
    // The ticker stops when nothing is in flight.
    p.done(d, { size: 600 * MiB, fetched: 600 * MiB, verifiedBy: 'sha256' });
    p.done(common, { size: 80 * MiB, fetched: 80 * MiB, verifiedBy: 'sha256' });
    expect(tick.stops).toBe(0);
    p.done(devel, { size: 20 * MiB, fetched: 20 * MiB, verifiedBy: 'sha256' });
    expect(tick.stops).toBe(1);
  });

  it('on Ctrl-C the live block is left whole and never redrawn over the lines printed below it', () => {
    const c = clock();
    const tick = ticker();
    const err = { ...ttyStream(), columns: 80 };
    const interrupts = new AbortController();
    const p = createProgress(err, { isTty: true, columns: 80, now: c.now, redrawMs: 0, every: tick.every, signal: interrupts.signal });
    const [d, common] = EL9;
    p.start(d, { total: 600 * MiB, offset: 0, url: URL1 });
    p.start(common, { total: 80 * MiB, offset: 0, url: URL1 });
    c.set(2000);
    p.update(d, 150 * MiB);
    p.update(common, 40 * MiB);
    // What the terminal and src/cli.ts print on Ctrl-C, on the same stream, before the abort.
    err.write('^C');
    err.write('\nkdebuginfo: SIGINT: stopping (again to quit at once)\n');
    interrupts.abort();
    expect(tick.stops).toBe(1);
    c.set(2100);
    p.update(d, 151 * MiB); // a chunk already on its way: no redraw of the block
    p.stopped(d, 'interrupted, partial download kept');
    p.stopped(common, 'interrupted, partial download kept');
    p.close();
    expect(screen(err.out, 80)).toEqual([
      'kernel-debuginfo-…62.el9  150.0 MiB / 600.0 MiB   25%   75.0 MiB/s  ETA 0:06',
      'kernel-debug…mmon-x86_64   40.0 MiB /  80.0 MiB   50%   20.0 MiB/s  ETA 0:02',
      '^C',
      'kdebuginfo: SIGINT: stopping (again to quit at once)',
      // Whole lines, wrapped by the terminal at 80 columns.
      ...rows(`${d}: stopped at 151.0 MiB of 600.0 MiB: interrupted, partial download kept`, 80),
      ...rows(`${common}: stopped at 40.0 MiB of 80.0 MiB: interrupted, partial download kept`, 80),
      '',
    ]);
  });

  it('prints finished files and notes above the live block, and leaves a clean screen on close', () => {
    const c = clock();
    const wide = 120;
    const err = { ...ttyStream(), columns: wide };
    const p = createProgress(err, { isTty: true, columns: wide, now: c.now, every: ticker().every });
    p.start(F1, { total: 8 * MiB, offset: 0, url: URL1 });
    p.start(F2, { total: 2 * MiB, offset: 0, url: URL1 });
    c.set(1000);
    p.update(F2, 2 * MiB);
    p.done(F2, { size: 2 * MiB, fetched: 2 * MiB, verifiedBy: 'sha256' });
    p.note(`${F1}: HTTP 503 from debuginfo.centos.org; retry 1/5 in 1.0 s`);
    c.set(2000);
    p.update(F1, 4 * MiB);
    expect(screen(err.out, wide)).toEqual([
      `${F2}: done, 2.0 MiB in 1.0 s (2.0 MiB/s), sha256 ok`,
      `${F1}: HTTP 503 from debuginfo.centos.org; retry 1/5 in 1.0 s`,
      `${F1}    4.0 MiB /   8.0 MiB   50%    2.0 MiB/s  ETA 0:02`,
      '',
    ]);
    p.close();
    expect(screen(err.out, wide)).toEqual([
      `${F2}: done, 2.0 MiB in 1.0 s (2.0 MiB/s), sha256 ok`,
      `${F1}: HTTP 503 from debuginfo.centos.org; retry 1/5 in 1.0 s`,
      '',
    ]);
  });

  it('never wraps the live block on a narrow terminal: ETA and rate dropped from every line, names shortened; notes stay whole', () => {
    const c = clock();
    const narrow = 50;
    const err = { out: '', write(chunk: string) { this.out += chunk; return true; } };
    const p = createProgress(err, { isTty: true, columns: narrow, now: c.now, redrawMs: 0, every: ticker().every });
    p.start(F1, { total: 600 * MiB, offset: 0, url: URL1 });
    p.start(F2, { total: 20 * MiB, offset: 0, url: URL1 });
    c.set(1000);
    p.update(F1, 60 * MiB);
    p.note(`${F1}: ${URL1}: HTTP 404; trying the next mirror`);
    const note = `${F1}: ${URL1}: HTTP 404; trying the next mirror`;
    // The note is longer than the terminal: printed whole, it wraps onto 4 rows above the block.
    const shown = screen(err.out, narrow);
    expect(shown.slice(0, 4).join('')).toBe(note);
    expect(shown.slice(4)).toEqual(['kernel-debuginfo       60.0 MiB / 600.0 MiB   10%', 'kernel-devel-….el8_5        0 B /  20.0 MiB    0%', '']);
  });
});

describe('shortened names', () => {
  const distinct = (names: readonly string[], width: number) => new Set(names.map((n) => shorten(n, width))).size;

  it('keep the package name and the end of version-release, so files of one kernel never look the same', () => {
    expect(EL9.map((n) => shorten(n, 24))).toEqual(['kernel-debuginfo-…62.el9', 'kernel-debug…mmon-x86_64', 'kernel-devel-….0-362.el9']);
    // A cut in the middle of the whole name, as before, made two of them the same at this width.
    const middle = (n: string, w: number) => `${n.slice(0, Math.ceil((w - 1) / 2))}…${n.slice(n.length - Math.floor((w - 1) / 2))}`;
    expect(new Set(EL9.map((n) => middle(n, 24))).size).toBe(2);
    const el92 = EL9.map((n) => n.replace('5.14.0-362.el9', '5.14.0-284.11.1.el9_2'));
    const debian = ['linux-image-6.1.0-18-amd64-dbg_6.1.76-1_amd64.deb', 'linux-headers-6.1.0-18-amd64_6.1.76-1_amd64.deb', 'linux-headers-6.1.0-18-common_6.1.76-1_all.deb'];
    for (const width of [12, 16, 20, 24, 30, 40]) {
      expect(distinct(EL9, width)).toBe(3);
      expect(distinct(el92, width)).toBe(3);
      expect(distinct(debian, width)).toBe(3);
      for (const n of [...EL9, ...el92, ...debian]) expect(shorten(n, width).length).toBeLessThanOrEqual(width);
    }
    expect(shorten(el92[2]!, 30)).toBe('kernel-devel-…0-284.11.1.el9_2');
    expect(shorten(debian[1]!, 30)).toBe('linux-headers-6.1.0-18-amd64');
    expect(shorten(EL9[2]!, 30)).toBe('kernel-devel-5.14.0-362.el9');
  });
});

describe('formatting', () => {
  it('formats rates, ETAs and shortened names', () => {
    expect(formatRate(1.5 * MiB)).toBe('1.5 MiB/s');
    expect(formatRate(512)).toBe('512 B/s');
    expect(formatEta(9)).toBe('0:09');
    expect(formatEta(725)).toBe('12:05');
    expect(formatEta(3723)).toBe('1:02:03');
    expect(shorten('abcdefghij', 10)).toBe('abcdefghij');
    expect(shorten('abcdefghijkl', 7)).toBe('abc…jkl');
  });
});
