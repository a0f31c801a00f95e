/** Parsers of the small kernel and firmware files doctor reads (lockdown, utsrelease.h, EFI variables, cgroups, modinfo). */

/** The selected mode of a lockdown file: `none [integrity] confidentiality` -> `integrity`. */
export function parseLockdown(text: string): string | undefined {
  return /\[([a-z]+)\]/.exec(text)?.[1];
}

/** `#define UTS_RELEASE "<R>"` from include/generated/utsrelease.h. */
export function parseUtsRelease(text: string): string | undefined {
  return /^\s*#\s*define\s+UTS_RELEASE\s+"([^"]*)"/m.exec(text)?.[1];
}

/**
 * The SecureBoot EFI variable (`efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c`):
 * 4 bytes of attributes, then the value byte, 1 when enabled (UEFI spec, "Globally Defined
 * Variables"; mokutil --sb-state reads the same).
 */
export function parseSecureBootVar(buf: Uint8Array): boolean | undefined {
  if (buf.length < 5) return undefined;
  return buf[4] === 1;
}

/** Which container a process-1 cgroup file or environment says this is; undefined for none. */
export function containerFromCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const path = line.split(':').slice(2).join(':');
    if (/docker/.test(path)) return 'docker';
    if (/libpod/.test(path)) return 'podman';
    if (/kubepods/.test(path)) return 'kubernetes';
    if (/containerd/.test(path)) return 'containerd';
    if (/\/lxc[./]/.test(path) || path.startsWith('/lxc')) return 'lxc';
  }
  return undefined;
}

/** `vermagic=<release> SMP mod_unload ...` in a module's .modinfo: the release it was built for. */
export function parseVermagic(modinfo: Buffer): string | undefined {
  for (const entry of modinfo.toString('latin1').split('\0')) {
    if (entry.startsWith('vermagic=')) return entry.slice('vermagic='.length).trim().split(/\s+/)[0];
  }
  return undefined;
}
