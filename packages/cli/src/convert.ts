/** The conversion: image -> rootfs tree -> EROFS -> packed into the backend's VM module. */
import { existsSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  type Backend,
  BackendError,
  BackendNotBuiltError,
  type BackendRegistry,
  normalizeArch,
} from '@c2w/backend';
import { type FsEntry, FsImageError, type FsTree, writeErofs } from '@c2w/fsimage';
import {
  flattenImage,
  formatPlatform,
  ImageError,
  type Platform,
  parsePlatform,
  parseSourceRef,
  type RootfsTree,
  resolveImage,
  TtyProgress,
} from '@c2w/image';
import {
  EXTERNAL_BUNDLE_GUEST_DIR,
  EXTERNAL_ROOTFS_NAME,
  PackError,
  WasmFormatError,
} from '@c2w/pack';
import { CliError, EXIT, UsageError } from './errors.js';
import { quietSteps, type StepProgress, ttySteps } from './progress.js';

export interface ConvertOptions {
  image: string;
  output: string;
  /** `--target-arch` (OCI, Debian or uname spelling). Default amd64. */
  targetArch?: string;
  /** `--platform os/arch[/variant]`. */
  platform?: string;
  debugImage?: boolean;
  externalBundle?: boolean;
  /** EROFS compression of the rootfs (default none; env C2W_EROFS_COMPRESSION when unset). */
  rootfsCompression?: 'none' | 'lz4';
  /** `--insecure-registry`: true = the image's registry; or a list of hosts. */
  insecureRegistry?: boolean | string[];
  /** Progress on stderr when it is a TTY (default true; --quiet sets false). */
  progress?: boolean;
  registry: BackendRegistry;
}

export interface ConvertResult {
  output: string;
  backend: string;
  platform: string;
  outputBytes: number;
  rootfsBytes: number;
  /** The external rootfs file (--external-bundle). */
  rootfsFile?: string;
  seconds: number;
}

/** Paths to remove if the process is interrupted. */
export const pendingCleanup = new Set<string>();

export function cleanupNow() {
  for (const p of pendingCleanup) rmSync(p, { recursive: true, force: true });
  pendingCleanup.clear();
}

export function targetPlatform(opts: Pick<ConvertOptions, 'targetArch' | 'platform'>): Platform {
  let p: Platform;
  if (opts.platform !== undefined) {
    try {
      p = parsePlatform(opts.platform);
    } catch (e) {
      throw new UsageError(`--platform ${opts.platform}: ${(e as Error).message}`);
    }
    p = { ...p, architecture: normalizeArch(p.architecture) };
    if (opts.targetArch !== undefined && normalizeArch(opts.targetArch) !== p.architecture) {
      throw new UsageError(
        `--target-arch ${opts.targetArch} contradicts --platform ${opts.platform}`,
      );
    }
    return p;
  }
  const arch = normalizeArch(opts.targetArch ?? 'amd64');
  if (arch === '') throw new UsageError('--target-arch: empty architecture');
  return arch === 'arm64'
    ? { os: 'linux', architecture: arch, variant: 'v8' }
    : { os: 'linux', architecture: arch };
}

function pickBackend(registry: BackendRegistry, arch: string): Backend {
  try {
    return registry.readyForArch(arch);
  } catch (e) {
    if (e instanceof BackendNotBuiltError || e instanceof BackendError) {
      throw new CliError(e.message, EXIT.noBackend);
    }
    throw e;
  }
}

/** @c2w/image's tree as @c2w/fsimage's input model. */
export function toFsTree(tree: RootfsTree): FsTree {
  return {
    *entries() {
      for (const [path, e] of tree) {
        const entry: FsEntry = {
          type: e.type,
          mode: e.mode,
          uid: e.uid,
          gid: e.gid,
          mtime: { sec: Number(e.mtime.sec), nsec: e.mtime.nsec },
          xattrs: e.xattrs,
          size: e.size,
          linkTarget: e.linkTarget,
          rdev: e.rdev,
          // path + offset: fsimage reads the spool's byte ranges directly
          content: e.content,
        };
        yield [path, entry] as const;
      }
    },
  };
}

function checkOutput(output: string): void {
  const dir = dirname(output);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CliError(`${output}: directory ${dir} does not exist`);
  }
  if (existsSync(output) && statSync(output).isDirectory()) {
    throw new CliError(`${output}: is a directory`);
  }
}

function describe(e: unknown, image: string): CliError {
  if (e instanceof CliError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof ImageError) return new CliError(msg.includes(image) ? msg : `${image}: ${msg}`);
  if (e instanceof FsImageError) return new CliError(`${image}: cannot build the rootfs: ${msg}`);
  if (e instanceof PackError || e instanceof WasmFormatError) return new CliError(msg);
  const code = (e as NodeJS.ErrnoException).code;
  return new CliError(`${image}: ${msg}${code && !msg.includes(code) ? ` (${code})` : ''}`);
}

/**
 * EROFS compression: none by default (Debian minbase: 201 MB in ~half the time), lz4 on request
 * (133 MB). `C2W_EROFS_COMPRESSION` sets it when the option is not given (benchmarks).
 */
function rootfsCompression(opt: ConvertOptions['rootfsCompression']): 'lz4' | 'none' {
  return (opt ?? process.env.C2W_EROFS_COMPRESSION) === 'lz4' ? 'lz4' : 'none';
}

/** `C2W_TIMING=1`: phase times on stderr (for benchmarks). */
const timing = process.env.C2W_TIMING === '1';
function phase(name: string, since: number): number {
  const now = performance.now();
  if (timing) process.stderr.write(`c2w: timing: ${name} ${((now - since) / 1000).toFixed(3)} s\n`);
  return now;
}

export async function convert(opts: ConvertOptions): Promise<ConvertResult> {
  const t0 = performance.now();
  let t = t0;
  const output = resolve(opts.output);
  const want = targetPlatform(opts);
  // Fail fast, before any download: the backend must exist and be built.
  let backend = pickBackend(opts.registry, want.architecture);
  checkOutput(output);

  const tty = (opts.progress ?? true) && process.stderr.isTTY === true;
  const steps: StepProgress = tty ? ttySteps() : quietSteps;
  const ttyProgress = tty ? new TtyProgress() : undefined;
  let insecureRegistries: string[] | undefined;
  if (opts.insecureRegistry === true) {
    let src: ReturnType<typeof parseSourceRef>;
    try {
      src = parseSourceRef(opts.image);
    } catch (e) {
      throw describe(e, opts.image);
    }
    if (src.kind === 'registry') insecureRegistries = [src.ref.domain];
  } else if (Array.isArray(opts.insecureRegistry)) insecureRegistries = opts.insecureRegistry;

  const tmp = await mkdtemp(join(dirname(output), `.c2w-tmp-${basename(output)}-`));
  pendingCleanup.add(tmp);
  let dispose: (() => Promise<void>) | undefined;
  try {
    let image: Awaited<ReturnType<typeof resolveImage>>;
    let flat: Awaited<ReturnType<typeof flattenImage>>;
    try {
      image = await resolveImage(opts.image, {
        platform: want,
        insecureRegistries,
        progress: ttyProgress,
      });
      // A single-platform image decides the backend by what it is.
      const arch = normalizeArch(image.platform.architecture || want.architecture);
      if (arch !== want.architecture) backend = pickBackend(opts.registry, arch);
      t = phase('resolve', t);
      flat = await flattenImage(image, {
        spoolDir: tmp,
        progress: ttyProgress ?? false,
      });
      dispose = () => flat.dispose();
      t = phase('flatten', t);
    } catch (e) {
      throw describe(e, opts.image);
    }

    const rootfsPath = join(tmp, EXTERNAL_ROOTFS_NAME);
    steps.status(
      `writing the rootfs (EROFS) of ${flat.stats.files} files, ${(flat.stats.bytes / 1e6).toFixed(1)} MB...`,
    );
    try {
      await writeErofs(toFsTree(flat.tree), rootfsPath, {
        compression: rootfsCompression(opts.rootfsCompression),
      });
    } catch (e) {
      throw describe(e, opts.image);
    }
    t = phase('erofs', t);
    await dispose?.();
    dispose = undefined;
    const rootfsBytes = (await stat(rootfsPath)).size;

    const external = opts.externalBundle === true;
    const platform = formatPlatform(image.platform);
    let result: Awaited<ReturnType<Backend['pack']>>;
    try {
      result = await backend.pack({
        output,
        rootfs: external ? { external: true, length: rootfsBytes } : { path: rootfsPath },
        runConfig: flat.runConfig,
        arch: normalizeArch(image.platform.architecture),
        debug: opts.debugImage,
        onProgress: steps.step('packing'),
      });
    } catch (e) {
      throw describe(e, opts.image);
    } finally {
      steps.end();
    }
    t = phase('pack', t);
    let rootfsFile: string | undefined;
    if (external) {
      rootfsFile = join(dirname(output), EXTERNAL_ROOTFS_NAME);
      await rename(rootfsPath, rootfsFile);
    }
    return {
      output,
      backend: backend.name,
      platform,
      outputBytes: result.outputBytes,
      rootfsBytes,
      rootfsFile,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    steps.end();
    await dispose?.().catch(() => {});
    await rm(tmp, { recursive: true, force: true });
    pendingCleanup.delete(tmp);
  }
}

export const EXTERNAL_HINT = (output: string, rootfsFile: string) =>
  `run it with the directory of ${basename(rootfsFile)} mapped at ${EXTERNAL_BUNDLE_GUEST_DIR}, e.g. ` +
  `wasmtime --dir ${dirname(rootfsFile)}::${EXTERNAL_BUNDLE_GUEST_DIR} ${output}`;
