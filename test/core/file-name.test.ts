import { describe, expect, it } from 'vitest';
import { isSafeFileName } from '../../src/core/file-name.js';
import { nodeHashName } from '../../src/core/hash-name.js';

describe('isSafeFileName (src/core/file-name.ts): the one rule for names from repodata, listings and manifests', () => {
  it('takes RPM and Debian package file names', () => {
    for (const name of [
      'kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm',
      'kernel-debug-devel-5.14.0-362.el9.x86_64.rpm',
      'linux-image-6.1.0-56-cloud-amd64-dbg_6.1.140-1_amd64.deb',
      'kernel-5.14.0-1.el9~rc1^git1.x86_64.rpm',
      'linux-headers-6.8.0-31-generic_6.8.0-31.31_amd64.deb',
      'a'.repeat(255),
    ]) {
      expect(isSafeFileName(name), name).toBe(true);
    }
  });

  it('refuses paths, option-like and hidden names, shell characters, encoded epochs and over-long names', () => {
    for (const name of [
      '',
      '.',
      '..',
      '../../etc/passwd',
      'a/b.rpm',
      '-rf.rpm',
      '.hidden.rpm',
      '_x.rpm',
      'a b.rpm',
      "a'b.rpm",
      'a$b.rpm',
      'a\nb.rpm',
      'libfoo_1%3a2.0_amd64.deb',
      'libfoo_1:2.0_amd64.deb',
      'a'.repeat(256),
    ]) {
      expect(isSafeFileName(name), JSON.stringify(name)).toBe(false);
    }
  });
});

describe('nodeHashName (src/core/hash-name.ts): repodata checksum types as Node hash names', () => {
  it('maps every type createrepo writes, in any case; `sha` is SHA-1', () => {
    expect(['sha', 'sha1', 'SHA1', 'sha224', 'sha256', 'SHA256', 'sha384', 'sha512', 'md5'].map(nodeHashName)).toEqual([
      'sha1',
      'sha1',
      'sha1',
      'sha224',
      'sha256',
      'sha256',
      'sha384',
      'sha512',
      'md5',
    ]);
  });

  it('knows no other name, not even one Object.prototype has', () => {
    expect(nodeHashName('crc32')).toBeUndefined();
    expect(nodeHashName('constructor')).toBeUndefined();
    expect(nodeHashName('__proto__')).toBeUndefined();
  });
});
