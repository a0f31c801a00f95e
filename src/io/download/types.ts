import type { Got } from 'got';
import type { Exec } from '../exec.js';
import type { SpaceNeed } from '../cache.js';
import type { Progress } from '../progress.js';
import type { PackageRole } from '../../core/types.js';

/** One file to fetch: what the resolver found (ResolvedPackage fits). */
export interface DownloadItem {
  /** File name in the cache, e.g. `kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm`. */
  file: string;
  /** Candidate URLs, best first: the resolved URL, then the other mirrors. */
  urls: readonly string[];
  /** Size from repodata or a HEAD probe; null when no one said. */
  size: number | null;
  /** From repodata; null when only a listing or a probe found the file (then rpm's own digests decide). */
  checksum: { type: string; value: string } | null;
  /** For the unpacked-size estimate of the free-space check; default: counted as debuginfo. */
  role?: PackageRole;
}

export interface DownloadOptions {
  cacheDir: string;
  /** Runs `rpmkeys` for files without a repodata checksum. */
  exec: Exec;
  userAgent: string;
  /** For HTTPS_PROXY / HTTP_PROXY / NO_PROXY (and lower-case forms). */
  env?: Record<string, string | undefined>;
  /** Files fetched at once (default 3). */
  parallel?: number;
  /** Retries per URL after the first try, on connection errors, idle timeouts, 408, 429 and 5xx (default 5). */
  retries?: number;
  /** Connect timeout (default 15 s). */
  connectTimeoutMs?: number;
  /** No byte for this long: the try failed (default 30 s). Never a total timeout: 1 GB may take an hour. */
  idleTimeoutMs?: number;
  /** First backoff delay; doubles per retry (default 1 s). */
  retryBaseMs?: number;
  /** Backoff cap (default 30 s). */
  retryMaxMs?: number;
  /** A Retry-After longer than this: give up on that mirror and try the next (default 120 s). */
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
  progress?: Progress;
  /** When the files will be installed under this root: also check room for the unpacked install. */
  installRoot?: string;
  /** Other space the caller will need (a --dest copy, a bundle), checked in the same go. */
  extraSpace?: readonly SpaceNeed[];
  debug?: (line: string) => void;
  /**
   * The most a body is allowed when no one gave its size (no size from repodata, no
   * Content-Length or Content-Range total): past it the try fails and the next mirror is tried
   * (default UNKNOWN_SIZE_CAP_BYTES, 4 GiB). A body whose size is known stops at that size.
   */
  unknownSizeCapBytes?: number;
}

export interface DownloadedFile {
  file: string;
  /** Absolute path in the cache. */
  path: string;
  size: number;
  sha256: string;
  /** `sha256` (or the repodata checksum type), or `rpm digests`. */
  verifiedBy: string;
  /** Was it already in the cache (nothing fetched)? */
  cached: boolean;
  /** The URL it came from; null when cached. */
  url: string | null;
  /** Bytes that came over the network in this run (less than size after a resume). */
  fetchedBytes: number;
  /** HTTP requests made for it in this run. */
  requests: number;
}

export type FailureKind = 'network' | 'http' | 'checksum';

export interface UrlFailure {
  url: string;
  kind: FailureKind;
  reason: string;
}

export interface FileFailure {
  file: string;
  tried: UrlFailure[];
}

// --- Inside the engine ------------------------------------------------------------------------

/** Where one item lives in the cache. */
export interface Paths {
  final: string;
  part: string;
  sidecar: string;
}

export interface Job {
  item: DownloadItem;
  paths: Paths;
  /** Hash algorithm that decides, or null for rpm's digests. */
  algo: string | null;
}

/** The options with their defaults applied, and the one HTTP client of a downloadVerified call. */
export interface Settings {
  http: Got;
  exec: Exec;
  progress: Progress;
  signal: AbortSignal | undefined;
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxRetryAfterMs: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  unknownSizeCapBytes: number;
  /** For the free-space check while a body of unknown size grows. */
  cacheDir: string;
  debug: (line: string) => void;
}

/** How one HTTP request for a file ended. */
export type AttemptResult =
  | { kind: 'complete'; size: number; sha256: string }
  | { kind: 'retry'; reason: string; progressed: boolean; retryAfterMs?: number | undefined }
  | { kind: 'restart'; reason: string }
  | { kind: 'give-up'; failure: FailureKind; reason: string }
  | { kind: 'aborted' };
