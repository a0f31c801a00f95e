import { describe, expect, it } from 'vitest';
import { defaultVerifyLevel, verifySituation, VERIFY_LEVELS } from '../../src/core/verify-levels.js';

describe('the verification levels: one table for every family and command', () => {
  it('each level stops after its stap pass, with the longer of the two timeouts the RPM and Debian flows had', () => {
    expect(Object.entries(VERIFY_LEVELS).map(([l, s]) => [l, s.pass, s.timeoutMs / 1000])).toEqual([
      ['resolve', 2, 180],
      ['compile', 4, 600],
      ['run', 5, 600],
    ]);
  });

  it('the situation: an image root, a kernel installed but not running, the running kernel', () => {
    expect(verifySituation('/mnt/img', 'a', 'a')).toBe('image-root');
    expect(verifySituation('/', 'b', 'a')).toBe('installed');
    expect(verifySituation('/', 'a', 'a')).toBe('running');
    expect(verifySituation('/', undefined, 'a')).toBe('running');
  });

  it('verify proves the most it can; install into an image root verifies nothing unless asked', () => {
    const table = (['running', 'installed', 'image-root'] as const).map((s) => [s, defaultVerifyLevel('verify', s), defaultVerifyLevel('install', s)]);
    expect(table).toEqual([
      ['running', 'run', 'run'],
      ['installed', 'compile', 'compile'],
      ['image-root', 'resolve', 'none'],
    ]);
  });
});
