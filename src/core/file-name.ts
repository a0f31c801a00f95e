/**
 * A package file name we are willing to write to disk, build a URL from, or paste into an
 * installer script: it comes from repodata, a listing page or a bundle manifest, none of which
 * is ours. A plain name (no `/`, so no `..` path), starting with a letter or digit (never `-`,
 * which a tool would take for an option, nor `.`), made of the characters RPM and Debian file
 * names use (`~` and `^` are RPM version operators; apt writes an epoch's `:` as `%3a`, which is
 * refused here, as kernels carry none), and no longer than a file name may be (NAME_MAX, 255).
 */
export function isSafeFileName(name: string): boolean {
  return name.length <= 255 && /^[A-Za-z0-9][A-Za-z0-9._+~^-]*$/.test(name);
}
