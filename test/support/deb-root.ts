/**
 * Debian/Ubuntu image roots for tests, made with the real tools: small but real .deb packages
 * built with `dpkg-deb` in the layout Debian's own kernel packages use, installed with real
 * `dpkg --root` (so `<root>/var/lib/dpkg/status` is dpkg's own), and a debug vmlinux that is a
 * real ELF linked by gcc with a chosen GNU build-id.
 *
 * The package shapes follow Debian 12 (`dpkg -L` of linux-image-6.1.0-56-cloud-amd64-dbg and
 * linux-headers-6.1.0-56-cloud-amd64, fixtures/captured/apt/dpkg-listfiles-vmlinux.txt):
 *  - linux-image-<R>-dbg: /usr/lib/debug/boot/vmlinux-<R> and the links
 *    /usr/lib/debug/lib/modules/<R>/vmlinux -> ../../../boot/vmlinux-<R> and /usr/lib/debug/vmlinux-<R>;
 *  - linux-headers-<R>: /usr/src/linux-headers-<R>/include/generated/utsrelease.h, .config, and
 *    the link /lib/modules/<R>/build -> /usr/src/linux-headers-<R>;
 *  - linux-image-<R>: /boot/vmlinuz-<R> and /lib/modules/<R>/modules.order (the image's build).
 * Ubuntu names its debug package linux-image-unsigned-<R>-dbgsym with the same vmlinux path.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';

export type DebFile = string | { symlink: string } | { vmlinuxBuildId: string } | { executable: string };

export interface DebSpec {
  name: string;
  version: string;
  arch?: string;
  depends?: string;
  /** The control file's Source field (`linux` for the kernel's packages); left out when not given. */
  source?: string;
  /** Absolute path in the installed system -> contents. */
  files: Record<string, DebFile>;
}

function run(argv: string[], what: string): string {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', env: { PATH: process.env.PATH, LC_ALL: 'C', HOME: process.env.HOME } });
  if (r.status !== 0) throw new Error(`${what}: ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A real ELF shared object carrying `.note.gnu.build-id` = buildId (40 hex digits), linked by gcc. */
export function buildIdElf(path: string, buildId: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'kdebuginfo-elf-'));
  try {
    writeFileSync(join(dir, 'v.c'), '/* kdebuginfo test fixture: not a kernel */\nint kdebuginfo_fixture(void) { return 0; }\n');
    mkdirSync(dirname(path), { recursive: true });
    run(['gcc', '-shared', '-nostdlib', '-fPIC', `-Wl,--build-id=0x${buildId}`, '-o', path, join(dir, 'v.c')], 'linking a build-id ELF');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Build `<dir>/<name>_<version>_<arch>.deb` with dpkg-deb; returns its path. */
export function buildDeb(dir: string, spec: DebSpec): string {
  const arch = spec.arch ?? 'amd64';
  const stage = mkdtempSync(join(tmpdir(), 'kdebuginfo-deb-'));
  mkdirSync(join(stage, 'DEBIAN'));
  const control = [
    `Package: ${spec.name}`,
    ...(spec.source ? [`Source: ${spec.source}`] : []),
    `Version: ${spec.version}`,
    `Architecture: ${arch}`,
    'Maintainer: kdebuginfo tests <tests@example.invalid>',
    ...(spec.depends ? [`Depends: ${spec.depends}`] : []),
    'Section: kernel',
    'Priority: optional',
    'Description: kdebuginfo test fixture (not a real kernel package)',
  ];
  writeFileSync(join(stage, 'DEBIAN/control'), `${control.join('\n')}\n`);
  for (const [abs, content] of Object.entries(spec.files)) {
    const p = join(stage, abs);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof content === 'string') writeFileSync(p, content);
    else if ('symlink' in content) symlinkSync(content.symlink, p);
    else if ('executable' in content) {
      writeFileSync(p, content.executable);
      chmodSync(p, 0o755);
    } else buildIdElf(p, content.vmlinuxBuildId);
  }
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${spec.name}_${spec.version}_${arch}.deb`);
  try {
    run(['dpkg-deb', '--root-owner-group', '-Zgzip', '--build', stage, out], 'building a .deb');
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return out;
}

/** Install .debs into `root` with the real dpkg (`dpkg --root`), making dpkg's database there first. */
export function dpkgInstall(root: string, debs: string[]): void {
  const admin = join(root, 'var/lib/dpkg');
  for (const d of ['info', 'updates']) mkdirSync(join(admin, d), { recursive: true });
  if (!existsSync(join(admin, 'status'))) writeFileSync(join(admin, 'status'), '');
  if (debs.length === 0) return;
  run(['dpkg', `--root=${root}`, '--force-not-root', '--log=/dev/null', '-i', ...debs], 'dpkg --root -i');
}

/** Remove a package from `root` with the real dpkg (files and status entry). */
export function dpkgRemove(root: string, names: string[]): void {
  run(['dpkg', `--root=${root}`, '--force-not-root', '--log=/dev/null', '--purge', ...names], 'dpkg --root --purge');
}

/** The kernel packages of release R at a version, in Debian's (or Ubuntu's) names and layout. */
export function kernelDebs(R: string, version: string, o: { buildId: string; family?: 'debian' | 'ubuntu'; utsRelease?: string }): Record<'image' | 'debuginfo' | 'headers', DebSpec> {
  const ubuntu = o.family === 'ubuntu';
  return {
    image: {
      name: `linux-image-${R}`,
      version,
      files: { [`/boot/vmlinuz-${R}`]: `kdebuginfo fixture image of ${R}\n`, [`/lib/modules/${R}/modules.order`]: '' },
    },
    debuginfo: {
      name: ubuntu ? `linux-image-unsigned-${R}-dbgsym` : `linux-image-${R}-dbg`,
      version,
      files: {
        [`/usr/lib/debug/boot/vmlinux-${R}`]: { vmlinuxBuildId: o.buildId },
        [`/usr/lib/debug/lib/modules/${R}/vmlinux`]: { symlink: `../../../boot/vmlinux-${R}` },
        ...(ubuntu ? {} : { [`/usr/lib/debug/vmlinux-${R}`]: { symlink: `boot/vmlinux-${R}` } }),
      },
    },
    headers: {
      name: `linux-headers-${R}`,
      version,
      files: {
        [`/usr/src/linux-headers-${R}/include/generated/utsrelease.h`]: `#define UTS_RELEASE "${o.utsRelease ?? R}"\n`,
        [`/usr/src/linux-headers-${R}/.config`]: '# fixture .config\nCONFIG_MODULES=y\n',
        [`/lib/modules/${R}/build`]: { symlink: `/usr/src/linux-headers-${R}` },
      },
    },
  };
}
