// The download engine lives in src/io/download/ (engine, one attempt, part files and sidecars,
// the sink thread); this is its public face, so importers need not know the layout.
export { downloadVerified, inspectCache, estimateUnpackedBytes, UNPACKED_FACTOR } from './download/engine.js';
export type { DownloadItem, DownloadOptions, DownloadedFile, FailureKind, FileFailure, UrlFailure } from './download/types.js';
