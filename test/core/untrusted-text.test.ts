import { describe, expect, it } from 'vitest';
import { SHOWN_CHARS, hasHiddenCharacters, showUntrusted } from '../../src/core/untrusted-text.js';
import { checkReleaseToken, parseKernelRelease } from '../../src/core/kernel-release.js';
import { parseOsFlag, parseOsRelease } from '../../src/core/os-release.js';
import { parseDebKernelRelease } from '../../src/core/debian.js';
import { UsageError } from '../../src/errors.js';

const ESC = '\x1b';

/** The message of the UsageError `fn` throws. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('did not throw');
}

describe('showUntrusted', () => {
  it('leaves plain text alone', () => {
    expect(showUntrusted('4.18.0-348.7.1.el8_5.x86_64')).toBe('4.18.0-348.7.1.el8_5.x86_64');
    expect(showUntrusted('CentOS Stream 9 · ü')).toBe('CentOS Stream 9 · ü');
  });

  it('escapes control characters as JavaScript writes them, and doubles a backslash', () => {
    expect(showUntrusted(`a${ESC}[2Jb`)).toBe('a\\x1b[2Jb');
    expect(showUntrusted('a\nb\tc\rd\x00e\x7f\x9b')).toBe('a\\nb\\tc\\rd\\x00e\\x7f\\x9b');
    expect(showUntrusted('\u202eevil\u2066')).toBe('\\u202eevil\\u2066');
    expect(showUntrusted('C:\\x1b')).toBe('C:\\\\x1b');
    expect(showUntrusted(`${ESC}]8;;http://x${ESC}\\`)).not.toContain(ESC);
  });

  it(`shows at most ${SHOWN_CHARS} characters, then …, never half an escape`, () => {
    const long = 'x'.repeat(10_000);
    expect(showUntrusted(long)).toBe(`${'x'.repeat(SHOWN_CHARS)}…`);
    expect(showUntrusted('x'.repeat(SHOWN_CHARS))).toBe('x'.repeat(SHOWN_CHARS));
    // 78 characters, then an escape of 4 that would pass the limit: cut before it.
    expect(showUntrusted(`${'y'.repeat(78)}${ESC}zz`)).toBe(`${'y'.repeat(78)}…`);
    expect(showUntrusted(ESC.repeat(1000)).length).toBeLessThanOrEqual(SHOWN_CHARS + 1);
  });

  it('tells whether text holds anything it would escape', () => {
    expect(hasHiddenCharacters('5.14.0-362.el9.x86_64')).toBe(false);
    expect(hasHiddenCharacters(`5.14.0${ESC}`)).toBe(true);
    expect(hasHiddenCharacters('a\u200bb')).toBe(true);
  });
});

describe('kernel releases in messages', () => {
  it('a 10,000-character release is shown trimmed', () => {
    const msg = messageOf(() => parseKernelRelease(`4.18.0-348.el8.x86_64${'a'.repeat(10_000)}`));
    expect(msg.length).toBeLessThan(300);
    expect(msg).toMatch(/^kernel release "4\.18\.0-348\.el8\.x86_64a+…" is not a form kdebuginfo knows/);
  });

  it('an ESC byte in a release never reaches the message raw', () => {
    const msg = messageOf(() => parseKernelRelease(`4.18.0-348.el8${ESC}[31m.x86_64`));
    expect(msg).not.toContain(ESC);
    expect(msg).toContain('4.18.0-348.el8\\x1b[31m.x86_64');
    const deb = messageOf(() => parseDebKernelRelease(`6.1.0-56-cl${ESC}oud-amd64`));
    expect(deb).not.toContain(ESC);
    expect(deb).toContain('6.1.0-56-cl\\x1boud-amd64');
  });

  it('a release as a flag is one plain word: no /, no leading -, no control characters, at most 64 characters', () => {
    for (const ok of ['4.18.0-348.7.1.el8_5.x86_64', '5.14.0-362.el9.x86_64+rt', '6.12.38+deb13-amd64', 'running', 'newest-installed', 'x'.repeat(64)]) {
      expect(() => checkReleaseToken(ok, '--kernel')).not.toThrow();
    }
    expect(messageOf(() => checkReleaseToken('../../x', '--kernel'))).toBe(
      '--kernel "../../x" is not a kernel release (expected one word of letters, digits and . _ + ~ - starting with a letter or digit, as uname -r prints, e.g. 4.18.0-348.7.1.el8_5.x86_64)',
    );
    expect(messageOf(() => checkReleaseToken('-r', '--kernel'))).toMatch(/^--kernel "-r" is not a kernel release/);
    expect(messageOf(() => checkReleaseToken('', '--kernel'))).toMatch(/^--kernel "" is empty/);
    expect(messageOf(() => checkReleaseToken(`5.14.0${ESC}[2J`, '--kernel'))).toMatch(/^--kernel "5\.14\.0\\x1b\[2J" is not a kernel release/);
    expect(messageOf(() => checkReleaseToken('5.14 0', '--kernel'))).toMatch(/is not a kernel release/);
    expect(messageOf(() => checkReleaseToken('x'.repeat(10_000), '--kernel'))).toMatch(/^--kernel "x{80}…" is 10000 characters long; a kernel release has at most 64/);
  });
});

describe('os-release fields and --os in messages', () => {
  it('an ESC byte in ID, NAME or VERSION_ID is escaped; a long value trimmed', () => {
    const id = messageOf(() => parseOsRelease(`ID="evil${ESC}]0;owned${ESC}\\"\nPRETTY_NAME="${'P'.repeat(5000)}"\n`, '/etc/os-release'));
    expect(id).not.toContain(ESC);
    expect(id).toContain('ID=evil\\x1b]0;owned\\x1b\\\\');
    expect(id).toContain(`(${'P'.repeat(SHOWN_CHARS)}…)`);
    const name = messageOf(() => parseOsRelease(`ID=centos\nNAME="Cent${ESC}[8mOS"\nVERSION_ID=8\n`, '/etc/os-release'));
    expect(name).toContain('NAME="Cent\\x1b[8mOS"');
    const version = messageOf(() => parseOsRelease(`ID=rocky\nVERSION_ID="x${ESC}"\n`, '/etc/os-release'));
    expect(version).toContain('VERSION_ID="x\\x1b"');
  });

  it('--os is escaped too', () => {
    const msg = messageOf(() => parseOsFlag(`centos${ESC}[1m:8`));
    expect(msg).not.toContain(ESC);
    expect(msg).toMatch(/^--os "centos\\x1b\[1m:8" is not of the form ID:MAJOR/);
  });
});
