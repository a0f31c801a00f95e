import { describe, expect, it } from 'vitest';
import { maskUrlCredentials } from '../../src/core/credentials.js';

describe('maskUrlCredentials', () => {
  it('hides a proxy or mirror password, and leaves URLs without one alone', () => {
    expect(maskUrlCredentials('http://ann:s3cret@proxy.corp:3128')).toBe('http://***@proxy.corp:3128');
    expect(maskUrlCredentials('http://proxy.corp:3128')).toBe('http://proxy.corp:3128');
    expect(maskUrlCredentials('https://token@nexus.example.com/repository/x/')).toBe('https://***@nexus.example.com/repository/x/');
  });

  it('hides every URL in a line, and a password holding @ whole (userinfo ends at the last @ of the authority)', () => {
    const line = 'repodata https://u:p@ss@a.example/x/: unavailable; probe http://v:w@b.example:8080/y.rpm?q=a@b';
    expect(maskUrlCredentials(line)).toBe('repodata https://***@a.example/x/: unavailable; probe http://***@b.example:8080/y.rpm?q=a@b');
  });

  it('leaves an @ in a path, query or fragment alone', () => {
    for (const u of ['https://a.example/~user@x/', 'https://a.example/x?to=me@example.org', 'https://a.example/x#a@b', 'mail me@example.org']) {
      expect(maskUrlCredentials(u)).toBe(u);
    }
  });
});
