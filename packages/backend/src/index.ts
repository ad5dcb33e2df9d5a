/**
 * Backends: a backend is an emulator built as a pre-booted VM module (a Wizer snapshot of a
 * Linux guest waiting at the contract's ready point) plus the code that packs an image into it.
 * Each backend is its own package (`@c2w/backend-<name>`) exporting a `backend` object; the
 * registry picks one by the image's target architecture. See docs/backends.md.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  encodeRecords,
  encodeRunConfig,
  type ImageRunConfig,
  type PackResult,
  packModule,
  type RootfsInput,
} from '@c2w/pack';

/** OCI architecture names (the `architecture` of an image config / platform). */
export type Arch =
  | 'amd64'
  | 'arm64'
  | 'arm'
  | '386'
  | 'ppc64le'
  | 's390x'
  | 'riscv64'
  | 'mips64le'
  | string;

export interface BackendPackRequest {
  /** Where to write the packed module. */
  output: string;
  /** The rootfs: an EROFS image file, bytes, or external (`--external-bundle`). */
  rootfs: RootfsInput | null;
  /** The image's run config (Entrypoint, Cmd, Env, WorkingDir, User). */
  runConfig: ImageRunConfig;
  /** The image's architecture (a backend serving several arches may need it). */
  arch: Arch;
  /** `--debug-image`: init logs its steps on stderr. */
  debug?: boolean;
  onProgress?: (written: number, total: number) => void;
}

export interface Backend {
  /** Short name: `riscv64`, `bochs`, ... */
  readonly name: string;
  readonly description: string;
  /** OCI architectures this backend runs images of. */
  readonly arches: readonly Arch[];
  /** Path of the pre-booted VM module (it may not exist: see `missing()`). */
  vmModulePath(): string;
  /** Licence texts (and source notes) of what the VM module contains (kernel, emulator, ...). */
  licenseFiles(): string[];
  /** Why this backend cannot pack now (its artifact is not built), or undefined when ready. */
  missing(): string | undefined;
  /** Packs an image into the VM module. */
  pack(req: BackendPackRequest): Promise<PackResult>;
}

export class BackendError extends Error {
  override name = 'BackendError';
}

/** The backend's artifact (its pre-booted VM module) is not built. */
export class BackendNotBuiltError extends BackendError {
  override name = 'BackendNotBuiltError';
}

/** Custom section of a packed module holding the licence texts of what its VM contains. */
export const LICENSES_SECTION = 'c2w.licenses';

/** The licence files as one text: `==> NAME <==` then the file, for each. */
export function licenseText(files: string[]): Uint8Array {
  const parts = files.map((f) => `==> ${basename(f)} <==\n${readFileSync(f, 'utf8')}\n`);
  return new TextEncoder().encode(parts.join(''));
}

export interface BackendSpec {
  name: string;
  description: string;
  arches: readonly Arch[];
  /** The VM module: a path, or a function giving it (evaluated on use). */
  vmModule: string | (() => string);
  /** A directory whose files are the licence texts, or a list of files. */
  licenses?: string | string[] | (() => string[]);
  /** The command that builds the VM module (shown when it is missing). */
  buildHint: string;
  /** Extra records for the run config (after the image's), e.g. for binfmt backends. */
  extraRecords?: (req: BackendPackRequest) => readonly (readonly [string, string])[];
}

/** A backend whose pack step is the standard one: @c2w/pack's rewriter over its VM module. */
export function defineBackend(spec: BackendSpec): Backend {
  const vmModulePath = () => (typeof spec.vmModule === 'string' ? spec.vmModule : spec.vmModule());
  const missing = () => {
    const p = vmModulePath();
    if (existsSync(p) && statSync(p).isFile()) return undefined;
    return `the ${spec.name} backend's VM module is not built (${p}); build it with \`${spec.buildHint}\``;
  };
  const licenseFiles = (): string[] => {
    const l = spec.licenses;
    if (l === undefined) return [];
    if (typeof l === 'function') return l();
    if (Array.isArray(l)) return l.filter((f) => existsSync(f));
    if (!existsSync(l)) return [];
    return readdirSync(l)
      .sort()
      .map((f) => join(l, f))
      .filter((f) => statSync(f).isFile());
  };
  return {
    name: spec.name,
    description: spec.description,
    arches: spec.arches,
    vmModulePath,
    missing,
    licenseFiles,
    async pack(req) {
      const why = missing();
      if (why) throw new BackendNotBuiltError(why);
      let config = encodeRunConfig(req.runConfig, { debug: req.debug });
      const extra = spec.extraRecords?.(req) ?? [];
      if (extra.length) {
        const more = encodeRecords(extra);
        const both = new Uint8Array(config.length + more.length);
        both.set(config);
        both.set(more, config.length);
        config = both;
      }
      const licenses = licenseFiles();
      return packModule({
        module: vmModulePath(),
        output: req.output,
        rootfs: req.rootfs,
        config,
        customSections: licenses.length
          ? [{ name: LICENSES_SECTION, data: licenseText(licenses) }]
          : [],
        onProgress: req.onProgress,
      });
    },
  };
}

const ALIASES: Record<string, Arch> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armv7: 'arm',
  armv7l: 'arm',
  i386: '386',
  i686: '386',
  x86: '386',
  riscv: 'riscv64',
  ppc64el: 'ppc64le',
  mips64el: 'mips64le',
};

/** OCI name of an architecture given in OCI, Debian or `uname -m` spelling. */
export function normalizeArch(arch: string): Arch {
  const a = arch.trim().toLowerCase();
  return ALIASES[a] ?? a;
}

export class BackendRegistry {
  private backends: Backend[] = [];

  register(backend: Backend): this {
    if (this.backends.some((b) => b.name === backend.name)) {
      throw new BackendError(`backend ${backend.name} is registered twice`);
    }
    this.backends.push(backend);
    return this;
  }

  list(): readonly Backend[] {
    return this.backends;
  }

  get(name: string): Backend {
    const b = this.backends.find((x) => x.name === name);
    if (!b) throw new BackendError(`no backend named ${name} (known: ${this.names()})`);
    return b;
  }

  /** Every architecture some registered backend serves. */
  arches(): Arch[] {
    return [...new Set(this.backends.flatMap((b) => b.arches))];
  }

  /**
   * The backend for an image architecture (first registered wins). Throws a BackendError naming
   * the supported arches when none serves it; does not check that its artifact is built.
   */
  forArch(arch: string): Backend {
    const a = normalizeArch(arch);
    const b = this.backends.find((x) => x.arches.includes(a));
    if (!b) {
      throw new BackendError(
        `no backend for target architecture ${arch} (supported: ${this.arches().join(', ') || 'none'})`,
      );
    }
    return b;
  }

  /** forArch, and the backend must be ready to pack (its VM module built). */
  readyForArch(arch: string): Backend {
    const b = this.forArch(arch);
    const why = b.missing();
    if (why) throw new BackendNotBuiltError(why);
    return b;
  }

  private names() {
    return this.backends.map((b) => b.name).join(', ') || 'none';
  }
}

/** The repository checkout that contains a package directory (the one with nx.json), if any. */
export function findWorkspaceRoot(from: string): string | undefined {
  let d = from;
  for (;;) {
    if (existsSync(join(d, 'nx.json')) && existsSync(join(d, 'emulators'))) return d;
    const up = join(d, '..');
    if (up === d) return undefined;
    d = up;
  }
}
