import { fileURLToPath } from 'node:url';
import { startMirrorServer, type MirrorServer } from '../../fixtures/mirror-server.mjs';
import { allSourceHosts } from '../../src/core/sources.js';

export const FIXTURE_MIRROR_ROOT = fileURLToPath(new URL('../../fixtures/mirror', import.meta.url));

export interface FixtureMirror {
  server: MirrorServer;
  /** KDEBUGINFO_MIRROR value rewriting every host of the source table to the local server. */
  mirrorEnv: string;
  close(): Promise<void>;
}

/**
 * The fixture mirror on a local port. Every host the source table names is rewritten to it
 * (hosts the fixture tree has no copy of answer 404 there), so no test can reach a real mirror.
 */
export async function startFixtureMirror(): Promise<FixtureMirror> {
  const server = await startMirrorServer({ root: FIXTURE_MIRROR_ROOT });
  const mirrorEnv = allSourceHosts()
    .map((h) => `https://${h}=${server.url}/${h}`)
    .join(',');
  return { server, mirrorEnv, close: () => server.close() };
}
