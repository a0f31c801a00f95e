import { describe, expect, it } from 'vitest';
import { parseRepomd, PrimaryScanner } from '../../src/core/repodata.js';

const pkg = (name: string, arch = 'x86_64', extra = '') =>
  `<package type="rpm">\n  <name>${name}</name>\n  <arch>${arch}</arch>\n  <version epoch="0" ver="4.18.0" rel="348.el8"/>\n  <checksum type="sha256" pkgid="YES">${'ab'.repeat(32)}</checksum>\n  <packager>CentOS Buildsys &lt;bugs@centos.org&gt;</packager>${extra}\n  <size package="1234"/>\n  <location href="Packages/${name}-4.18.0-348.el8.${arch}.rpm"/>\n  <format><rpm:requires><rpm:entry name="${name}-common" flags="EQ" ver="4.18.0"/></rpm:requires></format>\n</package>\n`;
const primary = `<?xml version="1.0" encoding="UTF-8"?>\n<metadata packages="4">\n${pkg('bash')}${pkg('kernel-debuginfo')}${pkg('kernel-debuginfo', 'aarch64')}${pkg('zlib')}</metadata>\n`;
const wanted = (name: string, arch: string) => name === 'kernel-debuginfo' && arch === 'x86_64';

function scan(chunks: string[], max?: number): PrimaryScanner {
  const s = new PrimaryScanner(wanted, max);
  for (const c of chunks) s.write(c);
  s.close();
  return s;
}

describe('PrimaryScanner', () => {
  it('finds the wanted package however the text is cut: at every position, and one character at a time', () => {
    const whole = scan([primary]);
    expect(whole.packagesSeen).toBe(4);
    expect(whole.matches).toEqual([
      {
        name: 'kernel-debuginfo',
        arch: 'x86_64',
        epoch: '0',
        version: '4.18.0',
        release: '348.el8',
        href: 'Packages/kernel-debuginfo-4.18.0-348.el8.x86_64.rpm',
        base: undefined,
        size: 1234,
        checksum: { type: 'sha256', value: 'ab'.repeat(32) },
        requires: [{ name: 'kernel-debuginfo-common', flags: 'EQ', epoch: undefined, version: '4.18.0', release: undefined }],
      },
    ]);
    for (let i = 0; i <= primary.length; i++) {
      const s = scan([primary.slice(0, i), primary.slice(i)]);
      expect([s.packagesSeen, s.matches], `cut at ${i}`).toEqual([4, whole.matches]);
    }
    const s = scan([...primary]);
    expect([s.packagesSeen, s.matches]).toEqual([4, whole.matches]);
  });

  it('is not fooled by <packager>, which every package has, nor by text between packages', () => {
    const s = scan([`<metadata>\n<packager>x</packager>junk<package\n type="rpm">${pkg('kernel-debuginfo').slice('<package type="rpm">'.length)}</metadata>`]);
    expect(s.matches.map((m) => m.name)).toEqual(['kernel-debuginfo']);
  });

  it('fails on an element longer than the limit, in one chunk or many, and keeps nothing of text outside elements', () => {
    const big = pkg('kernel-debuginfo', 'x86_64', `<description>${'x'.repeat(5000)}</description>`);
    expect(() => scan([big], 4096)).toThrow('a <package> element is longer than the 4.0 KiB limit');
    const pieces = big.match(/[\s\S]{1,100}/g) ?? [];
    expect(() => scan(pieces, 4096)).toThrow('a <package> element is longer than the 4.0 KiB limit');
    // An element under the limit passes; megabytes of filler between elements cost nothing.
    const s = new PrimaryScanner(wanted, 4096);
    for (let i = 0; i < 1000; i++) s.write('\0'.repeat(10_000));
    s.write(pkg('kernel-debuginfo'));
    s.close();
    expect(s.matches).toHaveLength(1);
  });

  it('says when the file ends inside an element', () => {
    expect(() => scan([primary.slice(0, primary.indexOf('<arch>'))])).toThrow('primary.xml ends inside a <package> element');
  });
});

describe('parseRepomd', () => {
  it('reads the primary entry with its size and open-size; a size that is no whole number is absent', () => {
    const xml = (size: string) =>
      `<repomd><data type="filelists"><location href="f.xml.gz"/><size>9</size></data><data type="primary"><checksum type="sha256">abc</checksum><open-checksum type="sha256">def</open-checksum><location href="repodata/p.xml.gz"/><size>${size}</size><open-size>1801</open-size></data></repomd>`;
    expect(parseRepomd(xml('766'))).toEqual({ href: 'repodata/p.xml.gz', checksum: { type: 'sha256', value: 'abc' }, size: 766, openSize: 1801 });
    expect(parseRepomd(xml('-1'))?.size).toBeUndefined();
    expect(parseRepomd(xml('1e9'))?.size).toBeUndefined();
  });
});
