import { describe, expect, it } from 'vitest';
import { firstHeader, parseContentRange, parseRetryAfter } from '../../src/core/http-headers.js';

describe('HTTP headers the download engine reads (src/core/http-headers.ts)', () => {
  it('parses Content-Range and Retry-After', () => {
    expect(parseContentRange('bytes 3000-7992/7993')).toEqual({ start: 3000, end: 7992, total: 7993 });
    expect(parseContentRange('bytes 0-9/*')).toEqual({ start: 0, end: 9, total: null });
    expect(parseContentRange('items 1-2/3')).toBeNull();
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('takes the first value of a repeated header, and null for a missing one', () => {
    expect(firstHeader({ etag: '"a"' }, 'etag')).toBe('"a"');
    expect(firstHeader({ 'set-cookie': ['x=1', 'y=2'] }, 'set-cookie')).toBe('x=1');
    expect(firstHeader({ 'set-cookie': [] }, 'set-cookie')).toBeNull();
    expect(firstHeader({}, 'etag')).toBeNull();
  });
});
