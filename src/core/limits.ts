const MiB = 1024 * 1024;

/**
 * How much a server may send while packages are resolved, in one place. Every body from the
 * network is read against one of these; a body that goes past its limit fails that location
 * with a reason naming the limit, and the resolver goes on to the next method or location, as
 * for a 404. src/io/mirror-client.ts applies them; tests pass lower ones.
 */
export interface ResolveLimits {
  /** repomd.xml. A real one is a few KiB (fixtures/mirror/vault.centos.org/7.9.2009/os/x86_64/repodata/repomd.xml: six entries, 3.6 KiB). */
  repomdBytes: number;
  /**
   * One directory listing page. It is parsed as it arrives and only the links of the package
   * being looked for are kept, so memory does not follow the page; Apache's autoindex spends
   * about 250 bytes a file (fixtures/mirror-server.mjs apacheListing), so 16 MiB is some 65,000
   * files. A page over the limit fails the listing and the HEAD probe is tried next.
   */
  listingBytes: number;
  /**
   * primary.xml, as sent and as decompressed, when repomd.xml does not give its `size` and
   * `open-size` (when it does, those are the limits: a byte more is not the file it describes).
   */
  primaryBytes: number;
  /**
   * One `<package>` element of primary.xml, in characters. Most are 1-3 KiB (bench/resolve.mjs
   * packageXml is a typical one); kernel packages list many provides, so the limit is generous.
   */
  packageElementChars: number;
}

export const RESOLVE_LIMITS: ResolveLimits = {
  repomdBytes: 2 * MiB,
  listingBytes: 16 * MiB,
  primaryBytes: 1024 * MiB,
  packageElementChars: 16 * MiB,
};
