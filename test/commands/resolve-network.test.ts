import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';
import { allSourceHosts } from '../../src/core/sources.js';

/**
 * Resolve when mirrors give no answer at all: a port nothing listens on (ECONNREFUSED) and host
 * names under `.invalid` (RFC 6761: never resolves, so the lookup fails at once, offline too).
 * That is exit 75 naming the hosts, never "not found" (exit 3), which would send the user to
 * check a kernel release that is right.
 */

const KERNEL = '4.18.0-348.7.1.el8_5.x86_64';
const FILES = [`kernel-debuginfo-${KERNEL}.rpm`, `kernel-debuginfo-common-x86_64-${KERNEL}.rpm`, `kernel-devel-${KERNEL}.rpm`];
const NETWORK_HINT = 'hint: no answer from these hosts: check DNS, the firewall and any proxy (HTTPS_PROXY), or name a mirror this host can reach with --mirror FROM=TO';

let mirror: FixtureMirror;
let refused: string;
beforeAll(async () => {
  mirror = await startFixtureMirror();
  // A port that was free a moment ago and has nothing listening now.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  refused = `127.0.0.1:${(server.address() as { port: number }).port}`;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await mirror?.close();
});

/** `--mirror` for each host: to `to(host)`. `--mirror` comes before KDEBUGINFO_MIRROR (the fixture). */
const rewrite = (hosts: readonly string[], to: (host: string) => string) => hosts.flatMap((h) => ['--mirror', `https://${h}=${to(h)}`]);

async function resolve(args: string[]) {
  const started = performance.now();
  const r = await runCli(['resolve', '--kernel', KERNEL, '--os', 'centos:8', '--json', ...args], { env: { KDEBUGINFO_MIRROR: mirror.mirrorEnv } });
  return { ...r, seconds: (performance.now() - started) / 1000 };
}

describe('resolve with no answer from any mirror: exit 75, not "not found"', () => {
  it('every host on a port that refuses connections: exit 75 naming the host and ECONNREFUSED, each origin tried once', async () => {
    const r = await resolve([...rewrite(allSourceHosts(), (h) => `http://${refused}/${h}`), '--verbose']);
    expect(r.code).toBe(75);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('kdebuginfo: ') || l.startsWith('hint: ') || l.startsWith('  '));
    expect(lines[0]).toBe(`kdebuginfo: could not reach any mirror for ${FILES.join(', ')}: ${refused} (ECONNREFUSED)`);
    expect(lines).toContain('  and 20 more (see --json or --verbose)');
    expect(lines.at(-1)).toBe(NETWORK_HINT);
    expect(r.stderr).not.toContain('not found');
    // The dead origin is asked once (with its quick retries); every later location is skipped.
    const requests = r.stderr.split('\n').filter((l) => /^(GET|HEAD) /.test(l));
    expect(requests).toEqual([`GET http://${refused}/debuginfo.centos.org/8/x86_64/repodata/repomd.xml`]);
    const out = r.json();
    expect(out).toMatchObject({ ok: false, rc: 75, outcome: 'network', answered: [], unreachable: [{ host: refused, reason: 'ECONNREFUSED' }], didYouMean: null });
    expect(out.missing.map((m: any) => m.file)).toEqual(FILES);
    expect(out.attempts).toHaveLength(24);
    for (const a of out.attempts) expect(a.outcome).toBe('unreachable');
    // Measured 1-2 s here (three tries within a second, then every location skipped); 30 s is far off.
    expect(r.seconds).toBeLessThan(30);
  });

  it('host names that do not resolve: exit 75 naming every host and ENOTFOUND', async () => {
    const invalid = (h: string) => `${h.replaceAll('.', '-')}.invalid`;
    const hosts = ['debuginfo.centos.org', 'mirror.facebook.net', 'linuxsoft.cern.ch', 'vault.centos.org', 'archive.kernel.org'];
    const r = await resolve(rewrite(allSourceHosts(), (h) => `https://${invalid(h)}`));
    expect(r.code).toBe(75);
    const [first, second] = r.stderr.split('\n');
    expect(first).toBe(`kdebuginfo: could not reach any mirror for ${FILES.join(', ')}: ${hosts.map((h) => `${invalid(h)} (ENOTFOUND)`).join(', ')}`);
    expect(second).toBe('tried 24 locations:');
    expect(r.stderr).toContain(NETWORK_HINT);
    const out = r.json();
    expect(out.outcome).toBe('network');
    expect(out.unreachable).toEqual(hosts.map((h) => ({ host: invalid(h), reason: 'ENOTFOUND' })));
    expect(out.answered).toEqual([]);
    // Measured about 5 s for the five hosts here; the loose bound is far from it.
    expect(r.seconds).toBeLessThan(30);
  });

  it('the devel hosts refuse while the debuginfo host answers: exit 75 for kernel-devel, the others found', async () => {
    const r = await resolve(rewrite(['vault.centos.org', 'archive.kernel.org'], (h) => `http://${refused}/${h}`));
    expect(r.code).toBe(75);
    expect(r.stderr.split('\n')[0]).toBe(`kdebuginfo: could not reach any mirror for ${FILES[2]}: ${refused} (ECONNREFUSED)`);
    const out = r.json();
    expect(out.outcome).toBe('network');
    expect(out.found.map((p: any) => p.file)).toEqual(FILES.slice(0, 2));
    expect(out.missing.map((m: any) => m.file)).toEqual([FILES[2]]);
  });

  it('one debuginfo host refuses and the others answer without the files: exit 3 naming both kinds of host', async () => {
    // The fixture has no copy of mirror.facebook.net or linuxsoft.cern.ch: they answer 404.
    const r = await resolve(rewrite(['debuginfo.centos.org'], (h) => `http://${refused}/${h}`));
    expect(r.code).toBe(3);
    const fixtureHost = new URL(mirror.server.url).host;
    expect(r.stderr.split('\n').slice(0, 3)).toEqual([
      `kdebuginfo: not found on any mirror: ${FILES.slice(0, 2).join(', ')}`,
      `answered without them: ${fixtureHost}`,
      `could not reach: ${refused} (ECONNREFUSED)`,
    ]);
    const out = r.json();
    expect(out).toMatchObject({ outcome: 'not-found', answered: [fixtureHost], unreachable: [{ host: refused, reason: 'ECONNREFUSED' }] });
    expect(out.found.map((p: any) => p.file)).toEqual([FILES[2]]);
  });
});
