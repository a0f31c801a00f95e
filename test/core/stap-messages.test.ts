import { describe, expect, it } from 'vitest';
import { diagnoseStapOutput, kernelSymbolOf, missingHeaderOf, parseStapVersion, type StapDiagnosis, type StapDiagnosisCode } from '../../src/core/stap-messages.js';
import { listCaptured, readCaptured } from '../support/captured-output.js';

const codes = (ds: StapDiagnosis[]) => ds.map((d) => d.code);

/** Every capture in fixtures/captured/stap/ and the diagnoses it must give (in order). */
const table: Record<string, { codes: StapDiagnosisCode[]; check?: (ds: StapDiagnosis[]) => void }> = {
  version: { codes: [] },
  'no-build-tree': {
    codes: ['devel-mismatch'],
    check: ([d]) => expect(d?.buildDir).toBe('/lib/modules/6.18.44-fc-v595/build'),
  },
  'release-not-found': { codes: ['devel-mismatch'], check: ([d]) => expect(d?.buildDir).toBe('/nonexistent') },
  'build-tree-no-config': { codes: ['devel-mismatch'] },
  'build-tree-no-symvers': {
    codes: ['devel-incomplete'],
    check: ([d]) => expect(d?.summary).toContain('Module.symvers is missing'),
  },
  'missing-debuginfo': {
    // "while resolving probe point" is printed too, but it is the consequence: not reported.
    codes: ['missing-debuginfo'],
    check: ([d]) => {
      expect(d).toMatchObject({ arch: 'x86_64', buildDir: '/tmp/kdebuginfo-capture/tree' });
      expect(d?.evidence).toEqual(["semantic error: missing x86_64 kernel/module debuginfo [man warning::debuginfo] under '/tmp/kdebuginfo-capture/tree'"]);
    },
  },
  'missing-debuginfo-alternatives': { codes: ['missing-debuginfo'] },
  'pass4-no-makefile': {
    codes: ['devel-incomplete'],
    check: ([d]) => expect(d).toMatchObject({ buildDir: '/tmp/kdebuginfo-capture/tree', summary: expect.stringContaining('Makefile is missing') }),
  },
  'fake-kbuild-missing-headers': {
    codes: ['devel-incomplete'],
    check: ([d]) => expect(d?.summary).toContain('linux/gfp.h was not found'),
  },
  'fake-kbuild-runtime-too-old': {
    codes: ['runtime-too-old'],
    check: ([d]) => {
      expect(d?.file).toBe('/usr/share/systemtap/runtime/stp_task_work.c');
      expect(d?.summary).toContain('task_work_cancel');
    },
  },
  'non-root': { codes: ['needs-root'] },
  'staprun-module-missing': {
    codes: ['module-rejected'],
    check: ([d]) => expect(d?.summary).toContain('/nonexistent/stap_kdebuginfo_missing.ko: the file does not exist'),
  },
};

describe('diagnoseStapOutput on real stap 4.8 output (fixtures/captured/stap)', () => {
  it('has an expectation for every capture, and a capture for every expectation', () => {
    expect(listCaptured('stap')).toEqual(Object.keys(table).sort());
  });

  for (const [name, expected] of Object.entries(table)) {
    it(name, () => {
      const c = readCaptured('stap', name);
      const ds = diagnoseStapOutput(c.stderr);
      expect(codes(ds)).toEqual(expected.codes);
      expected.check?.(ds);
      for (const d of ds) {
        expect(d.summary.length, d.code).toBeGreaterThan(10);
        expect(d.fix.length, d.code).toBeGreaterThan(10);
        expect(d.evidence.length, d.code).toBeGreaterThan(0);
      }
    });
  }

  it('runtime-too-old names the SystemTap version when given', () => {
    const c = readCaptured('stap', 'fake-kbuild-runtime-too-old');
    const version = parseStapVersion(readCaptured('stap', 'version').stdout)?.version;
    const [d] = diagnoseStapOutput(c.stderr, { stapVersion: version, release: '6.11.0-1.fc41.x86_64' });
    expect(d?.summary).toContain("SystemTap 4.8's own runtime");
    expect(d?.fix).toMatch(/^Upgrade SystemTap .* from 4\.8 /);
  });

  it('gcc in a non-C locale (curly quotes) gives the same diagnosis', () => {
    const c = readCaptured('stap', 'fake-kbuild-runtime-too-old');
    const curly = c.stderr.replace(/'([^']*)'/g, '\u2018$1\u2019');
    expect(codes(diagnoseStapOutput(curly))).toEqual(['runtime-too-old']);
  });

  it('ignores colour escapes (stap colourises on a terminal)', () => {
    const c = readCaptured('stap', 'missing-debuginfo');
    const coloured = c.stderr.replace('semantic error:', '\x1b[01;31m\x1b[Ksemantic error:\x1b[m\x1b[K');
    expect(codes(diagnoseStapOutput(coloured))).toEqual(['missing-debuginfo']);
  });
});

describe('parseStapVersion', () => {
  it('reads the captured stap -V', () => {
    expect(parseStapVersion(readCaptured('stap', 'version').stdout)).toEqual({
      version: '4.8',
      elfutils: '0.188',
      testedKernels: { min: '2.6.32', max: '6.1.0-rc3' },
    });
  });
  it('reads an RPM build and rejects other text', () => {
    expect(parseStapVersion('Systemtap translator/driver (version 5.1/0.190, rpm 5.1-4.el9)')?.version).toBe('5.1');
    expect(parseStapVersion('bash: stap: command not found')).toBeUndefined();
  });
});

// Messages this machine cannot produce (no RPM-built stap, no kernel module loading, no Secure
// Boot). The text is from systemtap's source (file named per case) or, for compiler errors, from
// public bug reports quoting real stap output (URL named).
describe('diagnoseStapOutput on messages from systemtap source and public reports', () => {
  it('RPM build: .config check plus the kernel-devel NEVRA to install (rpm_finder.cxx missing_rpm_list_print)', () => {
    const stderr = [
      'Checking "/lib/modules/3.10.0-1160.el7.x86_64/build/.config" failed with error: No such file or directory',
      'Incorrect version or missing kernel-devel package, use: yum install kernel-devel-3.10.0-1160.el7.x86_64 ',
    ].join('\n');
    const [d, ...rest] = diagnoseStapOutput(stderr);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ code: 'devel-mismatch', buildDir: '/lib/modules/3.10.0-1160.el7.x86_64/build', packages: ['kernel-devel-3.10.0-1160.el7.x86_64'] });
    expect(d?.evidence).toHaveLength(2);
  });

  it('RPM build: missing debuginfo with the debuginfo-install suggestion (rpm_finder.cxx)', () => {
    const stderr = [
      'semantic error: while resolving probe point: identifier \'kernel\' at /usr/share/systemtap/tapset/linux/vfs.stp:991:25',
      '        source: probe vfs.read.return = kernel.function("vfs_read").return',
      '',
      "semantic error: missing x86_64 kernel/module debuginfo [man warning::debuginfo] under '/lib/modules/3.10.0-1160.el7.x86_64/build'",
      'Missing separate debuginfos, use: debuginfo-install kernel-3.10.0-1160.el7.x86_64 ',
      'Pass 2: analysis failed.  [man error::pass2]',
    ].join('\n');
    const ds = diagnoseStapOutput(stderr);
    expect(codes(ds)).toEqual(['missing-debuginfo']);
    expect(ds[0]?.packages).toEqual(['kernel-3.10.0-1160.el7.x86_64']);
  });

  it('probe point that does not exist in this kernel, debuginfo present', () => {
    const stderr = [
      "semantic error: while resolving probe point: identifier 'kernel' at <input>:1:7",
      '        source: probe kernel.function("_do_fork") { }',
      '                      ^',
      '',
      'semantic error: no match (similar functions: do_fork, kernel_clone)',
      '',
      'Pass 2: analysis failed.  [man error::pass2]',
    ].join('\n');
    const [d] = diagnoseStapOutput(stderr);
    expect(d).toMatchObject({ code: 'probe-unresolved', probePoints: ['probe kernel.function("_do_fork") { }'] });
  });

  it('stale module: module version mismatch (translate.cxx, emitted into every module)', () => {
    const stderr = [
      'ERROR: module version mismatch (#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29) vs #1 SMP PREEMPT_DYNAMIC Debian 6.1.64-1 (2023-11-30)), release 6.1.0-13-amd64',
      "ERROR: Couldn't insert module '/root/.systemtap/cache/6a/stap_6a1b_1234.ko': Invalid parameters",
    ].join('\n');
    expect(codes(diagnoseStapOutput(stderr))).toEqual(['stale-module']);
  });

  it('build-id mismatch (runtime/sym.c _stp_build_id_check)', () => {
    const stderr =
      'WARNING: Build-id mismatch [man warning::buildid]: "kernel" pid 0 address 0xffffffff81e00f34, expected 120444bfab808ef5e2290cc8e0f2cb5c2950589a actual 682be59a8f9e511da60614cc531ede4193ececb8\n' +
      "ERROR: Couldn't insert module '/tmp/stapXyZ/stap_abc_1.ko': Invalid parameters\n";
    const ds = diagnoseStapOutput(stderr);
    expect(codes(ds)).toEqual(['buildid-mismatch']);
    expect(ds[0]?.summary).toContain('120444bfab808ef5e2290cc8e0f2cb5c2950589a');
  });

  // staprun.c insert_stap_module: err("Couldn't insert module %s'%s': %s\n", misc, modpath, moderror(errno));
  // EPERM (lockdown), ENOKEY and EKEYREJECTED (signature) go through strerror().
  for (const reason of ['Operation not permitted', 'Required key not available', 'Key was rejected by service']) {
    it(`lockdown: Couldn't insert module ... ${reason}`, () => {
      const [d] = diagnoseStapOutput(`ERROR: Couldn't insert module '/tmp/stapAbc/stap_x.ko': ${reason}\n`);
      expect(d).toMatchObject({ code: 'lockdown', summary: expect.stringContaining(reason) });
    });
  }

  it("lockdown: FIPS mode (staprun.c misc = 'in FIPS mode ')", () => {
    expect(codes(diagnoseStapOutput("ERROR: Couldn't insert module in FIPS mode '/tmp/stapA/stap_x.ko': Operation not permitted\n"))).toEqual(['lockdown']);
  });

  it("lockdown: stap's own Secure Boot check (session.cxx)", () => {
    const stderr = [
      'The kernel on your system requires modules to be signed for loading.',
      'The module created by compiling your script must be signed by a systemtap compile-server.  [man stap-server]',
    ].join('\n');
    const ds = diagnoseStapOutput(stderr);
    expect(codes(ds)).toEqual(['lockdown']);
    expect(ds[0]?.evidence).toHaveLength(2);
  });

  it('module built against another kernel (moderror: ENOEXEC "Invalid module format")', () => {
    const [d] = diagnoseStapOutput("ERROR: Couldn't insert module '/tmp/stapQ/stap_q.ko': Invalid module format\n");
    expect(d).toMatchObject({ code: 'module-rejected', fix: expect.stringContaining('another kernel build tree') });
  });

  it("staprun without setuid root (staprun.c: 'The effective user ID of staprun must be set to the root user.')", () => {
    expect(codes(diagnoseStapOutput('ERROR: The effective user ID of staprun must be set to the root user.\n'))).toEqual(['needs-root']);
  });

  // https://github.com/voidlinux/void-packages/issues/4905 (systemtap 3.0 on Linux 4.7): a runtime
  // older than the kernel fails in runtime/linux/access_process_vm.h.
  it('runtime too old, real report: access_process_vm.h vs get_user_pages (Linux 4.7)', () => {
    const stderr = [
      'In file included from /usr/share/systemtap/runtime/linux/runtime.h:209:0,',
      '                 from /usr/share/systemtap/runtime/runtime.h:24,',
      '                 from /tmp/stapJBFo3e/stap_f756c352e21eb4775cdc6b94c1907c5c_902_src.c:25:',
      "/usr/share/systemtap/runtime/linux/access_process_vm.h: In function '__access_process_vm_':",
      "/usr/share/systemtap/runtime/linux/access_process_vm.h:35:29: error: passing argument 1 of 'get_user_pages' makes integer from pointer without a cast [-Werror]",
      '       ret = get_user_pages (tsk, mm, addr, 1, write, 1, &page, &vma);',
      'cc1: all warnings being treated as errors',
      'make[1]: *** [scripts/Makefile.build:289: /tmp/stapJBFo3e/stap_f756c352e21eb4775cdc6b94c1907c5c_902_src.o] Error 1',
      'make: *** [Makefile:1458: _module_/tmp/stapJBFo3e] Error 2',
      'WARNING: kbuild exited with status: 2',
      'Pass 4: compilation failed.  [man error::pass4]',
    ].join('\n');
    const [d, ...rest] = diagnoseStapOutput(stderr, { stapVersion: '3.0' });
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ code: 'runtime-too-old', file: '/usr/share/systemtap/runtime/linux/access_process_vm.h' });
    expect(d?.summary).toContain('get_user_pages');
  });

  it('runtime too old under a custom runtime dir (SYSTEMTAP_RUNTIME)', () => {
    const stderr = "/opt/stap/rt/stp_task_work.c:107:17: error: too few arguments to function 'task_work_cancel'\nPass 4: compilation failed.  [man error::pass4]\n";
    expect(codes(diagnoseStapOutput(stderr, { runtimeDir: '/opt/stap/rt' }))).toEqual(['runtime-too-old']);
  });

  it('a missing header the kernel no longer has, included by the runtime: runtime too old (hedged)', () => {
    const stderr = '/usr/share/systemtap/runtime/linux/runtime.h:30:10: fatal error: linux/genhd.h: No such file or directory\nPass 4: compilation failed.  [man error::pass4]\n';
    const [d] = diagnoseStapOutput(stderr);
    expect(d).toMatchObject({ code: 'runtime-too-old', summary: expect.stringContaining('linux/genhd.h') });
  });

  it('pass 4 failing in generated code only: compile-failed', () => {
    const stderr = [
      "/tmp/stapLhq8pD/measure_ra_pages_src.c:2205:2: error: 'PR_SET_MM_ARG_START' undeclared here (not in a function)",
      'Pass 4: compilation failed.  [man error::pass4]',
    ].join('\n');
    const [d] = diagnoseStapOutput(stderr);
    expect(d).toMatchObject({ code: 'compile-failed', file: '/tmp/stapLhq8pD/measure_ra_pages_src.c' });
  });

  it('nothing wrong: no diagnoses', () => {
    expect(diagnoseStapOutput('Pass 1: parsed user script and 484 library scripts\n')).toEqual([]);
    expect(diagnoseStapOutput('')).toEqual([]);
  });
});

describe('what a compiler error in the runtime names', () => {
  it('the kernel function (kallsyms_ pointer of the runtime), from the real Debian 12 and fake-kbuild captures', () => {
    for (const [kind, name] of [['apt', 'stap-p4-runtime-too-old'], ['stap', 'fake-kbuild-runtime-too-old']] as const) {
      const [d] = diagnoseStapOutput(readCaptured(kind, name).stderr);
      expect(d?.code).toBe('runtime-too-old');
      expect(kernelSymbolOf(d!.evidence[0]!)).toBe('task_work_cancel');
    }
    expect(kernelSymbolOf("x.c:1:2: error: unknown type name 'struct'")).toBeUndefined();
  });

  it('the missing header (captured: fake-kbuild-missing-headers)', () => {
    const line = readCaptured('stap', 'fake-kbuild-missing-headers').stderr.split('\n').find((l) => l.includes('fatal error'))!;
    expect(missingHeaderOf(line)).toBe('linux/gfp.h');
    expect(missingHeaderOf('Pass 4: compilation failed.')).toBeUndefined();
  });
});
