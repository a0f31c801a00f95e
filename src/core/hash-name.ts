/**
 * Repodata checksum types (`<checksum type="...">` in repomd.xml and primary.xml) as Node's
 * crypto hash names. createrepo writes `sha256` today; old createrepo wrote `sha` for SHA-1
 * (EL5-era repositories) and could be told `md5`.
 */
const NODE_HASH_OF_REPODATA_TYPE: Readonly<Record<string, string>> = {
  sha: 'sha1',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  md5: 'md5',
};

/** The Node hash name for a repodata checksum type (any case), or undefined when we know none. */
export function nodeHashName(repodataType: string): string | undefined {
  return Object.hasOwn(NODE_HASH_OF_REPODATA_TYPE, repodataType.toLowerCase()) ? NODE_HASH_OF_REPODATA_TYPE[repodataType.toLowerCase()] : undefined;
}
