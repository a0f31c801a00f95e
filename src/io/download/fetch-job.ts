import { setTimeout as sleep } from 'node:timers/promises';
import { attemptOnce, hostOf } from './attempt.js';
import type { SinkThread } from './sink.js';
import { verifiedByOf } from './verify.js';
import type { DownloadedFile, FailureKind, FileFailure, Job, Settings, UrlFailure } from './types.js';

export type JobResult = { kind: 'ok'; file: DownloadedFile } | { kind: 'failed'; failure: FileFailure } | { kind: 'aborted' };

/** Candidate after candidate: retries on one URL, then the next. */
export async function fetchJob(job: Job, s: Settings, sink: SinkThread): Promise<JobResult> {
  const tried: UrlFailure[] = [];
  let requests = 0;
  let fetched = 0;
  for (const [n, url] of job.item.urls.entries()) {
    const r = await fetchFromUrl(job, url, s, sink);
    requests += r.requests;
    fetched += r.fetched;
    if (r.kind === 'aborted') {
      s.progress.stopped(job.item.file, 'interrupted, partial download kept');
      return { kind: 'aborted' };
    }
    if (r.kind === 'complete') {
      s.progress.done(job.item.file, { size: r.size, fetched, verifiedBy: verifiedByOf(job) });
      return {
        kind: 'ok',
        file: { file: job.item.file, path: job.paths.final, size: r.size, sha256: r.sha256, verifiedBy: verifiedByOf(job), cached: false, url, fetchedBytes: fetched, requests },
      };
    }
    tried.push({ url, kind: r.failure, reason: r.reason });
    const next = job.item.urls[n + 1];
    const msg = `${job.item.file}: ${url}: ${r.reason}`;
    if (next) s.progress.note(`${msg}; trying ${next}`);
    else s.progress.stopped(job.item.file, `${url}: ${r.reason}`);
  }
  if (job.item.urls.length === 0) tried.push({ url: '(none)', kind: 'http', reason: 'no candidate URL' });
  return { kind: 'failed', failure: { file: job.item.file, tried } };
}

type UrlResult = ({ kind: 'complete'; size: number; sha256: string } | { kind: 'give-up'; failure: FailureKind; reason: string } | { kind: 'aborted' }) & {
  requests: number;
  /** Bytes that came over the network from this URL. */
  fetched: number;
};

/** Tries one URL until it gives the file, runs out of retries, or says something final. */
async function fetchFromUrl(job: Job, url: string, s: Settings, sink: SinkThread): Promise<UrlResult> {
  let tries = 0;
  let restarts = 0;
  let requests = 0;
  let fetched = 0;
  for (;;) {
    if (s.signal?.aborted) return { kind: 'aborted', requests, fetched };
    requests++;
    const r = await attemptOnce(job, url, s, sink, (n) => (fetched += n));
    switch (r.kind) {
      case 'complete':
        return { ...r, fetched, requests };
      case 'aborted':
        return { kind: 'aborted', requests, fetched };
      case 'give-up':
        return { kind: 'give-up', failure: r.failure, reason: r.reason, requests, fetched };
      case 'restart':
        // The server's file is not the one the .part came from: begin again at once, but not
        // forever (a mirror whose ETag changes on every request).
        s.progress.note(`${job.item.file}: ${r.reason}; starting over`);
        if (++restarts > 3) return { kind: 'give-up', failure: 'network', reason: `${r.reason} (again after ${restarts - 1} fresh starts)`, requests, fetched };
        continue;
      case 'retry': {
        // A try that moved the file forward resets the count: a link that drops every 100 MB
        // still finishes a 1 GB file, and every try gets closer, so this cannot loop forever.
        if (r.progressed) tries = 0;
        tries++;
        if (tries > s.retries) {
          return { kind: 'give-up', failure: 'network', reason: `${r.reason} (gave up after ${tries} tries)`, requests, fetched };
        }
        let delay = Math.min(s.retryBaseMs * 2 ** (tries - 1), s.retryMaxMs);
        if (r.retryAfterMs !== undefined) {
          if (r.retryAfterMs > s.maxRetryAfterMs) {
            return { kind: 'give-up', failure: 'network', reason: `${r.reason}, asks to come back in ${Math.ceil(r.retryAfterMs / 1000)} s`, requests, fetched };
          }
          delay = Math.max(delay, r.retryAfterMs);
        }
        s.progress.note(`${job.item.file}: ${r.reason} from ${hostOf(url)}; retry ${tries}/${s.retries} in ${(delay / 1000).toFixed(1)} s`);
        try {
          await sleep(delay, undefined, s.signal ? { signal: s.signal } : undefined);
        } catch {
          return { kind: 'aborted', requests, fetched };
        }
        continue;
      }
    }
  }
}
