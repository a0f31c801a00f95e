import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorResult } from '../../src/commands/doctor.js';
import { parseMirrorRewrites } from '../../src/core/mirrors.js';
import { makeTestContext } from '../support/context.js';
import { FIXTURE_MIRROR_ROOT, startFixtureMirror, type FixtureMirror } from '../support/fixture-mirror.js';
import { refusingProxyUrl, startForwardProxy, type ForwardProxy } from '../support/forward-proxy.js';

// doctor's mirror check behind a proxy: the HEAD probes take the route the environment names,
// like resolve and download. The root is an image holding only CentOS Stream 9's os-release:
// the mirror check needs a target, nothing installed.
const K = '5.14.0-362.el9.x86_64';
const HEADS = [
  `/mirror.stream.centos.org/9-stream/AppStream/x86_64/os/Packages/kernel-devel-${K}.rpm`,
  `/mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-${K}.rpm`,
  `/mirror.stream.centos.org/9-stream/BaseOS/x86_64/debug/tree/Packages/kernel-debuginfo-common-x86_64-${K}.rpm`,
];

const root = mkdtempSync(join(tmpdir(), 'kdebuginfo-doctor-proxy-'));
mkdirSync(join(root, 'etc'));
copyFileSync(join(FIXTURE_MIRROR_ROOT, '..', 'os-release', 'centos-stream-9'), join(root, 'etc/os-release'));

let mirror: FixtureMirror;
let proxy: ForwardProxy;
beforeAll(async () => {
  mirror = await startFixtureMirror();
  proxy = await startForwardProxy();
});
afterAll(async () => {
  await proxy?.close();
  await mirror?.close();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  mirror.server.resetLog();
  proxy.seen.length = 0;
  proxy.requests.length = 0;
});

async function mirrorCheck(env: Record<string, string>): Promise<DoctorResult['checks'][number]> {
  const t = makeTestContext({ env: { HOME: '/home/tester', ...env }, isRoot: true });
  const r = await runDoctor(t.ctx, {
    root,
    kernel: K,
    offline: false,
    rewrites: parseMirrorRewrites(mirror.mirrorEnv.split(','), 'KDEBUGINFO_MIRROR'),
    userAgent: 'kdebuginfo-test',
  });
  const check = r.checks.find((c) => c.id === 'mirrors');
  expect(check).toBeDefined();
  return check!;
}

describe('doctor mirror checks through a proxy', () => {
  it('HEADs the first candidate of each package through HTTP_PROXY', async () => {
    const check = await mirrorCheck({ HTTP_PROXY: proxy.url });
    expect(check).toMatchObject({ status: 'pass', detail: `first location of each package answers: ${new URL(mirror.server.url).host}` });
    expect([...proxy.requests].sort()).toEqual(HEADS.map((p) => `HEAD ${mirror.server.url}${p}`));
    expect(mirror.server.requests.map((q) => `${q.method} ${q.path} ${q.status}`).sort()).toEqual(HEADS.map((p) => `HEAD ${p} 200`));
  });

  it('goes direct to a host in NO_PROXY', async () => {
    const check = await mirrorCheck({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    expect(check.status).toBe('pass');
    expect(mirror.server.requests).toHaveLength(3);
    expect(proxy.seen).toEqual([]);
  });

  it('a proxy that refuses connections is a warning naming the proxy, without its password', async () => {
    const refusing = (await refusingProxyUrl()).replace('//', '//ann:s3cret@');
    const shown = refusing.replace('ann:s3cret@', '***@');
    const check = await mirrorCheck({ HTTP_PROXY: refusing });
    expect(check.status).toBe('warn');
    const reason = `proxy ${shown} (HTTP_PROXY) refused the connection (ECONNREFUSED)`;
    // `<file>: <url>: <reason>` per package, `; `-separated, in the order of the plan.
    const order = [HEADS[1]!, HEADS[2]!, HEADS[0]!];
    expect(check.detail).toBe(order.map((p) => `${p.slice(p.lastIndexOf('/') + 1)}: ${mirror.server.url}${p}: ${reason}`).join('; '));
    expect(check.detail).not.toContain('s3cret');
    expect(mirror.server.requests).toEqual([]);
  });
});
