/**
 * What one doctor check concludes, its four constructors, and the words of a fix that both the
 * RPM checks (doctor.ts) and the Debian/Ubuntu ones (doctor-deb.ts) use.
 */
import type { DoctorFacts, DoctorTarget, Verdict } from './doctor-types.js';
import { isDebFamily } from './debian.js';

export type { CheckStatus, Verdict } from './doctor-types.js';

export const pass = (detail: string): Verdict => ({ status: 'pass', detail });
export const skip = (detail: string): Verdict => ({ status: 'skip', detail });
export const warn = (detail: string, fix: string): Verdict => ({ status: 'warn', detail, fix });
export const fail = (detail: string, fix: string): Verdict => ({ status: 'fail', detail, fix });

/**
 * Which package world the box is: the target's, else the host's os-release (a Debian host whose
 * kernel kdebuginfo cannot read still gets apt's words in its fixes).
 */
export function isDebBox(f: DoctorFacts): boolean {
  if (f.target) return f.target.packaging === 'deb';
  return f.hostOs?.ok === true && isDebFamily(f.hostOs.os.id);
}

/** `dnf install` for the host, `dnf --installroot` for an image root; apt-get (in a chroot for an image) on Debian/Ubuntu. */
export function installCommand(f: DoctorFacts, packages: string[]): string {
  if (isDebBox(f)) return `${f.root === '/' ? '' : `chroot ${f.root} `}apt-get install ${packages.join(' ')}`;
  const root = f.root === '/' ? '' : ` --installroot ${f.root}`;
  return `dnf${root} install ${packages.join(' ')}`;
}

export function kdebuginfoInstall(f: DoctorFacts, t: DoctorTarget): string {
  return `kdebuginfo install --kernel ${t.kernel.uname}${f.root === '/' ? '' : ` --root ${f.root}`}`;
}

