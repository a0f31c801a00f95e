import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { Writable, Readable } from 'node:stream';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Context } from './context.js';
import { createExec } from './io/exec.js';
import { ExitCode, KdebuginfoError, UsageError } from './errors.js';
import { parseMirrorRewrites, type MirrorRewrite } from './core/mirrors.js';
import { VERIFY_LEVELS } from './core/verify-levels.js';
import { maskUrlCredentials } from './core/credentials.js';
import { checkReleaseToken } from './core/kernel-release.js';
import { showUntrusted } from './core/untrusted-text.js';
import { addLifecycleCommands } from './cli-lifecycle.js';

/**
 * The only module that knows argv, flag and environment-variable names, and exit codes.
 * Commands get a Context and typed options, and return a result or throw a KdebuginfoError.
 */

/** Set by the single-file build (esbuild --define); read from package.json otherwise. */
declare const KDEBUGINFO_VERSION: string | undefined;
export const VERSION: string =
  typeof KDEBUGINFO_VERSION === 'string'
    ? KDEBUGINFO_VERSION
    : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  stdinIsTty: boolean;
  stdoutIsTty: boolean;
  stderrIsTty: boolean;
  isRoot: boolean;
  cwd: string;
  /** Aborted on Ctrl-C; tests pass their own. */
  signal?: AbortSignal;
}

interface GlobalFlags {
  json?: boolean;
  verbose?: boolean;
  color?: boolean;
  yes?: boolean;
  nonInteractive?: boolean;
  dryRun?: boolean;
}

const ENV = {
  kernel: 'KDEBUGINFO_KERNEL',
  os: 'KDEBUGINFO_OS',
  mirror: 'KDEBUGINFO_MIRROR',
  root: 'KDEBUGINFO_ROOT',
  cacheDir: 'KDEBUGINFO_CACHE_DIR',
  verify: 'KDEBUGINFO_VERIFY',
  packageManager: 'KDEBUGINFO_PACKAGE_MANAGER',
  gpgKey: 'KDEBUGINFO_GPG_KEY',
  verifyLevel: 'KDEBUGINFO_VERIFY_LEVEL',
  verifyTimeout: 'KDEBUGINFO_VERIFY_TIMEOUT',
  offline: 'KDEBUGINFO_OFFLINE',
  parallel: 'KDEBUGINFO_PARALLEL',
} as const;

/**
 * Upper bounds of the numeric flags. Node's timers hold at most 2^31-1 ms (24.8 days) and warn
 * (TimeoutOverflowWarning) and fire at once above it: `--idle-timeout 1e12` did. A day is far
 * beyond any useful wait; more retries or parallel downloads than these only hammer a mirror.
 */
const FLAG_LIMITS = {
  parallel: 32,
  retries: 100,
  /** --idle-timeout and verify --timeout, in seconds: 24 hours. */
  seconds: 86_400,
} as const;

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new UsageError(`${flag} "${showUntrusted(value)}" is not a whole number from ${min} to ${max}`);
  }
  return n;
}

/**
 * --cache-dir or KDEBUGINFO_CACHE_DIR set to '': a mistake (an unset variable in a script), not a
 * wish for the default. commander names the flag, or the variable when the value came from it.
 */
function nonEmptyDir(value: string): string {
  if (value === '') throw new InvalidArgumentError('An empty value names no directory: name one, or leave it unset for the default.');
  return value;
}

function positiveSeconds(flag: string, value: string, max: number = FLAG_LIMITS.seconds): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) {
    throw new UsageError(`${flag} "${showUntrusted(value)}" is not a number of seconds greater than 0 and at most ${max} (${max / 3600} hours)`);
  }
  return n;
}

/** `--root` or, when the value came from the environment, `--root (from KDEBUGINFO_ROOT)`. */
function flagLabel(cmd: Command, key: string): string {
  const option = cmd.options.find((opt) => opt.attributeName() === key);
  const flag = option?.long ?? `--${key}`;
  return cmd.getOptionValueSource(key) === 'env' && option?.envVar ? `${flag} (from ${option.envVar})` : flag;
}

/** What stat said, in a few words. */
function statProblem(err: unknown, kind: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `no such ${kind}`;
  if (code === 'ENOTDIR') return `no such ${kind} (a part of the path is not a directory)`;
  if (code === 'EACCES') return 'permission denied';
  return `cannot be read (${code ?? (err as Error).message})`;
}

/**
 * `--root DIR`: not empty (an empty root would silently mean this host), made absolute against
 * the working directory the CLI was started in (a relative root was read against whatever
 * directory a later step ran in), an existing directory (`/no/such/root` reported "no kernel in
 * /no/such/root/lib/modules" after the fact, and a dry run created it).
 */
function checkedRoot(label: string, value: string, cwd: string): string {
  if (value === '') throw new UsageError(`${label} is empty: name an image root directory, or leave ${label.split(' ')[0]} out for this host`);
  const abs = resolvePath(cwd, value);
  let isDir: boolean;
  try {
    isDir = statSync(abs).isDirectory();
  } catch (err) {
    throw new UsageError(`${label} ${showUntrusted(value)}: ${statProblem(err, 'root directory')}`);
  }
  if (!isDir) throw new UsageError(`${label} ${showUntrusted(value)}: not a directory (expected an image root)`);
  return abs;
}

/** `--gpg-key FILE`: a readable regular file, made absolute; checked before anything is downloaded. */
function checkedKeyFile(label: string, value: string, cwd: string): string {
  if (value === '') throw new UsageError(`${label} is empty: name a key file (e.g. /etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial)`);
  const abs = resolvePath(cwd, value);
  let isFile: boolean;
  try {
    isFile = statSync(abs).isFile();
    if (isFile) accessSync(abs, fsConstants.R_OK);
  } catch (err) {
    throw new UsageError(`${label} ${showUntrusted(value)}: ${statProblem(err, 'file')}`);
  }
  if (!isFile) throw new UsageError(`${label} ${showUntrusted(value)}: not a regular file (expected an armored GPG public key)`);
  return abs;
}

/**
 * Every flag that can be checked without the network, checked before the command starts (exit
 * 2, one line naming the flag): the kernel release is a plain token, the root an existing
 * directory (made absolute), each key file readable, numbers within bounds, the bundle's -o
 * writable. Runs as commander's
 * preAction hook, so it sees flag and environment values alike and the command gets the checked ones.
 */
async function checkFlags(cmd: Command, cwd: string, env: Record<string, string | undefined>): Promise<void> {
  const o = cmd.opts<Record<string, unknown>>();
  const source = (key: string) => cmd.getOptionValueSource(key) ?? 'cli';
  if (typeof o.kernel === 'string') checkReleaseToken(o.kernel, flagLabel(cmd, 'kernel'));
  if (typeof o.root === 'string') cmd.setOptionValueWithSource('root', checkedRoot(flagLabel(cmd, 'root'), o.root, cwd), source('root'));
  if (Array.isArray(o.gpgKey)) {
    const keys = (o.gpgKey as string[]).map((k) => checkedKeyFile('--gpg-key', k, cwd));
    cmd.setOptionValueWithSource('gpgKey', keys, source('gpgKey'));
  }
  if (cmd.options.some((opt) => opt.attributeName() === 'gpgKey')) {
    for (const k of (env[ENV.gpgKey] ?? '').split(',').map((v) => v.trim()).filter(Boolean)) checkedKeyFile(`--gpg-key (from ${ENV.gpgKey})`, k, cwd);
  }
  if (typeof o.parallel === 'string') wholeNumber(flagLabel(cmd, 'parallel'), o.parallel, 1, FLAG_LIMITS.parallel);
  if (typeof o.retries === 'string') wholeNumber('--retries', o.retries, 0, FLAG_LIMITS.retries);
  if (typeof o.idleTimeout === 'string') positiveSeconds('--idle-timeout', o.idleTimeout);
  if (typeof o.timeout === 'string') positiveSeconds(flagLabel(cmd, 'timeout'), o.timeout);
  if (cmd.name() === 'bundle' && typeof o.output === 'string') {
    const { checkBundleOutput } = await import('./io/bundle.js');
    await checkBundleOutput(resolvePath(cwd, o.output));
  }
}

interface CommonOpts {
  kernel?: string;
  os?: string;
  root?: string;
  json?: boolean;
  mirror?: string[];
}

function buildContext(io: Io, env: Record<string, string | undefined>, flags: GlobalFlags): Context {
  // Every line shown goes through the mask: a mirror's or proxy's credentials in a URL never reach the terminal.
  const write = (line: string) => io.stderr.write(`${maskUrlCredentials(line)}\n`);
  const ui = {
    info: write,
    warn: (l: string) => write(`warning: ${l}`),
    debug: (l: string) => {
      if (flags.verbose) write(l);
    },
  };
  const dryRun = Boolean(flags.dryRun);
  return {
    env,
    cwd: io.cwd,
    stdin: io.stdin,
    stdout: io.stdout,
    stderr: io.stderr,
    isInteractive: io.stdinIsTty && io.stdoutIsTty && !flags.yes && !flags.nonInteractive && !flags.json,
    isStderrTty: io.stderrIsTty,
    useColor: io.stderrIsTty && flags.color !== false && env.NO_COLOR === undefined,
    dryRun,
    exec: createExec({ env, dryRun, log: ui.debug }),
    ui,
    isRoot: io.isRoot,
    signal: io.signal ?? new AbortController().signal,
  };
}

const targetHelp = `
Kernel and OS default to the running kernel (uname -r) and /etc/os-release.
  --kernel R       a uname -r string, e.g. 4.18.0-348.7.1.el8_5.x86_64 or 5.14.0-362.el9.x86_64+debug
  --os ID:MAJOR    centos, centos-stream, rhel, rocky, almalinux, ol, fedora (e.g. centos-stream:9),
                   debian (debian:12) or ubuntu (ubuntu:24.04)`;

function addTargetOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--kernel <release>', 'kernel release (uname -r form)').env(ENV.kernel))
    .addOption(new Option('--os <id:major>', 'target distro, e.g. centos:7, centos-stream:9').env(ENV.os))
    .addOption(new Option('--root <dir>', 'image root whose etc/os-release describes the target').env(ENV.root))
    .option('--json', 'print one JSON document on stdout');
}

function addMirrorOption(cmd: Command): Command {
  return cmd.option(
    '--mirror <from=to>',
    `rewrite a URL prefix, repeatable (also ${ENV.mirror}="FROM=TO,FROM=TO")`,
    (v: string, prev: string[] = []) => [...prev, v],
  );
}

function rewritesFrom(opts: { mirror?: string[] }, env: Record<string, string | undefined>): MirrorRewrite[] {
  const fromEnv = (env[ENV.mirror] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return [...parseMirrorRewrites(opts.mirror ?? [], '--mirror'), ...parseMirrorRewrites(fromEnv, ENV.mirror)];
}

function printJson(io: Io, value: unknown): void {
  // One key per line, so a URL never spans two JSON strings: the mask sees each whole.
  io.stdout.write(`${maskUrlCredentials(JSON.stringify(value, null, 2))}\n`);
}

/** Run the CLI; returns the exit code. `argv` is the full process.argv (node, script, ...). */
export async function main(argv: readonly string[], env: Record<string, string | undefined>, io: Io): Promise<number> {
  let exitCode: number = ExitCode.ok;
  let wantsJson = argv.includes('--json');
  const program = new Command('kdebuginfo')
    .description('Make this box ready for SystemTap kernel probing: the exact kernel-debuginfo, -common and -devel for a kernel.')
    .version(VERSION, '-V, --version')
    .option('-v, --verbose', 'show every request and command')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  program.hook('preAction', (_program, actionCommand) => checkFlags(actionCommand, io.cwd, env));

  const ctxFor = (cmd: Command) => buildContext(io, env, cmd.optsWithGlobals<GlobalFlags>());
  const userAgent = `kdebuginfo/${VERSION} (+https://github.com/kdebuginfo/kdebuginfo)`;
  /** What every command that picks a kernel takes from its flags: the target, the mirror rewrites, our User-Agent. */
  const targetFlags = (o: CommonOpts) => ({ kernel: o.kernel, os: o.os, root: o.root, rewrites: rewritesFrom(o, env), userAgent });

  addTargetOptions(program.command('plan'))
    .description('Show which packages the kernel needs and where they will be looked for (no network).')
    .addHelpText(
      'after',
      `${targetHelp}

Examples:
  kdebuginfo plan
  kdebuginfo plan --kernel 3.10.0-1160.119.1.el7.x86_64 --json
  kdebuginfo plan --kernel 5.14.0-362.el9.x86_64+rt --os centos-stream:9`,
    )
    .action(async (o: { kernel?: string; os?: string; root?: string; json?: boolean; mirror?: string[] }, cmd: Command) => {
      wantsJson = Boolean(o.json);
      const { runPlan, formatPlan } = await import('./commands/plan.js');
      const ctx = ctxFor(cmd);
      const r = await runPlan(ctx, targetFlags(o));
      if (o.json) printJson(io, r);
      else io.stdout.write(maskUrlCredentials(formatPlan(r)));
    });
  addMirrorOption(program.commands.find((c) => c.name() === 'plan')!);

  addMirrorOption(addTargetOptions(program.command('resolve')))
    .description('Find each package on the mirrors: repodata first, then directory listings, then a HEAD probe.')
    .option('--idle-timeout <seconds>', 'give up on a mirror that sends nothing for this long', '30')
    .addHelpText(
      'after',
      `${targetHelp}

Exit 3 when a package is on no mirror; the error lists every location tried and the nearest versions there.

Examples:
  kdebuginfo resolve
  kdebuginfo resolve --kernel 4.18.0-348.7.1.el8_5.x86_64 --json
  kdebuginfo resolve --mirror https://vault.centos.org=https://nexus.example.com/repository/centos-vault`,
    )
    .action(async (o: CommonOpts & { idleTimeout?: string }, cmd: Command) => {
      wantsJson = Boolean(o.json);
      const { runResolve, formatResolve } = await import('./commands/resolve.js');
      const ctx = ctxFor(cmd);
      const r = await runResolve(ctx, { ...targetFlags(o), idleTimeoutMs: positiveSeconds('--idle-timeout', o.idleTimeout ?? '30') * 1000 });
      if (o.json) printJson(io, r);
      else io.stdout.write(maskUrlCredentials(formatResolve(r)));
    });

  const addFetchOptions = (cmd: Command) =>
    cmd
      .addOption(new Option('--cache-dir <dir>', 'where downloads are kept (default /var/cache/kdebuginfo as root, else ~/.cache/kdebuginfo)').env(ENV.cacheDir).argParser(nonEmptyDir))
      .addOption(new Option('--parallel <n>', 'files fetched at once').default('3').env(ENV.parallel))
      .option('--idle-timeout <seconds>', 'give up on a connection that sends nothing for this long', '30')
      .option('--retries <n>', 'retries per mirror on connection errors, timeouts, 429 and 5xx', '5')
      .option('--no-wait', 'fail at once when another kdebuginfo holds the cache lock');
  /** The plan flags plus where and how to fetch, shared by download and bundle. */
  const fetchOptions = (o: CommonOpts & { cacheDir?: string; parallel?: string; idleTimeout?: string; retries?: string; wait?: boolean }) => ({
    ...targetFlags(o),
    cacheDir: o.cacheDir,
    parallel: wholeNumber('--parallel', o.parallel ?? '3', 1, FLAG_LIMITS.parallel),
    idleTimeoutMs: positiveSeconds('--idle-timeout', o.idleTimeout ?? '30') * 1000,
    retries: wholeNumber('--retries', o.retries ?? '5', 0, FLAG_LIMITS.retries),
    wait: o.wait !== false,
  });

  addFetchOptions(addMirrorOption(addTargetOptions(program.command('download'))))
    .description('Resolve and fetch the three packages into the cache (resumable, checksums verified), optionally placing them in DIR.')
    .option('--dest <dir>', 'also place the RPMs here')
    .option('--dry-run', 'report what would be fetched; fetch nothing')
    .addHelpText(
      'after',
      `${targetHelp}

Downloads resume after an interruption (Ctrl-C keeps partial files; exit 130), retry with
backoff, honour HTTPS_PROXY/HTTP_PROXY/NO_PROXY, and are renamed into place only after the
checksum from repodata (or the RPM's own digests) matches.

Examples:
  kdebuginfo download --dest ./rpms
  kdebuginfo download --kernel 4.18.0-348.7.1.el8_5.x86_64 --os centos:8 --json`,
    )
    .action(async (o: CommonOpts & { cacheDir?: string; dest?: string; parallel?: string; idleTimeout?: string; retries?: string }, cmd: Command) => {
      wantsJson = Boolean(o.json);
      const { runDownload, formatDownload } = await import('./commands/download.js');
      const ctx = ctxFor(cmd);
      const r = await runDownload(ctx, { ...fetchOptions(o), dest: o.dest });
      if (o.json) printJson(io, r);
      else io.stdout.write(maskUrlCredentials(formatDownload(r)));
    });

  addFetchOptions(addMirrorOption(addTargetOptions(program.command('bundle'))))
    .description('Make a self-contained FILE.tar.gz: the kernel\'s packages (RPMs, or .debs on Debian/Ubuntu), manifest.json and install.sh, for air-gapped hosts and CentOS 7.')
    .requiredOption('-o, --output <file>', 'the bundle to write (FILE.tar.gz)')
    .option('--dry-run', 'list what would go in; fetch and write nothing')
    .addHelpText(
      'after',
      `${targetHelp}

On the target, with no Node needed:  tar xzf FILE.tar.gz && sh kdebuginfo-<R>/install.sh
(install.sh checks the checksums and RPM signatures, installs with dnf, yum or rpm, and runs
the fork probe when stap is there; --root DIR, --nodeps, --nogpgcheck, --no-probe, --check-only).
A Debian/Ubuntu bundle holds the .debs and installs them with apt-get (no --root).
Or: kdebuginfo install --from-bundle FILE.

Examples:
  kdebuginfo bundle --kernel 3.10.0-1160.119.1.el7.x86_64 --os centos:7 -o k.tar.gz
  kdebuginfo bundle --kernel 6.1.0-56-cloud-amd64 -o k.tar.gz     (on a Debian 12 machine)`,
    )
    .action(async (o: CommonOpts & { cacheDir?: string; output: string; parallel?: string; idleTimeout?: string; retries?: string }, cmd: Command) => {
      wantsJson = Boolean(o.json);
      const { runBundle, formatBundle } = await import('./commands/bundle.js');
      const ctx = ctxFor(cmd);
      const r = await runBundle(ctx, { ...fetchOptions(o), output: o.output, toolVersion: VERSION });
      if (o.json) printJson(io, r);
      else io.stdout.write(maskUrlCredentials(formatBundle(r)));
    });

  addMirrorOption(addTargetOptions(program.command('install')))
    .description('Make the box ready: resolve, download, check signatures, install and verify the three packages.')
    .option('-y, --yes', 'answer every question with its default; never prompt')
    .option('--non-interactive', 'never prompt; a question that needs an answer fails with exit 2 naming the flag')
    .option('--dry-run', 'resolve and report what would change; download and install nothing')
    .addOption(new Option('--cache-dir <dir>', 'where downloads are kept (default /var/cache/kdebuginfo as root, else ~/.cache/kdebuginfo)').env(ENV.cacheDir).argParser(nonEmptyDir))
    .option('--gpg-key <file>', `trust this key too, repeatable (also ${ENV.gpgKey})`, (v: string, prev: string[] = []) => [...prev, v])
    .option('--no-gpgcheck', 'install even unsigned or badly signed packages')
    .addOption(new Option('--verify <level>', 'after installing: run (pass 5), compile (pass 4), resolve (pass 2) or none').choices(['run', 'compile', 'resolve', 'none']).env(ENV.verify))
    .option('--no-wait', 'fail at once when another kdebuginfo holds the install lock')
    .option('--no-systemtap', 'do not install SystemTap itself when it is missing')
    .option('--from-bundle <file>', 'install from a bundle made by kdebuginfo bundle instead of the network')
    .addOption(new Option('--package-manager <pm>', 'install with this one').choices(['auto', 'dnf5', 'dnf', 'yum', 'rpm']).default('auto').env(ENV.packageManager))
    .addHelpText(
      'after',
      `${targetHelp}
  --kernel also takes "running" (default) and "newest-installed".

Without a terminal (Ansible, Packer, CI) or with --yes it never prompts. --json prints one
document: {changed, failed, msg, rc, kernel, os, packages:[{name, file, action}], verify, warnings}.
A second run changes nothing and reports changed: false.

Examples:
  sudo kdebuginfo install
  sudo kdebuginfo install --yes --json
  kdebuginfo install --dry-run --kernel newest-installed
  sudo kdebuginfo install --root /mnt/image --kernel 5.14.0-362.el9.x86_64 --verify none`,
    )
    .action(
      async (
        o: CommonOpts & {
          yes?: boolean;
          cacheDir?: string;
          gpgKey?: string[];
          gpgcheck: boolean;
          verify?: 'run' | 'compile' | 'resolve' | 'none';
          wait: boolean;
          systemtap: boolean;
          fromBundle?: string;
          packageManager: 'auto' | 'dnf5' | 'dnf' | 'yum' | 'rpm';
        },
        cmd: Command,
      ) => {
        wantsJson = Boolean(o.json);
        const { runInstall, formatInstall } = await import('./commands/install.js');
        const { verifier } = await import('./commands/verify.js');
        const ctx = ctxFor(cmd);
        const envKeys = (env[ENV.gpgKey] ?? '').split(',').map((k) => k.trim()).filter(Boolean);
        const r = await runInstall(ctx, {
          ...targetFlags(o),
          cacheDir: o.cacheDir,
          gpgKeys: [...(o.gpgKey ?? []), ...envKeys],
          noGpgcheck: !o.gpgcheck,
          verify: o.verify,
          wait: o.wait,
          packageManager: o.packageManager,
          yes: Boolean(o.yes),
          systemtap: o.systemtap,
          fromBundle: o.fromBundle,
        }, verifier);
        if (o.json) printJson(io, r);
        else io.stdout.write(maskUrlCredentials(formatInstall(r)));
      },
    );

  addTargetOptions(program.command('verify'))
    .description('Prove the kernel can be probed: a kernel.function probe on the fork path, needing DWARF, watching a workload kdebuginfo starts.')
    .addOption(
      new Option('--level <level>', 'run (pass 5), compile (pass 4), resolve (pass 2), none; auto: run for the running kernel, compile for another, resolve under --root')
        .choices(['auto', 'run', 'compile', 'resolve', 'none'])
        .default('auto')
        .env(ENV.verifyLevel),
    )
    .addOption(new Option('--timeout <seconds>', `give stap this long (default: ${VERIFY_LEVELS.resolve.timeoutMs / 1000} s for resolve, ${VERIFY_LEVELS.compile.timeoutMs / 1000} s for compile and run)`).env(ENV.verifyTimeout))
    .addHelpText(
      'after',
      `${targetHelp}

Exit 5 when the proof fails; the message says which package is missing or mismatched, or what
else stands in the way (stale module cache, lockdown, a SystemTap runtime older than the kernel).

Examples:
  sudo kdebuginfo verify
  kdebuginfo verify --level resolve --kernel 5.14.0-362.el9.x86_64
  kdebuginfo verify --root /mnt/image --level compile --json`,
    )
    .action(async (o: CommonOpts & { level: 'auto' | 'run' | 'compile' | 'resolve' | 'none'; timeout?: string }, cmd: Command) => {
      wantsJson = Boolean(o.json);
      const { runVerify, formatVerify } = await import('./commands/verify.js');
      const ctx = ctxFor(cmd);
      let timeoutMs: number | undefined;
      if (o.timeout !== undefined) {
        const n = Number(o.timeout);
        if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout "${o.timeout}" is not a number of seconds greater than 0`);
        timeoutMs = n * 1000;
      }
      const r = await runVerify(ctx, { kernel: o.kernel, os: o.os, root: o.root, level: o.level, ...(timeoutMs ? { timeoutMs } : {}) });
      if (o.json) printJson(io, r);
      else io.stdout.write(maskUrlCredentials(formatVerify(r)));
    });

  addMirrorOption(addTargetOptions(program.command('doctor')))
    .description('Say whether the box is ready for SystemTap and, if not, exactly what to do.')
    .addOption(new Option('--offline', 'skip the mirror reachability check').env(ENV.offline))
    .addHelpText(
      'after',
      `${targetHelp}

Exit 0 when ready (warnings allowed), 1 when not. Under --root the running-system files
(sys/kernel/notes, the lockdown file, ...) are read inside the root; a root without proc/ and sys/
is treated as an image and those checks are skipped, saying why.

Examples:
  kdebuginfo doctor
  kdebuginfo doctor --offline --json
  kdebuginfo doctor --root /mnt/image --kernel 5.14.0-362.el9.x86_64`,
    )
    .action(async (o: CommonOpts & { offline?: boolean }, cmd: Command) => {
      wantsJson = Boolean(o.json);
      const { runDoctor, formatDoctor, doctorExitCode } = await import('./commands/doctor.js');
      const ctx = ctxFor(cmd);
      const r = await runDoctor(ctx, { ...targetFlags(o), offline: Boolean(o.offline) });
      if (o.json) printJson(io, r);
      else io.stdout.write(maskUrlCredentials(formatDoctor(r)));
      exitCode = doctorExitCode(r);
    });

  addLifecycleCommands(program, { ctxFor, printJson: (v) => printJson(io, v), write: (t) => io.stdout.write(t), setJson: (j) => (wantsJson = j), rootEnv: ENV.root, kernelEnv: ENV.kernel,
    cacheDirOption: () => new Option('--cache-dir <dir>', 'the download cache (default /var/cache/kdebuginfo as root, else ~/.cache/kdebuginfo)').env(ENV.cacheDir).argParser(nonEmptyDir) });

  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    exitCode = reportError(err, io, wantsJson);
  }
  return exitCode;
}

function reportError(err: unknown, io: Io, json: boolean): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
    // commander has printed its message on stderr; --json still gets its one document.
    const message = err.message.replace(/^error: /, '');
    if (json) printJson(io, { ok: false, changed: false, failed: true, rc: ExitCode.usage, msg: message, error: { message } });
    return ExitCode.usage;
  }
  const known = err instanceof KdebuginfoError;
  const code = known ? err.exitCode : ExitCode.failed;
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(maskUrlCredentials(`kdebuginfo: ${message}\n`));
  if (known && err.hint) io.stderr.write(maskUrlCredentials(`hint: ${err.hint}\n`));
  if (!known && err instanceof Error && err.stack) io.stderr.write(maskUrlCredentials(`${err.stack}\n`));
  if (json) {
    const detail = known && err.detail && typeof err.detail === 'object' ? err.detail : {};
    printJson(io, {
      ok: false,
      changed: false,
      ...detail,
      failed: true,
      rc: code,
      msg: message,
      error: { message, ...(known && err.hint ? { hint: err.hint } : {}) },
    });
  }
  return code;
}

/** Entry point for bin/kdebuginfo.js: the only place that touches process. */
export function run(): void {
  // First Ctrl-C: stop cleanly (partial downloads kept, lock released), exit 130.
  // Second: leave at once.
  const interrupts = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupts.signal.aborted) process.exit(ExitCode.interrupted);
    process.stderr.write(`\nkdebuginfo: ${sig}: stopping (again to quit at once)\n`);
    interrupts.abort(new KdebuginfoError('interrupted', { exitCode: ExitCode.interrupted }));
  };
  // `kdebuginfo plan | head`: a reader that went away is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: Io = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTty: Boolean(process.stdin.isTTY),
    stdoutIsTty: Boolean(process.stdout.isTTY),
    stderrIsTty: Boolean(process.stderr.isTTY && process.stderr.columns),
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    cwd: process.cwd(),
    signal: interrupts.signal,
  };
  void main(process.argv, process.env, io).then((code) => {
    process.exitCode = code;
  });
}
