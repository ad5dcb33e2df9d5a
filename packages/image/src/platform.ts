import { ImageError } from './errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, Platform> = {
  amd64: { os: 'linux', architecture: 'amd64' },
  x86_64: { os: 'linux', architecture: 'amd64' },
  'x86-64': { os: 'linux', architecture: 'amd64' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
  arm64: { os: 'linux', architecture: 'arm64' },
  aarch64: { os: 'linux', architecture: 'arm64' },
  arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
  armv7: { os: 'linux', architecture: 'arm', variant: 'v7' },
  armv7l: { os: 'linux', architecture: 'arm', variant: 'v7' },
  armhf: { os: 'linux', architecture: 'arm', variant: 'v7' },
  armv6: { os: 'linux', architecture: 'arm', variant: 'v6' },
  armel: { os: 'linux', architecture: 'arm', variant: 'v6' },
  '386': { os: 'linux', architecture: '386' },
  i386: { os: 'linux', architecture: '386' },
  i686: { os: 'linux', architecture: '386' },
  x86: { os: 'linux', architecture: '386' },
  ppc64le: { os: 'linux', architecture: 'ppc64le' },
  ppc64el: { os: 'linux', architecture: 'ppc64le' },
  s390x: { os: 'linux', architecture: 's390x' },
  mips64le: { os: 'linux', architecture: 'mips64le' },
  mips64el: { os: 'linux', architecture: 'mips64le' },
};

/** The kernel's `uname -m` for a platform (what the guest reports). */
export function unameMachine(p: Platform): string {
  switch (p.architecture) {
    case 'amd64':
      return 'x86_64';
    case 'arm64':
      return 'aarch64';
    case 'arm':
      return p.variant === 'v6' ? 'armv6l' : 'armv7l';
    case '386':
      return 'i686';
    case 'mips64le':
      return 'mips64';
    default:
      return p.architecture;
  }
}

/**
 * Parses a `--target-arch` value: an alias (amd64, x86_64, riscv64, arm64, aarch64, arm, armv6,
 * armv7, 386, i386, ppc64le, s390x, mips64le) or `[os/]arch[/variant]`.
 */
export function parsePlatform(spec: string): Platform {
  const s = spec.trim().toLowerCase();
  const alias = ARCH_ALIASES[s];
  if (alias) return { ...alias };
  const parts = s.split('/');
  let os = 'linux';
  if (parts.length === 3 || (parts.length === 2 && !ARCH_ALIASES[parts[0] as string]))
    os = parts.shift() as string;
  const arch = ARCH_ALIASES[parts[0] ?? ''];
  if (!arch || parts.length > 2 || os !== 'linux') {
    throw new ImageError(
      `unsupported target architecture ${JSON.stringify(spec)} (one of: ${Object.keys(ARCH_ALIASES).join(', ')})`,
    );
  }
  const variant = parts[1] ?? arch.variant;
  const p: Platform = { os, architecture: arch.architecture };
  if (variant && !(arch.architecture === 'arm64' && variant === 'v8')) p.variant = variant;
  return p;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Score of a candidate for a wanted platform: -1 = no match, higher = better. */
export function platformScore(want: Platform, have: Partial<Platform> | undefined): number {
  if (!have?.architecture) return -1;
  if ((have.os ?? 'linux') !== want.os) return -1;
  if (normArch(have.architecture) !== want.architecture) return -1;
  const hv = normVariant(want.architecture, have.variant);
  const wv = normVariant(want.architecture, want.variant);
  if (hv === wv) return 2;
  if (!wv || !hv) return 1;
  // arm: a v7 machine runs v6 and v5 code
  if (want.architecture === 'arm' && wv > hv) return 0;
  return -1;
}

function normArch(a: string): string {
  return ARCH_ALIASES[a.toLowerCase()]?.architecture ?? a;
}

function normVariant(arch: string, v: string | undefined): string | undefined {
  if (!v) return undefined;
  if (arch === 'arm64' && v === 'v8') return undefined;
  return v;
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };
