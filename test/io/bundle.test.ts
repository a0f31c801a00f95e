import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBundleOutput, writeBundle, type BundleManifest } from '../../src/io/bundle.js';
import { ExitCode, KdebuginfoError, UsageError } from '../../src/errors.js';
import { runCli } from '../support/cli.js';

// Where a bundle is written: checked before anything is downloaded, and a write that fails
// anyway (a full disk, a directory made read-only meanwhile) is one line naming -o.

let work: string;
let aFile: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kdebuginfo-bundle-out-'));
  aFile = join(work, 'a-file');
  await writeFile(aFile, 'x');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function errorOf(p: Promise<unknown>): Promise<KdebuginfoError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KdebuginfoError);
  return err as KdebuginfoError;
}

describe('checkBundleOutput', () => {
  it('takes a new file in an existing directory, or in directories still to be made', async () => {
    await checkBundleOutput(join(work, 'k.tar.gz'));
    await checkBundleOutput(join(work, 'new/dirs/k.tar.gz'));
    expect(existsSync(join(work, 'new'))).toBe(false);
  });

  it('refuses a directory, and a path under a regular file (exit 2, one line)', async () => {
    const dir = await errorOf(checkBundleOutput(work));
    expect(dir).toBeInstanceOf(UsageError);
    expect(dir.message).toBe(`-o ${work}: is a directory; name the bundle file, e.g. ${join(work, 'k.tar.gz')}`);
    const under = await errorOf(checkBundleOutput(join(aFile, 'sub/x.tar.gz')));
    expect(under.exitCode).toBe(ExitCode.usage);
    expect(under.message).toBe(`-o ${join(aFile, 'sub/x.tar.gz')}: ${aFile} is not a directory`);
  });

  it('is what bundle runs first: -o under a file fails before any download, with no stack trace', async () => {
    const out = join(aFile, 'x.tar.gz');
    const r = await runCli(['bundle', '--kernel', '5.14.0-362.el9.x86_64', '--os', 'centos-stream:9', '-o', out, '--cache-dir', join(work, 'cache')], {
      env: { KDEBUGINFO_MIRROR: 'https://mirror.stream.centos.org=http://127.0.0.1:9/none' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`kdebuginfo: -o ${out}: ${aFile} is not a directory\n`);
    expect(existsSync(join(work, 'cache'))).toBe(false);
  });
});

describe('writeBundle', () => {
  it('turns a file-system error into one line naming -o, leaving nothing behind', async () => {
    const out = join(aFile, 'x.tar.gz');
    const err = await errorOf(writeBundle({ output: out, directory: 'kdebuginfo-x', manifest: {} as BundleManifest, installScript: '', files: [] }));
    expect(err.message).toBe(`-o ${out}: cannot write the bundle (a part of the path is not a directory)`);
    expect(err.exitCode).toBe(ExitCode.failed);
  });
});
