import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { FIXTURE_MIRROR_ROOT, startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';
import { refusingProxyUrl, startForwardProxy } from '../support/forward-proxy.js';

let mirror: FixtureMirror;
beforeAll(async () => {
  mirror = await startFixtureMirror();
});
afterAll(async () => {
  await mirror?.close();
});
beforeEach(() => {
  mirror.server.clearFaults();
  mirror.server.resetLog();
});

const sha256Of = (urlPath: string) =>
  createHash('sha256').update(readFileSync(join(FIXTURE_MIRROR_ROOT, decodeURIComponent(urlPath)))).digest('hex');

const resolve = (args: string[], env: Record<string, string> = {}) =>
  runCli(['resolve', '--json', ...args], { env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv, ...env } });

function pathOf(url: string): string {
  expect(url.startsWith(mirror.server.url)).toBe(true);
  return url.slice(mirror.server.url.length + 1);
}

describe('resolve over HTTP against the fixture mirror', () => {
  it('finds all three packages through repodata, with sizes and sha256 from primary.xml', async () => {
    const r = await resolve(['--kernel', '4.18.0-348.7.1.el8_5.x86_64', '--os', 'centos:8']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.json();
    expect(out.kernel).toEqual({ uname: '4.18.0-348.7.1.el8_5.x86_64', version: '4.18.0', release: '348.7.1.el8_5', arch: 'x86_64', flavor: 'default' });
    expect(out.os).toMatchObject({ id: 'centos', version: '8' });
    const byRole = Object.fromEntries(out.packages.map((p: any) => [p.role, p]));
    expect(pathOf(byRole.debuginfo.url)).toBe('debuginfo.centos.org/8/x86_64/Packages/kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm');
    expect(pathOf(byRole['debuginfo-common'].url)).toBe(
      'debuginfo.centos.org/8/x86_64/Packages/kernel-debuginfo-common-x86_64-4.18.0-348.7.1.el8_5.x86_64.rpm',
    );
    expect(pathOf(byRole.devel.url)).toBe('vault.centos.org/8.5.2111/BaseOS/x86_64/os/Packages/kernel-devel-4.18.0-348.7.1.el8_5.x86_64.rpm');
    for (const p of out.packages) {
      expect(p.source).toBe('repodata');
      expect(p.checksum).toEqual({ type: 'sha256', value: sha256Of(pathOf(p.url)) });
      expect(p.size).toBe(readFileSync(join(FIXTURE_MIRROR_ROOT, pathOf(p.url))).length);
    }
    // Repodata was enough: no listing page and no HEAD probe were needed.
    expect(mirror.server.requests.filter((q) => q.method === 'HEAD')).toEqual([]);
    expect(mirror.server.requests.every((q) => q.path.includes('/repodata/'))).toBe(true);
  });

  it('picks the default flavour and the right arch among decoys (debug flavour, neighbours, aarch64)', async () => {
    const r = await resolve(['--kernel', '3.10.0-1160.119.1.el7.x86_64', '--os', 'centos:7']);
    expect(r.code).toBe(0);
    const files = r.json().packages.map((p: any) => pathOf(p.url));
    expect(files).toEqual([
      'debuginfo.centos.org/7/x86_64/kernel-debuginfo-3.10.0-1160.119.1.el7.x86_64.rpm',
      'debuginfo.centos.org/7/x86_64/kernel-debuginfo-common-x86_64-3.10.0-1160.119.1.el7.x86_64.rpm',
      'vault.centos.org/7.9.2009/updates/x86_64/Packages/kernel-devel-3.10.0-1160.119.1.el7.x86_64.rpm',
    ]);
  });

  it('resolves the debug flavour to kernel-debug-* and the shared common package', async () => {
    const r = await resolve(['--kernel', '4.18.0-348.7.1.el8_5.x86_64+debug', '--os', 'centos:8']);
    // The fixture has kernel-debug-debuginfo but no kernel-debug-devel: exit 3 naming it.
    expect(r.code).toBe(3);
    const out = r.json();
    expect(out.found.map((p: any) => p.file)).toEqual([
      'kernel-debug-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm',
      'kernel-debuginfo-common-x86_64-4.18.0-348.7.1.el8_5.x86_64.rpm',
    ]);
    expect(out.missing.map((p: any) => p.file)).toEqual(['kernel-debug-devel-4.18.0-348.7.1.el8_5.x86_64.rpm']);
  });

  it('falls back to the directory listing where a tree has no repodata (debuginfo.centos.org/8-stream)', async () => {
    const r = await resolve(['--kernel', '4.18.0-552.el8.x86_64', '--os', 'centos-stream:8']);
    expect(r.code).toBe(0);
    const [debuginfo, common, devel] = r.json().packages;
    expect(debuginfo.source).toBe('listing');
    expect(debuginfo.checksum).toBeNull();
    expect(debuginfo.size).toBe(readFileSync(join(FIXTURE_MIRROR_ROOT, pathOf(debuginfo.url))).length);
    expect(pathOf(common.url)).toBe('debuginfo.centos.org/8-stream/x86_64/Packages/kernel-debuginfo-common-x86_64-4.18.0-552.el8.x86_64.rpm');
    expect(devel.source).toBe('repodata');
    expect(pathOf(devel.url)).toBe('vault.centos.org/8-stream/BaseOS/x86_64/os/Packages/kernel-devel-4.18.0-552.el8.x86_64.rpm');
  });

  it('uses the vault listing when its repomd.xml 404s (the vault fills repodata in late)', async () => {
    const r = await resolve(['--kernel', '4.18.0-305.3.1.el8.x86_64', '--os', 'centos:8']);
    expect(r.code).toBe(0);
    const devel = r.json().packages[2];
    expect(devel.source).toBe('listing');
    expect(pathOf(devel.url)).toBe('vault.centos.org/8.4.2105/BaseOS/x86_64/os/Packages/kernel-devel-4.18.0-305.3.1.el8.x86_64.rpm');
    const seen = mirror.server.requests.map((q) => `${q.status} ${q.path}`);
    expect(seen).toContain('404 /vault.centos.org/8.4.2105/BaseOS/x86_64/os/repodata/repomd.xml');
  });

  it('falls back to the next mirror when the first one 404s everything', async () => {
    const dead = `https://debuginfo.centos.org=${mirror.server.url}/gone`;
    const facebook = `https://mirror.facebook.net/centos-debuginfo=${mirror.server.url}/debuginfo.centos.org`;
    const r = await resolve(['--kernel', '3.10.0-1160.el7.x86_64', '--os', 'centos:7', '--mirror', dead, '--mirror', facebook]);
    expect(r.code).toBe(0);
    const out = r.json();
    expect(out.packages[0].url).toBe(`${mirror.server.url}/debuginfo.centos.org/7/x86_64/kernel-debuginfo-3.10.0-1160.el7.x86_64.rpm`);
    expect(out.packages[0].candidates[0]).toBe(`${mirror.server.url}/gone/7/x86_64/kernel-debuginfo-3.10.0-1160.el7.x86_64.rpm`);
    // GA kernel: kernel-devel comes from the point release's os/ tree.
    expect(pathOf(out.packages[2].url)).toBe('vault.centos.org/7.9.2009/os/x86_64/Packages/kernel-devel-3.10.0-1160.el7.x86_64.rpm');
    const paths = mirror.server.requests.map((q) => `${q.method} ${q.status} ${q.path}`);
    expect(paths).toContain('GET 404 /gone/7/x86_64/repodata/repomd.xml');
    expect(paths).toContain('HEAD 404 /gone/7/x86_64/kernel-debuginfo-3.10.0-1160.el7.x86_64.rpm');
  });

  it('falls back to the build-system archive for a Stream kernel the mirror dropped', async () => {
    const r = await resolve(['--kernel', '5.14.0-300.el9.x86_64', '--os', 'centos-stream:9']);
    expect(r.code).toBe(0);
    for (const p of r.json().packages) {
      expect(pathOf(p.url)).toMatch(/^kojihub\.stream\.centos\.org\/kojifiles\/packages\/kernel\/5\.14\.0\/300\.el9\/x86_64\//);
      expect(p.source).toBe('listing');
    }
  });

  it('sends a User-Agent, so servers that answer 406 without one still work', async () => {
    mirror.server.fault(/.*/, { requireUserAgent: true });
    const r = await resolve(['--kernel', '5.14.0-362.el9.x86_64', '--os', 'centos-stream:9']);
    expect(r.code).toBe(0);
    expect(mirror.server.requests.length).toBeGreaterThan(0);
    for (const q of mirror.server.requests) expect(q.headers['user-agent']).toMatch(/^kdebuginfo\//);
  });

  it('exits 3 for an unknown kernel: what is missing, the host that answered, "did you mean" the nearest release, a few locations tried', async () => {
    const r = await resolve(['--kernel', '4.18.0-348.5.1.el8_5.x86_64', '--os', 'centos:8']);
    expect(r.code).toBe(3);
    const host = new URL(mirror.server.url).host;
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'kdebuginfo: not found on any mirror: kernel-debuginfo-4.18.0-348.5.1.el8_5.x86_64.rpm, kernel-debuginfo-common-x86_64-4.18.0-348.5.1.el8_5.x86_64.rpm, kernel-devel-4.18.0-348.5.1.el8_5.x86_64.rpm',
      `answered without them: ${host}`,
      // The fixture has 348.2.1 and 348.7.1 on either side; the newer one, pasteable as it stands.
      'did you mean 4.18.0-348.7.1.el8_5.x86_64?',
      'tried 18 locations:',
    ]);
    // One line per package, the one naming the versions that do exist there, then a count.
    expect(lines).toContain(
      `  kernel-debuginfo-4.18.0-348.5.1.el8_5.x86_64: repodata ${mirror.server.url}/debuginfo.centos.org/8/x86_64/: absent; nearest there: 4.18.0-348.2.1.el8_5, 4.18.0-348.7.1.el8_5, 4.18.0-305.3.1.el8`,
    );
    expect(lines).toContain(
      `  kernel-devel-4.18.0-348.5.1.el8_5.x86_64: repodata ${mirror.server.url}/vault.centos.org/8.5.2111/BaseOS/x86_64/os/: absent; nearest there: 4.18.0-348.2.1.el8_5, 4.18.0-348.7.1.el8_5`,
    );
    expect(lines.filter((l) => l.startsWith('  kernel-'))).toHaveLength(4);
    expect(lines.at(-2)).toBe('  and 14 more (see --json or --verbose)');
    expect(lines.at(-1)).toBe('hint: check --kernel and --os, or name a mirror that has these files with --mirror FROM=TO');
    const out = r.json();
    expect(out).toMatchObject({ ok: false, rc: 3, outcome: 'not-found', answered: [host], unreachable: [], didYouMean: '4.18.0-348.7.1.el8_5.x86_64' });
    expect(out.missing).toHaveLength(3);
    // --json keeps every location tried, each on the local server.
    expect(out.attempts.filter((a: any) => a.outcome !== 'found')).toHaveLength(18);
    expect(out.attempts).toContainEqual(
      expect.objectContaining({ location: `${mirror.server.url}/mirror.facebook.net/centos-debuginfo/8/x86_64/`, outcome: 'unavailable', reason: 'repomd.xml: HTTP 404' }),
    );
    for (const a of out.attempts) expect(a.location.startsWith(mirror.server.url)).toBe(true);
  });

  it('lists every location tried with --verbose', async () => {
    const r = await resolve(['--kernel', '4.18.0-348.5.1.el8_5.x86_64', '--os', 'centos:8', '--verbose']);
    expect(r.code).toBe(3);
    const tried = r.stderr.split('\n').filter((l) => l.startsWith('tried kernel-'));
    expect(tried).toHaveLength(18);
    expect(r.stderr).toContain(`kernel-debuginfo-4.18.0-348.5.1.el8_5.x86_64: repodata ${mirror.server.url}/mirror.facebook.net/centos-debuginfo/8/x86_64/: unavailable (repomd.xml: HTTP 404)`);
  });

  it('suggests the release a dropped dist-tag suffix meant (el8 for el8_5), keeping the arch and flavour', async () => {
    const r = await resolve(['--kernel', '4.18.0-348.7.1.el8.x86_64', '--os', 'centos:8']);
    expect(r.code).toBe(3);
    expect(r.stderr.split('\n')).toContain('did you mean 4.18.0-348.7.1.el8_5.x86_64?');
    expect(r.json().didYouMean).toBe('4.18.0-348.7.1.el8_5.x86_64');
    const debug = await resolve(['--kernel', '4.18.0-348.5.1.el8_5.x86_64+debug', '--os', 'centos:8']);
    expect(debug.code).toBe(3);
    // The fixture has kernel-debug-debuginfo 348.7.1 (and no kernel-debug-devel at all): the suggestion keeps +debug.
    expect(debug.json().didYouMean).toBe('4.18.0-348.7.1.el8_5.x86_64+debug');
  });
});

describe('resolve through the proxy the environment names (the fixture mirror is http://127.0.0.1)', () => {
  const args = ['--kernel', '4.18.0-348.7.1.el8_5.x86_64', '--os', 'centos:8'];
  const served = () => mirror.server.requests.map((q) => `${q.method} ${mirror.server.url}${q.path}`).sort();

  it('sends every request through HTTP_PROXY, repodata included, and finds the same packages', async () => {
    const direct = await resolve(args);
    expect(direct.code).toBe(0);
    const proxy = await startForwardProxy();
    try {
      mirror.server.resetLog();
      const r = await resolve(args, { HTTP_PROXY: proxy.url });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.json()).toEqual(direct.json());
      // Every request the mirror answered came through the proxy, and nothing else went there.
      expect(served().length).toBeGreaterThan(0);
      expect([...proxy.requests].sort()).toEqual(served());
      expect(proxy.seen).toContain(`${mirror.server.url}/debuginfo.centos.org/8/x86_64/repodata/repomd.xml`);
      expect(proxy.seen.some((u) => /\/repodata\/[^/]*primary\.xml\.gz$/.test(u))).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('goes direct to a host in NO_PROXY', async () => {
    const proxy = await startForwardProxy();
    try {
      const r = await resolve(args, { http_proxy: proxy.url, no_proxy: 'localhost,127.0.0.1' });
      expect(r.code).toBe(0);
      expect(mirror.server.requests.length).toBeGreaterThan(0);
      expect(proxy.seen).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('stops with exit 75 and one line naming the proxy, without its password, when the proxy refuses connections', async () => {
    const refusing = (await refusingProxyUrl()).replace('//', '//ann:s3cret@');
    const shown = refusing.replace('ann:s3cret@', '***@');
    const r = await resolve(args, { HTTP_PROXY: refusing });
    expect(r.code).toBe(75);
    const [first, hint, ...rest] = r.stderr.split('\n');
    expect(first).toMatch(
      new RegExp(`^kdebuginfo: proxy ${esc(shown)} \\(HTTP_PROXY\\) refused the connection \\(ECONNREFUSED\\), fetching ${esc(mirror.server.url)}/\\S+/repodata/repomd\\.xml$`),
    );
    expect(hint).toBe("hint: check HTTP_PROXY, or list the mirror's host in NO_PROXY to reach it directly");
    expect(rest.join('')).toBe('');
    expect(r.stderr).not.toContain('s3cret');
    const out = r.json();
    expect(out).toMatchObject({ ok: false, failed: true, rc: 75 });
    expect(out.msg).toBe(first!.replace(/^kdebuginfo: /, ''));
    expect(mirror.server.requests).toEqual([]);
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
