import { formatBytes } from '../core/format.js';

/** What progress needs from a stream: stderr, or a fake one in tests. */
export interface ProgressStream {
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  /**
   * stderr is a terminal with a width: a live block of lines redrawn in place. Otherwise plain
   * lines only (logs, CI, Ansible): one at the start, one at each 25 %, one at the end.
   */
  isTty: boolean;
  /** Terminal width; lines are cut to fit so a redraw never wraps (which would break cursor maths). */
  columns?: number;
  /** Clock, ms. Tests pass a fake one. */
  now?: () => number;
  /** Minimum time between two redraws of the live block, ms (default 100). */
  redrawMs?: number;
  /**
   * Ctrl-C: once aborted the live block is left as last drawn (whole lines) and never redrawn:
   * the CLI has printed its own line below it (src/cli.ts, run), so moving the cursor back up
   * by the block's height would land on the wrong rows and leave half-overwritten lines.
   */
  signal?: AbortSignal;
  /**
   * Calls `fn` every `ms` until the returned function is called (default: an unref'd
   * setInterval). A stalled transfer sends no bytes, so nothing else would redraw its line.
   * Tests pass a fake one and call `fn` themselves.
   */
  every?: (ms: number, fn: () => void) => () => void;
}

/**
 * Download progress on stderr. The engine calls it; it never writes to stdout.
 * `received` is always the absolute byte count of the file so far (resumed bytes included).
 */
export interface Progress {
  /** A transfer (re)starts at `offset` (0, or the resume point). */
  start(file: string, info: { total: number | null; offset: number; url: string }): void;
  update(file: string, received: number): void;
  /** The file is in place: `fetched` bytes came over the network this run. */
  done(file: string, info: { size: number; fetched: number; verifiedBy: string }): void;
  /** Already in the cache and verified: nothing fetched. */
  cached(file: string, verifiedBy: string): void;
  /** The transfer stopped without the file (error, abort); the partial file is kept. */
  stopped(file: string, reason: string): void;
  /** A message line (retry, fallback, warning), printed above the live block. */
  note(line: string): void;
  /** Leave the terminal clean: no live block, cursor below everything printed. */
  close(): void;
}

interface Active {
  file: string;
  total: number | null;
  offset: number;
  received: number;
  startedAt: number;
  /** Recent (time, bytes) samples for the TTY rate: a 5 s window, so a stall shows quickly. */
  samples: Array<[number, number]>;
  /** Highest 25 % step already reported (non-TTY). */
  quarter: number;
  /** When the byte count last grew (or the transfer started). */
  lastByteAt: number;
}

const RATE_WINDOW_MS = 5000;
const SAMPLE_MS = 100;
/** No byte for this long: the live line says `stalled Ns` instead of an ETA. */
const STALL_MS = 3000;
/** How often the live block is redrawn when no bytes arrive (the stall counter moves on). */
const TICK_MS = 1000;

export function createProgress(stream: ProgressStream, opts: ProgressOptions): Progress {
  return opts.isTty ? new TtyProgress(stream, opts) : new LineProgress(stream, opts);
}

/** A progress that prints nothing (--json runs that want silence, and library callers). */
export const silentProgress: Progress = {
  start() {},
  update() {},
  done() {},
  cached() {},
  stopped() {},
  note() {},
  close() {},
};

/** `12.3 MiB/s`; rate in bytes per second. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** `0:42`, `12:03`, `1:02:03`. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

abstract class BaseProgress implements Progress {
  protected readonly active = new Map<string, Active>();
  protected readonly now: () => number;

  constructor(
    protected readonly stream: ProgressStream,
    opts: ProgressOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  start(file: string, info: { total: number | null; offset: number; url: string }): void {
    const t = this.now();
    const a: Active = {
      file,
      total: info.total,
      offset: info.offset,
      received: info.offset,
      startedAt: t,
      samples: [[t, info.offset]],
      quarter: info.total ? Math.floor((info.offset / info.total) * 4) : 0,
      lastByteAt: t,
    };
    this.active.set(file, a);
    this.onStart(a, info.url);
  }

  update(file: string, received: number): void {
    const a = this.active.get(file);
    if (!a) return;
    const t = this.now();
    if (received > a.received) a.lastByteAt = t;
    a.received = received;
    // Called for every network chunk (tens of thousands per GB): keep it cheap, one sample per
    // SAMPLE_MS for the rate (the newest sample is replaced in between).
    const last = a.samples[a.samples.length - 1]!;
    if (a.samples.length > 1 && t - a.samples[a.samples.length - 2]![0] < SAMPLE_MS) {
      last[0] = t;
      last[1] = received;
    } else {
      a.samples.push([t, received]);
    }
    while (a.samples.length > 2 && t - a.samples[0]![0] > RATE_WINDOW_MS) a.samples.shift();
    this.onUpdate(a);
  }

  done(file: string, info: { size: number; fetched: number; verifiedBy: string }): void {
    const a = this.active.get(file);
    this.active.delete(file);
    const ms = a ? this.now() - a.startedAt : 0;
    const rate = ms > 0 ? ` (${formatRate((info.fetched * 1000) / ms)})` : '';
    const resumed = info.fetched < info.size ? `, ${formatBytes(info.fetched)} fetched` : '';
    this.permanent(`${file}: done, ${formatBytes(info.size)}${resumed} in ${formatSeconds(ms)}${rate}, ${info.verifiedBy} ok`);
  }

  cached(file: string, verifiedBy: string): void {
    this.permanent(`${file}: in the cache, ${verifiedBy} ok`);
  }

  stopped(file: string, reason: string): void {
    const a = this.active.get(file);
    this.active.delete(file);
    const where = a ? ` at ${formatBytes(a.received)}${a.total ? ` of ${formatBytes(a.total)}` : ''}` : '';
    this.permanent(`${file}: stopped${where}: ${reason}`);
  }

  note(line: string): void {
    this.permanent(line);
  }

  abstract close(): void;
  protected abstract onStart(a: Active, url: string): void;
  protected abstract onUpdate(a: Active): void;
  protected abstract permanent(line: string): void;
}

/**
 * No terminal: every line is final, so logs stay readable. Exactly:
 *   `FILE: start, 7.8 KiB from URL` or `FILE: resuming at 2.9 KiB of 7.8 KiB from URL`
 *   `FILE: 25% (1.9 KiB of 7.8 KiB, 1.2 MiB/s)` at 25, 50 and 75 %
 *   `FILE: done, 7.8 KiB in 0.4 s (19.5 KiB/s), sha256 ok`
 * The rate of the quarter lines and of `done` is the average since this transfer started.
 */
class LineProgress extends BaseProgress {
  protected onStart(a: Active, url: string): void {
    const size = a.total === null ? 'size unknown' : formatBytes(a.total);
    if (a.offset > 0) {
      this.permanent(`${a.file}: resuming at ${formatBytes(a.offset)} of ${size} from ${url}`);
    } else {
      this.permanent(`${a.file}: start, ${size} from ${url}`);
    }
  }

  protected onUpdate(a: Active): void {
    if (!a.total) return;
    // 25, 50 and 75 %: the end has its own `done` line.
    const q = Math.floor((a.received / a.total) * 4);
    if (q <= a.quarter || q >= 4) return;
    a.quarter = q;
    const ms = this.now() - a.startedAt;
    const rate = ms > 0 ? `, ${formatRate(((a.received - a.offset) * 1000) / ms)}` : '';
    this.permanent(`${a.file}: ${q * 25}% (${formatBytes(a.received)} of ${formatBytes(a.total)}${rate})`);
  }

  protected permanent(line: string): void {
    this.stream.write(`${line}\n`);
  }

  close(): void {}
}

const CSI = '\x1b[';
/** The shortest name column: below this the stats give way (ETA first, then the rate). */
const MIN_NAME = 12;

/**
 * A terminal: one live line per file being fetched, redrawn in place at most every `redrawMs`
 * and at least every second (so a stall shows), all columns aligned:
 *   `kernel-debuginfo-…62.el9  150.0 MiB / 600.0 MiB   25%   48.2 MiB/s  ETA 0:09`
 *   `kernel-devel-….0-362.el9    9.0 MiB /  20.0 MiB   45%    1.8 MiB/s  stalled 4s`
 * Finished files and notes are printed above the block and stay.
 */
class TtyProgress extends BaseProgress {
  private drawnLines = 0;
  private lastDraw = -Infinity;
  private readonly columns: number;
  private readonly redrawMs: number;
  private readonly every: (ms: number, fn: () => void) => () => void;
  private stopTicking: (() => void) | null = null;
  /** Aborted: the block stays as last drawn and only permanent lines follow. */
  private isFrozen = false;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => this.freeze();

  constructor(stream: ProgressStream, opts: ProgressOptions) {
    super(stream, opts);
    this.columns = opts.columns && opts.columns > 20 ? opts.columns : 80;
    this.redrawMs = opts.redrawMs ?? 100;
    this.every = opts.every ?? everyUnref;
    this.signal = opts.signal;
    if (this.signal?.aborted) this.freeze();
    else this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  protected onStart(): void {
    if (!this.stopTicking && !this.isFrozen) {
      this.stopTicking = this.every(TICK_MS, () => {
        if (this.now() - this.lastDraw >= this.redrawMs) this.redraw('');
      });
    }
    this.redraw('');
  }

  protected onUpdate(): void {
    if (this.now() - this.lastDraw < this.redrawMs) return;
    this.redraw('');
  }

  protected permanent(line: string): void {
    // Whole, even if it wraps: the redraw only ever moves back over the live block printed
    // after it, and a note or an error with a URL must not lose its end.
    this.redraw(`${line}${CSI}K\n`);
    if (this.active.size === 0) this.tickOff();
  }

  close(): void {
    this.active.clear();
    this.redraw('');
    this.tickOff();
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  private freeze(): void {
    this.isFrozen = true;
    this.drawnLines = 0;
    this.tickOff();
  }

  private tickOff(): void {
    this.stopTicking?.();
    this.stopTicking = null;
  }

  /** Move to the top of the live block, print `above` (permanent lines), then the block. */
  private redraw(above: string): void {
    let out = this.drawnLines > 0 ? `${CSI}${this.drawnLines}A\r` : '\r';
    out += above;
    const lines = this.isFrozen ? [] : this.liveLines();
    for (const l of lines) out += `${l}${CSI}K\n`;
    out += `${CSI}J`;
    this.stream.write(out);
    this.drawnLines = lines.length;
    this.lastDraw = this.now();
  }

  /**
   * One line per active transfer. The stat columns are padded to line up, and dropped for
   * every line at once when the terminal is narrow (ETA first, then the rate), so no line
   * lacks what its neighbour shows; names get what is left (see `shorten`).
   */
  private liveLines(): string[] {
    const now = this.now();
    const rows = [...this.active.values()].map((a) => ({ name: a.file, cells: statCells(a, now) }));
    if (rows.length === 0) return [];
    const room = this.columns - 1 - 2 - MIN_NAME;
    let shown = 5;
    let stats = joinColumns(rows.map((r) => r.cells.slice(0, shown)));
    while (shown > 2 && Math.max(...stats.map((x) => x.length)) > room) {
      shown--;
      stats = joinColumns(rows.map((r) => r.cells.slice(0, shown)));
    }
    const widest = Math.max(...stats.map((x) => x.length));
    const nameWidth = Math.max(MIN_NAME, Math.min(Math.max(...rows.map((r) => r.name.length)), this.columns - 1 - 2 - widest));
    return rows.map((r, i) => this.fit(`${shorten(r.name, nameWidth).padEnd(nameWidth)}  ${stats[i]}`.trimEnd()));
  }

  private fit(line: string): string {
    return line.length < this.columns ? line : `${line.slice(0, this.columns - 2)}…`;
  }
}

function everyUnref(ms: number, fn: () => void): () => void {
  const timer = setInterval(fn, ms);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * `[received, total, percent, rate, ETA]` of one transfer at `now`. The rate is over the last
 * 5 s up to now, not up to the last byte, so it falls when bytes stop; after STALL_MS without a
 * byte the ETA (which would sit at its last value, or at 0:00) becomes `stalled Ns`.
 */
function statCells(a: Active, now: number): string[] {
  const total = a.total ? formatBytes(a.total) : '';
  const percent = a.total ? `${Math.floor((a.received / a.total) * 100)}%` : '';
  // The newest sample at or before the window's start, else the oldest there is.
  let base = a.samples[0]!;
  for (const s of a.samples) {
    if (s[0] > now - RATE_WINDOW_MS) break;
    base = s;
  }
  const ms = now - base[0];
  const rate = ms > 0 ? ((a.received - base[1]) * 1000) / ms : 0;
  const quiet = now - a.lastByteAt;
  let eta = '';
  if (quiet >= STALL_MS) eta = `stalled ${Math.floor(quiet / 1000)}s`;
  else if (a.total && rate > 0) eta = `ETA ${formatEta((a.total - a.received) / rate)}`;
  return [formatBytes(a.received), total, percent, formatRate(rate), eta];
}

/**
 * The usual width of each stat column (`150.0 MiB`, `600.0 MiB`, ` 25%`, `465.5 KiB/s`,
 * `stalled 59s`): padding to at least these keeps the name column from moving with every redraw.
 */
const STAT_WIDTHS = [9, 9, 4, 11, 11];

/**
 * Cells into lines, each column padded to its widest cell (numbers right-aligned, the ETA
 * left): `received / total` (or just `received` when the size is unknown), then the rest.
 */
function joinColumns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(STAT_WIDTHS[c]!, ...rows.map((r) => r[c]!.length)));
  return rows.map((r) => {
    const [received, total, ...rest] = r.map((cell, c) => (c === 4 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)));
    const bytes = r[1] ? `${received} / ${total}` : `${received}   ${' '.repeat(widths[1]!)}`;
    return [bytes, ...rest].join('  ');
  });
}

/** `name-version-release.arch.rpm`, `name_version_arch.deb`: the package name and version. */
const RPM_FILE = /^(.+)-([^-]+-[^-]+)\.[^.]+\.rpm$/;
const DEB_FILE = /^([^_]+)_([^_]+)_[^_.]+\.u?deb$/;
/** Fewer characters of version-release than this tell nothing: show the package name alone. */
const MIN_VERSION_TAIL = 4;

/**
 * A file name to fit `width`, keeping what tells files apart. The files of one run share
 * version, release and arch and differ in the package name (kernel-debuginfo,
 * kernel-debuginfo-common-x86_64, kernel-devel), so a cut in the middle of the whole name made
 * two of them look the same at 80 columns. For a package file, in order: without arch and
 * extension; the whole package name and the end of version-release (`kernel-devel-….0-362.el9`);
 * the package name alone; the package name cut in the middle. Other names are cut in the middle.
 */
export function shorten(name: string, width: number): string {
  if (name.length <= width) return name;
  const m = RPM_FILE.exec(name) ?? DEB_FILE.exec(name);
  if (m) {
    const pkg = m[1]!;
    const version = m[2]!;
    const sep = name.charAt(pkg.length);
    const nv = `${pkg}${sep}${version}`;
    if (nv.length <= width) return nv;
    const tail = width - pkg.length - 2;
    if (tail >= MIN_VERSION_TAIL) return `${pkg}${sep}…${version.slice(version.length - tail)}`;
    if (pkg.length <= width) return pkg;
    return cutMiddle(pkg, width);
  }
  return cutMiddle(name, width);
}

function cutMiddle(name: string, width: number): string {
  if (name.length <= width) return name;
  const keep = width - 1;
  const head = Math.ceil(keep / 2);
  return `${name.slice(0, head)}…${name.slice(name.length - (keep - head))}`;
}
