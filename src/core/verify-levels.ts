/**
 * How far a verification goes, in one place for every distribution family and every command:
 * which stap pass each level stops after, how long stap gets, and which level is the default
 * where. `verify`, `install --verify` (RPM and apt flows) and doctor's advice all read this table.
 */

/** `none` skips the proof; the others name the last stap pass run. */
export type VerifyLevel = 'run' | 'compile' | 'resolve' | 'none';

/** A level that runs stap. */
export type ProbeLevel = Exclude<VerifyLevel, 'none'>;

export interface LevelSpec {
  /** The stap pass the level stops after (`stap -pN`; 5 runs the module, stap's default). */
  pass: 2 | 4 | 5;
  /** How long the whole stap run may take before it is stopped (SIGTERM, then SIGKILL). */
  timeoutMs: number;
  /** What succeeding proves, for messages and help. */
  proves: string;
}

/**
 * Timeouts: the larger of the two the RPM and Debian verifications used before they were one
 * (120/300 s and 180/600 s), because both were guesses on the short side for the slow cases:
 *  - resolve (pass 2) reads the DWARF of the whole vmlinux, a file of 0.5-0.9 GB unpacked from
 *    debuginfo packages of 0.5-1 GB (README, "Debuginfo packages are 0.5-1 GB each"); on a small
 *    VM with a cold page cache that alone takes tens of seconds, then every kernel.function is
 *    matched against it.
 *  - compile (pass 4) builds a kernel module, SystemTap's runtime included, with the kernel's own
 *    Kbuild and gcc: a minute is common for a first compile, several on a small VM (stap caches
 *    the module in ~/.systemtap/cache keyed by the script, so only the first run pays).
 *  - run (pass 5) is passes 1-4 first, then the probe's own few seconds (its workload forks three
 *    times and sleeps a second each; the script stops itself after 30 s at most,
 *    src/core/fork-probe.ts), so it gets compile's time.
 * A timeout here only bounds a run that went wrong; a slow success must not be cut off, so the
 * longer value costs nothing when all is well. `verify --timeout` overrides it.
 */
export const VERIFY_LEVELS: Readonly<Record<ProbeLevel, LevelSpec>> = {
  resolve: { pass: 2, timeoutMs: 180_000, proves: 'the probe points resolve in the debuginfo (DWARF)' },
  compile: { pass: 4, timeoutMs: 600_000, proves: 'the probe module compiles against the kernel build tree' },
  run: { pass: 5, timeoutMs: 600_000, proves: "the probe module loads and sees kdebuginfo's own workload fork and sleep" },
};

/** Where the kernel to verify is, as far as choosing a level goes. */
export type VerifySituation =
  /** The kernel running on this host (no image root): everything up to loading the module is possible. */
  | 'running'
  /** Installed on this host but not running (an image build before its reboot): nothing can be loaded. */
  | 'installed'
  /** Inside an image root (--root): stap works through --sysroot; a module for another system is neither loaded nor cached here. */
  | 'image-root';

/** The command asking. */
export type VerifyCommand = 'verify' | 'install';

/**
 * The default level, by command and situation: the most the situation can prove, except that
 * `install` into an image root verifies nothing unless asked (`--verify resolve`): the demo and
 * image builds install packages into scratch roots whose kernels are fixtures or not yet booted,
 * and a failed proof there would fail the install of packages that went in fine. `verify` in an
 * image root is asked to prove something, and resolve is the most it can.
 */
const DEFAULT_LEVEL: Readonly<Record<VerifyCommand, Readonly<Record<VerifySituation, VerifyLevel>>>> = {
  verify: { running: 'run', installed: 'compile', 'image-root': 'resolve' },
  install: { running: 'run', installed: 'compile', 'image-root': 'none' },
};

/** Which situation a kernel is in: `root` '/' is the host; `runningUname` is the host's `uname -r` (undefined: unknown, taken as running). */
export function verifySituation(root: string, uname: string | undefined, runningUname: string | undefined): VerifySituation {
  if (root !== '/') return 'image-root';
  if (uname !== undefined && runningUname !== undefined && uname !== runningUname) return 'installed';
  return 'running';
}

/** The level `command` runs when none is asked for, in `situation`. */
export function defaultVerifyLevel(command: VerifyCommand, situation: VerifySituation): VerifyLevel {
  return DEFAULT_LEVEL[command][situation];
}
