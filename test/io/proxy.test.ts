import { describe, expect, it } from 'vitest';
import { bypassesProxy, hasProxyVariable, proxyFor } from '../../src/io/proxy.js';

describe('proxy from the environment (src/io/proxy.ts)', () => {
  it('picks the proxy per scheme and honours NO_PROXY forms', () => {
    const env = { HTTPS_PROXY: 'http://proxy.corp:3128', http_proxy: 'proxy.corp:8080', NO_PROXY: '.internal, mirror.example.com:8443 [::1]' };
    expect(proxyFor('https://vault.centos.org/x', env)).toBe('http://proxy.corp:3128');
    expect(proxyFor('http://vault.centos.org/x', env)).toBe('http://proxy.corp:8080');
    expect(proxyFor('https://repo.internal/x', env)).toBeUndefined();
    expect(proxyFor('https://internal/x', env)).toBeUndefined();
    expect(proxyFor('https://mirror.example.com:8443/x', env)).toBeUndefined();
    expect(proxyFor('https://mirror.example.com/x', env)).toBe('http://proxy.corp:3128');
    expect(proxyFor('http://[::1]:9000/x', env)).toBeUndefined();
    expect(proxyFor('https://vault.centos.org/x', {})).toBeUndefined();
    expect(bypassesProxy('a.b.example.org', '443', '*.example.org')).toBe(true);
    expect(bypassesProxy('notexample.org', '443', 'example.org')).toBe(false);
    expect(bypassesProxy('anything', '80', '*')).toBe(true);
  });

  it('prefers the lower-case variable, as curl does, and ignores empty ones', () => {
    expect(proxyFor('https://x.org/', { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' })).toBe('http://lower:1');
    expect(proxyFor('https://x.org/', { https_proxy: ' ', HTTPS_PROXY: 'http://upper:2' })).toBe('http://upper:2');
    expect(proxyFor('https://x.org/', { HTTPS_PROXY: 'http://p:1', no_proxy: '', NO_PROXY: 'x.org' })).toBeUndefined();
    expect(hasProxyVariable({ NO_PROXY: '*', HTTP_PROXY: '' })).toBe(false);
    expect(hasProxyVariable({ http_proxy: 'p:3128' })).toBe(true);
  });
});
