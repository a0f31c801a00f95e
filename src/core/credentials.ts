/**
 * Every `scheme://user:password@` in `text` shown as `scheme://***@`: a proxy's credentials
 * (HTTPS_PROXY=http://ann:s3cret@proxy:3128) and a mirror's (--mirror FROM=https://user:token@nexus/...)
 * never reach stdout, stderr or --json. The real URL is still the one requested. The userinfo
 * runs to the last `@` before the host's end (`/`, `?`, `#` or white space), as the WHATWG URL
 * parser reads it, so a password holding `@` is hidden whole.
 */
export function maskUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/gi, '$1***@');
}
