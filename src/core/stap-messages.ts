/**
 * Turns what `stap` / `staprun` printed on stderr into diagnoses a user can act on: a stable
 * code, one line saying what is wrong, one saying what to do.
 *
 * Evidence for each message, in order of preference:
 *  - captured from the real stap 4.8 on Debian 12: fixtures/captured/stap/*.txt (how each was
 *    made is in its header and in fixtures/captured/capture.sh);
 *  - otherwise the format string in systemtap's source (sourceware systemtap.git, read through
 *    the sailfishos-mirror/systemtap copy), named next to the pattern.
 * stap colourises errors when stderr is a terminal or SYSTEMTAP_COLORS is set
 * (rpm_finder.cxx: sess.colorize), so escape sequences are stripped before matching.
 */
import { stripVTControlCharacters } from 'node:util';

export type StapDiagnosisCode =
  | 'needs-root'
  | 'devel-mismatch'
  | 'devel-incomplete'
  | 'missing-debuginfo'
  | 'buildid-mismatch'
  | 'runtime-too-old'
  | 'compile-failed'
  | 'lockdown'
  | 'stale-module'
  | 'module-rejected'
  | 'probe-unresolved';

export interface StapDiagnosis {
  code: StapDiagnosisCode;
  /** What is wrong, one sentence. */
  summary: string;
  /** What to do about it. */
  fix: string;
  /** The stderr lines that led to this diagnosis, as printed (escape sequences removed). */
  evidence: string[];
  /** Build tree stap looked in (`under '<dir>'`, `Checking "<dir>/.config"`). */
  buildDir?: string;
  arch?: string;
  /** Packages stap itself suggested (RPM builds: `... use: dnf install <nevra...>`). */
  packages?: string[];
  /** The source file of the first compiler error (pass 4). */
  file?: string;
  /** Probe points stap could not resolve, as written in the script. */
  probePoints?: string[];
}

export interface DiagnoseOptions {
  /** `stap -V` version (e.g. `4.8`), named in the runtime-too-old fix. See parseStapVersion. */
  stapVersion?: string;
  /** The kernel release the probe was for, named in fixes. */
  release?: string;
  /** SystemTap runtime directory when not the packaged one (SYSTEMTAP_RUNTIME). */
  runtimeDir?: string;
}

/** Order of the result: causes before their consequences. */
const PRIORITY: StapDiagnosisCode[] = [
  'needs-root',
  'devel-mismatch',
  'devel-incomplete',
  'missing-debuginfo',
  'buildid-mismatch',
  'runtime-too-old',
  'compile-failed',
  'lockdown',
  'stale-module',
  'module-rejected',
  'probe-unresolved',
];

/** gcc's diagnostic line: `<file>:<line>:<col>: [fatal ]error: <message>`. */
const GCC_ERROR = /^(\S+?):(\d+):(?:\d+:)? (fatal error|error): (.*)$/;

/**
 * Headers every kernel build tree has. When one of these is missing the tree is incomplete (or
 * absent); when another header is missing it may be one the kernel dropped and the runtime still
 * includes, i.e. the runtime is older than the kernel. (Inference; captured: gfp.h in
 * fixtures/captured/stap/fake-kbuild-missing-headers.txt.)
 */
const BASIC_HEADER = /^(linux\/(module|kernel|types|version|init|gfp|slab|sched|string|errno|compiler\w*|kconfig)\.h|generated\/.*|asm\/.*|uapi\/.*)$/;

function quoteNormalize(s: string): string {
  return s.replace(/[\u2018\u2019]/g, "'");
}

/** Parses `stap -V` output (4.8 prints it on stdout, older ones on stderr: pass either). */
export function parseStapVersion(text: string): { version: string; elfutils?: string; testedKernels?: { min: string; max: string } } | undefined {
  // "Systemtap translator/driver (version 4.8/0.188, Debian version 4.8-2)"; captured in
  // fixtures/captured/stap/version.txt.
  const m = /Systemtap translator\/driver \(version ([0-9][^/\s,)]*)(?:\/([0-9][^\s,)]*))?/.exec(text);
  if (!m) return undefined;
  const out: { version: string; elfutils?: string; testedKernels?: { min: string; max: string } } = { version: m[1] as string };
  if (m[2]) out.elfutils = m[2];
  const t = /tested kernel versions: (\S+) \.\.\. (\S+)/.exec(text);
  if (t) out.testedKernels = { min: t[1] as string, max: t[2] as string };
  return out;
}

interface GccError {
  file: string;
  fatal: boolean;
  message: string;
  line: string;
}

export function diagnoseStapOutput(stderr: string, opts: DiagnoseOptions = {}): StapDiagnosis[] {
  // gcc colours its diagnostics when it thinks it may: the escapes go, the words stay.
  const lines = stripVTControlCharacters(stderr).split('\n').map((l) => l.replace(/\s+$/, ''));
  const found = new Map<StapDiagnosisCode, StapDiagnosis>();
  const stap = opts.stapVersion ? `SystemTap ${opts.stapVersion}` : 'SystemTap';
  const forRelease = opts.release ? ` ${opts.release}` : ' (uname -r)';
  const runtimePrefixes = [opts.runtimeDir?.replace(/\/?$/, '/'), '/share/systemtap/runtime/'].filter((p): p is string => Boolean(p));
  const isRuntimeFile = (f: string) => runtimePrefixes.some((p) => f.includes(p));

  const add = (d: StapDiagnosis) => {
    const prev = found.get(d.code);
    if (!prev) {
      found.set(d.code, d);
      return;
    }
    prev.evidence.push(...d.evidence.filter((e) => !prev.evidence.includes(e)));
    if (d.packages) prev.packages = [...new Set([...(prev.packages ?? []), ...d.packages])];
    if (d.probePoints) prev.probePoints = [...new Set([...(prev.probePoints ?? []), ...d.probePoints])];
    prev.buildDir ??= d.buildDir;
    prev.arch ??= d.arch;
  };

  const gccErrors: GccError[] = [];
  let passFourFailed: string | undefined;
  let missingModuleFile: string | undefined;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    let m: RegExpExecArray | null;

    // --- privileges -------------------------------------------------------------------------
    // Captured: fixtures/captured/stap/non-root.txt. staprun.c: "The effective user ID of
    // staprun must be set to the root user."
    if (/You are trying to (run systemtap|load the module \S+) as a normal user/.test(line) || /effective user ID of staprun must be set to the root user/.test(line)) {
      add({
        code: 'needs-root',
        summary: 'SystemTap was run by a user who may not load kernel modules.',
        fix: 'Run it as root (sudo), or add the user to the stapusr and stapdev groups (usermod -aG stapusr,stapdev <user>) and log in again.',
        evidence: [line],
      });
      continue;
    }

    // --- build tree (kernel-devel) --------------------------------------------------------------
    // rpm_finder.cxx (RPM builds only): "Incorrect version or missing kernel-devel package, use: %s install " + NEVRAs.
    if ((m = /Incorrect version or missing kernel-devel package, use: (?:\S+) install (.*)$/.exec(line))) {
      const packages = (m[1] as string).split(/\s+/).filter(Boolean);
      add({
        code: 'devel-mismatch',
        summary: `No kernel-devel build tree for the kernel${forRelease}; stap suggests ${packages.join(' ')}.`,
        fix: `Install exactly ${packages.join(' ')} (not the newest kernel-devel), so /lib/modules/<release>/build points at /usr/src/kernels/<release>.`,
        evidence: [line],
        packages,
      });
      continue;
    }
    // Captured: no-build-tree.txt, build-tree-no-config.txt, build-tree-no-symvers.txt,
    // pass4-no-makefile.txt. stap 4.8 pads the Makefile path with spaces: Checking " <dir>/Makefile ".
    if ((m = /^Checking "\s*(.*?)\s*" failed with error: (.*)$/.exec(line))) {
      const path = m[1] as string;
      const file = path.slice(path.lastIndexOf('/') + 1);
      const buildDir = path.slice(0, path.lastIndexOf('/'));
      if (file === '.config') {
        add({
          code: 'devel-mismatch',
          summary: `No kernel build tree at ${buildDir}: kernel-devel (linux-headers on Debian/Ubuntu) for the kernel${forRelease} is not installed, or is for another version.`,
          fix: `Install kernel-devel for exactly the kernel${forRelease} (\`kdebuginfo plan\` names it); ${buildDir} must be that package's tree.`,
          evidence: [line],
          buildDir,
        });
      } else {
        add({
          code: 'devel-incomplete',
          summary: `The kernel build tree at ${buildDir} is incomplete: ${file} is missing (${m[2] as string}).`,
          fix: `Reinstall kernel-devel for the kernel${forRelease} (on Debian/Ubuntu also linux-headers-<release>'s -common package); a tree copied by hand or a partly unpacked package gives this.`,
          evidence: [line],
          buildDir,
        });
      }
      continue;
    }
    // Captured: release-not-found.txt (stap -r DIR where DIR is not a build tree).
    if ((m = /kernel release isn't found in "([^"]*)"/.exec(line))) {
      add({
        code: 'devel-mismatch',
        summary: `${m[1] as string} is not a kernel build tree (no include/config/kernel.release).`,
        fix: 'Point -r at a kernel-devel tree (/usr/src/kernels/<release>) or give a release installed under /lib/modules.',
        evidence: [line],
        buildDir: m[1] as string,
      });
      continue;
    }

    // --- debuginfo ------------------------------------------------------------------------------
    // Captured: missing-debuginfo.txt, missing-debuginfo-alternatives.txt; older stap prints it
    // without the "[man warning::debuginfo]" tag.
    if ((m = /missing (\S+) kernel\/module debuginfo(?: \[man [^\]]*\])? under '([^']*)'/.exec(line))) {
      add({
        code: 'missing-debuginfo',
        summary: `No kernel debuginfo for ${m[1] as string}: stap found no vmlinux with DWARF for ${m[2] as string}, so kernel.function() probes cannot resolve.`,
        fix: `Install kernel-debuginfo and kernel-debuginfo-common for exactly the kernel${forRelease} (\`kdebuginfo plan\` names them); on Debian the package is linux-image-<release>-dbg.`,
        evidence: [line],
        arch: m[1] as string,
        buildDir: m[2] as string,
      });
      continue;
    }
    // rpm_finder.cxx: "Missing separate debuginfos, use: dnf debuginfo-install " + NEVRAs (older: "debuginfo-install ").
    if ((m = /Missing separate debuginfos, use: (?:\S+ )?debuginfo-install (.*)$/.exec(line))) {
      const packages = (m[1] as string).split(/\s+/).filter(Boolean);
      add({
        code: 'missing-debuginfo',
        summary: `Debuginfo is missing for ${packages.join(' ')}.`,
        fix: `Install the debuginfo for exactly ${packages.join(' ')} (kernel-debuginfo and kernel-debuginfo-common for the kernel).`,
        evidence: [line],
        packages,
      });
      continue;
    }

    // --- module load (pass 5) --------------------------------------------------------------------
    // runtime/sym.c _stp_build_id_check: _stp_warn("Build-id mismatch [man warning::buildid]:
    // \"%s\" pid %ld address %#lx, expected %s actual %s"); older releases: "ERROR: Build-id mismatch: ...".
    if (/Build-id mismatch/.test(line)) {
      const ids = /expected ([0-9a-f]+) actual ([0-9a-f]+)/.exec(line);
      add({
        code: 'buildid-mismatch',
        summary: ids
          ? `The debuginfo stap used was built from another kernel build (build-id ${ids[1] as string}, running kernel ${ids[2] as string}).`
          : 'The debuginfo stap used belongs to another build than the running kernel (build-id mismatch).',
        fix: 'Install kernel-debuginfo from the same build as the running kernel: its vmlinux build-id must equal /sys/kernel/notes. Same version-release from another rebuild (or another flavour) is not enough.',
        evidence: [line],
      });
      continue;
    }
    // translate.cxx emits into every module: _stp_error("module version mismatch (%s vs %s),
    // release %s", ...) and _stp_error("module release mismatch (%s vs %s)", ...).
    if (/module (version|release) mismatch \(/.test(line)) {
      add({
        code: 'stale-module',
        summary: 'A SystemTap module compiled for another build of this kernel was loaded (kernel updated or rebuilt since it was compiled).',
        fix: 'Remove the stale compiled modules (rm -rf ~/.systemtap/cache of the user running stap, or run stap once with --poison-cache) and run again; if it persists, kernel-devel is from another build than the running kernel: reinstall the exact one.',
        evidence: [line],
      });
      continue;
    }
    // stap (session.cxx) on Secure Boot hosts: "The kernel on your system requires modules to be
    // signed for loading." / "... must be signed by a systemtap compile-server" / "There is no
    // machine owner key (MOK) in common with this system."; the kernel's own log line
    // "Lockdown: staprun: unsigned module loading is restricted" when users paste dmesg.
    if (
      /requires modules to be signed for loading/.test(line) ||
      /must be signed by a (trusted )?systemtap compile-server/.test(line) ||
      /no machine owner key \(MOK\) in common/.test(line) ||
      /Lockdown: .*unsigned module loading is restricted/.test(line)
    ) {
      add(lockdownDiagnosis(line));
      continue;
    }
    // Captured: staprun-module-missing.txt. staprun.c: err("Couldn't insert module %s'%s': %s\n",
    // misc, modpath, moderror(errno)) with misc "in FIPS mode " under FIPS; moderror() maps
    // ENOEXEC, ENOENT, ESRCH, EINVAL to its own words, other errnos through strerror().
    if ((m = /Unable to canonicalize path "([^"]*)"/.exec(line))) {
      missingModuleFile = m[1] as string;
      continue;
    }
    if ((m = /Couldn't insert module (in FIPS mode )?'([^']*)': (.*)$/.exec(line))) {
      const [, fips, modpath, reason] = m as unknown as [string, string | undefined, string, string];
      if (fips || /^(Operation not permitted|Required key not available|Key was rejected by service)$/.test(reason)) {
        add(lockdownDiagnosis(line, fips ? 'the kernel is in FIPS mode' : reason));
      } else {
        add(moduleRejected(line, modpath, reason, missingModuleFile));
      }
      continue;
    }

    // --- pass 2: probe resolution ------------------------------------------------------------------
    // Captured: missing-debuginfo.txt. The offending script line follows as "source: ...".
    if (/semantic error: while resolving probe point/.test(line)) {
      const source = /^\s*source:\s*(.*)$/.exec(lines[i + 1] ?? '');
      add({
        code: 'probe-unresolved',
        summary: `stap could not resolve a probe point${source ? `: ${source[1] as string}` : ''}.`,
        fix: 'The function is not in this kernel (renamed, inlined away, or another kernel generation): check the name for this kernel, or give alternatives (probe A !, B !, C). With debuginfo missing, fix that first.',
        evidence: [line],
        probePoints: source ? [(source[1] as string).trim()] : [],
      });
      continue;
    }

    // --- pass 4: compilation -------------------------------------------------------------------------
    if ((m = GCC_ERROR.exec(quoteNormalize(line)))) {
      gccErrors.push({ file: m[1] as string, fatal: m[3] === 'fatal error', message: m[4] as string, line });
      continue;
    }
    if (/Pass 4: compilation failed/.test(line)) passFourFailed = line;
  }

  // Compiler errors: whose fault they are depends on where the first error is.
  const firstRuntime = gccErrors.find((e) => isRuntimeFile(e.file));
  const missingHeader = gccErrors
    .map((e) => ({ e, header: e.fatal ? /^(\S+): No such file or directory$/.exec(e.message)?.[1] : undefined }))
    .find((x) => x.header !== undefined);
  if (missingHeader && BASIC_HEADER.test(missingHeader.header as string)) {
    add({
      code: 'devel-incomplete',
      summary: `The kernel headers are missing or incomplete: ${missingHeader.header as string} was not found (${missingHeader.e.file}).`,
      fix: `Install the complete kernel-devel for the kernel${forRelease} (linux-headers-<release> and its -common package on Debian/Ubuntu).`,
      evidence: [missingHeader.e.line],
      file: missingHeader.e.file,
    });
  } else if (firstRuntime) {
    const header = missingHeader && isRuntimeFile(missingHeader.e.file) ? missingHeader.header : undefined;
    add({
      code: 'runtime-too-old',
      summary: header
        ? `Pass 4 failed inside ${stap}'s own runtime: ${firstRuntime.file} includes ${header}, which this kernel does not have. The runtime is older than the kernel (or the headers are incomplete).`
        : `Pass 4 failed inside ${stap}'s own runtime (${firstRuntime.file}: ${firstRuntime.message}): the runtime is older than the kernel${opts.release ? ` ${opts.release}` : ''}.`,
      fix: `Upgrade SystemTap (systemtap, systemtap-runtime, systemtap-devel)${opts.stapVersion ? ` from ${opts.stapVersion}` : ''} to a release that supports this kernel; debuginfo and kernel-devel cannot fix this.`,
      evidence: [firstRuntime.line],
      file: firstRuntime.file,
    });
  } else if (passFourFailed || gccErrors.length > 0) {
    const first = gccErrors[0];
    add({
      code: 'compile-failed',
      summary: first ? `Pass 4 (compiling the module) failed: ${first.file}: ${first.message}` : 'Pass 4 (compiling the module) failed.',
      fix: `Check that kernel-devel is for exactly the kernel${forRelease} and that gcc and make are installed; errors in stap-generated code (/tmp/stap*/..._src.c) that name kernel functions or struct members also mean a ${stap} older than the kernel.`,
      evidence: [first?.line, passFourFailed].filter((l): l is string => l !== undefined),
      ...(first ? { file: first.file } : {}),
    });
  }

  // Consequences of a cause already reported are left out.
  if (found.has('missing-debuginfo')) found.delete('probe-unresolved');
  if (['lockdown', 'stale-module', 'buildid-mismatch'].some((c) => found.has(c as StapDiagnosisCode))) found.delete('module-rejected');
  if (found.has('devel-mismatch') || found.has('devel-incomplete')) found.delete('compile-failed');

  return PRIORITY.flatMap((code) => {
    const d = found.get(code);
    return d ? [d] : [];
  });
}

function lockdownDiagnosis(line: string, why?: string): StapDiagnosis {
  return {
    code: 'lockdown',
    summary: `The kernel refused the unsigned SystemTap module${why ? ` (${why})` : ''}: Secure Boot / kernel lockdown only loads signed modules.`,
    fix: 'Check `mokutil --sb-state` and /sys/kernel/security/lockdown. Either enroll a Machine Owner Key for a systemtap compile server (stap-server; stap prints the mokutil --import command) so modules get signed, or turn Secure Boot off in the firmware. Inside a container, "Operation not permitted" can also mean the container lacks CAP_SYS_MODULE.',
    evidence: [line],
  };
}

function moduleRejected(line: string, modpath: string, reason: string, missingFile: string | undefined): StapDiagnosis {
  if (missingFile !== undefined) {
    return {
      code: 'module-rejected',
      summary: `staprun could not load ${missingFile}: the file does not exist (staprun reports this as "${reason}").`,
      fix: 'Give staprun the path of a module stap compiled (stap -p4 -m NAME prints it), or run the script with stap directly.',
      evidence: [line],
      file: missingFile,
    };
  }
  const builtElsewhere = /^(Invalid module format|Unknown symbol in module|Module has wrong symbol version)$/.test(reason);
  return {
    code: 'module-rejected',
    summary: `The kernel refused the module ${modpath}: ${reason}.`,
    fix: builtElsewhere
      ? 'The module was compiled against another kernel build tree: install kernel-devel for exactly the running kernel, remove ~/.systemtap/cache and compile again.'
      : reason === 'File exists'
        ? 'A module with this name is already loaded: unload it (staprun -d NAME) or rerun with staprun -R to rename.'
        : 'See the messages before this line: the module\'s own start-up checks (release, build-id, privileges) refused this kernel.',
    evidence: [line],
    file: modpath,
  };
}

/**
 * The kernel function a compiler error names, for saying which kernel interface SystemTap's
 * runtime trips on: `... of '(_Bool (*)(struct task_struct *, struct callback_head *))kallsyms_task_work_cancel' ...`
 * -> `task_work_cancel` (captured: fixtures/captured/apt/stap-p4-runtime-too-old.txt, where
 * SystemTap 4.8's runtime/stp_task_work.c calls task_work_cancel with the pre-6.11 signature
 * that the 6.1.x stable kernels have since taken over). The runtime reaches unexported kernel
 * functions through `kallsyms_<name>` pointers, so that prefix is dropped.
 */
export function kernelSymbolOf(gccLine: string): string | undefined {
  const quoted = [...gccLine.matchAll(/'([^']+)'/g)].map((m) => m[1] as string);
  for (const q of quoted) {
    const id = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(q)?.[1];
    if (id && !/^(struct|union|enum|int|long|char|void|bool|_Bool)$/.test(id)) return id.replace(/^kallsyms_/, '');
  }
  return undefined;
}

/** The header a `fatal error: <header>: No such file or directory` line names. */
export function missingHeaderOf(gccLine: string): string | undefined {
  return /fatal error: (\S+): No such file or directory/.exec(quoteNormalize(gccLine))?.[1];
}
