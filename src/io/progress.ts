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
}

const RATE_WINDOW_MS = 5000;
const SAMPLE_MS = 100;

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
    };
    this.active.set(file, a);
    this.onStart(a, info.url);
  }

  update(file: string, received: number): void {
    const a = this.active.get(file);
    if (!a) return;
    a.received = received;
    const t = this.now();
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

/**
 * A terminal: one live line per file being fetched, redrawn in place at most every `redrawMs`:
 *   `kernel-debuginfo-….rpm  150.0 MiB / 600.0 MiB  25%  48.2 MiB/s  ETA 0:09`
 * Finished files and notes are printed above the block and stay.
 */
class TtyProgress extends BaseProgress {
  private drawnLines = 0;
  private lastDraw = -Infinity;
  private readonly columns: number;
  private readonly redrawMs: number;

  constructor(stream: ProgressStream, opts: ProgressOptions) {
    super(stream, opts);
    this.columns = opts.columns && opts.columns > 20 ? opts.columns : 80;
    this.redrawMs = opts.redrawMs ?? 100;
  }

  protected onStart(): void {
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
  }

  close(): void {
    this.active.clear();
    this.redraw('');
  }

  /** Move to the top of the live block, print `above` (permanent lines), then the block. */
  private redraw(above: string): void {
    let out = this.drawnLines > 0 ? `${CSI}${this.drawnLines}A\r` : '\r';
    out += above;
    const MIN_NAME = 12;
    const rows = [...this.active.values()].map((a) => ({ name: a.file, stats: this.stats(a, this.columns - 1 - 2 - MIN_NAME) }));
    // One name column for all rows, so the numbers line up; names cut in the middle to fit.
    const widest = Math.max(0, ...rows.map((r) => r.stats.length));
    const nameWidth = Math.max(MIN_NAME, Math.min(Math.max(0, ...rows.map((r) => r.name.length)), this.columns - 1 - 2 - widest));
    const lines = rows.map((r) => this.fit(`${shorten(r.name, nameWidth).padEnd(nameWidth)}  ${r.stats}`));
    for (const l of lines) out += `${l}${CSI}K\n`;
    out += `${CSI}J`;
    this.stream.write(out);
    this.drawnLines = lines.length;
    this.lastDraw = this.now();
  }

  /**
   * `150.0 MiB / 600.0 MiB   25%  48.2 MiB/s  ETA 0:09` (rate over the last 5 s); on a narrow
   * terminal the ETA, then the rate, are left out rather than cut in half.
   */
  private stats(a: Active, room: number): string {
    const parts: string[] = [];
    parts.push(a.total ? `${formatBytes(a.received)} / ${formatBytes(a.total)}` : formatBytes(a.received));
    if (a.total) parts.push(`${Math.floor((a.received / a.total) * 100)}%`.padStart(4));
    const first = a.samples[0]!;
    const last = a.samples[a.samples.length - 1]!;
    const ms = last[0] - first[0];
    if (ms > 0) {
      const rate = ((last[1] - first[1]) * 1000) / ms;
      parts.push(formatRate(rate));
      if (a.total && rate > 0) parts.push(`ETA ${formatEta((a.total - a.received) / rate)}`);
    }
    while (parts.length > 1 && parts.join('  ').length > room) parts.pop();
    return parts.join('  ');
  }

  private fit(line: string): string {
    return line.length < this.columns ? line : `${line.slice(0, this.columns - 2)}…`;
  }
}

/** Cut a name in the middle (`kernel-debuginfo-….x86_64.rpm`): both ends identify a package. */
export function shorten(name: string, width: number): string {
  if (name.length <= width) return name;
  const keep = width - 1;
  const head = Math.ceil(keep / 2);
  return `${name.slice(0, head)}…${name.slice(name.length - (keep - head))}`;
}
