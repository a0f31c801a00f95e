import { describe, expect, it } from 'vitest';
import { ListingParser, parseListing } from '../../src/core/listing.js';

const page = `<html><body><h1>Index of /8/x86_64/Packages</h1><table>
<tr><td><a href="?C=N;O=D">Name</a></td></tr>
<tr><td><a href="/8/x86_64/">Parent Directory</a></td></tr>
<tr><td><a href="kernel-debuginfo-4.18.0-348.el8.x86_64.rpm">kernel-debuginfo-4.18.0-348.el8.x86_64.rpm</a></td></tr>
<tr><td><a href='kernel-debuginfo-common-x86_64-4.18.0-348.el8.x86_64.rpm'>common</a></td></tr>
<tr><td><a href=kernel-devel-4.18.0-348.el8.x86_64.rpm>devel</a></td></tr>
<tr><td><a href="sub/">sub/</a></td><td><a href="https://elsewhere.example/x.rpm">x</a></td></tr>
<tr><td><a href="kernel-debuginfo-4.18.0-80.el8.x86_64.rpm">kernel-debuginfo-4.18.0-80.el8.x86_64.rpm</a></td></tr>
</table></body></html>`;
const url = 'http://mirror.example/8/x86_64/Packages/';

describe('ListingParser', () => {
  it('gives what parseListing gives, however the page is cut', () => {
    const whole = parseListing(page, url);
    expect(whole).toEqual([
      'kernel-debuginfo-4.18.0-348.el8.x86_64.rpm',
      'kernel-debuginfo-common-x86_64-4.18.0-348.el8.x86_64.rpm',
      'kernel-devel-4.18.0-348.el8.x86_64.rpm',
      'kernel-debuginfo-4.18.0-80.el8.x86_64.rpm',
    ]);
    for (let i = 0; i <= page.length; i++) {
      const p = new ListingParser(url);
      p.write(page.slice(0, i));
      p.write(page.slice(i));
      expect(p.close(), `cut at ${i}`).toEqual(whole);
    }
  });

  it('keeps only the names asked for, and counts every file link', () => {
    const p = new ListingParser(url, (f) => f.startsWith('kernel-debuginfo-4'));
    p.write(page);
    expect(p.close()).toEqual(['kernel-debuginfo-4.18.0-348.el8.x86_64.rpm', 'kernel-debuginfo-4.18.0-80.el8.x86_64.rpm']);
    expect(p.links).toBe(4);
  });

  it('does not hold on to a tag longer than a link can be, and still reads the links after it', () => {
    const p = new ListingParser(url);
    p.write(`<a title="${'x'.repeat(100_000)}`);
    p.write(`" href="a.rpm">a</a><a href="b.rpm">b</a>`);
    expect(p.close()).toEqual(['a.rpm', 'b.rpm']);
  });
});
