/**
 * Runs a c2w module on Node's built-in WASI (preview1), for people who have only Node.
 *
 * - stdin is fd 0 read synchronously by uvwasi, so interactive shells work;
 * - `returnOnExit: false`: the module's proc_exit ends this process with its status (Node 20
 *   crashed once with `true` after an emulated guest powered off);
 * - V8 needs `--no-incremental-marking` for large emulator modules (Node 20 crashed in GC during
 *   early memory.grow without it): `nodeFlagsMissing()` / `reexecWithNodeFlags()`.
 * - the riscv64 machine's hot code pages are compiled to wasm and run by V8 (./page-compiler.ts;
 *   `pageCompiler: false` or C2W_PAGE_COMPILER=0 in this process's environment turn it off);
 * - an `--external-bundle` module gets the preopen `/.c2w-bundle` (the directory holding its
 *   `rootfs.erofs`, by default the module's own directory) added after the user's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { EXTERNAL_BUNDLE_GUEST_DIR, EXTERNAL_ROOTFS_NAME, readFooter } from '@c2w/pack';
import { pageCompilerTarget, withPageCompiler } from './page-compiler.js';

export { PAGE_COMPILER_FD, pageCompilerTarget, withPageCompiler } from './page-compiler.js';

// The WebAssembly JS API (not in this project's TS libs).
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<object>;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export class RunError extends Error {
  override name = 'RunError';
}

export interface DirMapping {
  host: string;
  guest: string;
}

export interface RunOptions {
  module: string;
  /** Arguments after argv[0]. */
  args?: string[];
  /** argv[0] (default: the module's file name). */
  argv0?: string;
  /** The module's whole environment, in order. */
  env?: [string, string][];
  /** Preopened directories, in order (the n-th is 9p entry n in the guest). */
  dirs?: DirMapping[];
  /** Directory holding rootfs.erofs for an external-bundle module (default: the module's). */
  bundleDir?: string;
  /** Return the exit status instead of exiting the process (not advised for emulators). */
  returnOnExit?: boolean;
  /** Let the machine compile hot guest code to wasm (default: unless C2W_PAGE_COMPILER=0). */
  pageCompiler?: boolean;
}

export const NODE_FLAGS = ['--no-incremental-marking'] as const;

/** Node flags this process lacks for running large emulator modules safely. */
export function nodeFlagsMissing(): string[] {
  return NODE_FLAGS.filter((f) => !process.execArgv.includes(f));
}

/**
 * Re-runs this Node process with the flags it lacks (stdio inherited, so a terminal stays
 * interactive) and exits with the child's status. Returns only when nothing is missing.
 */
export function reexecWithNodeFlags(): void {
  const missing = nodeFlagsMissing();
  if (missing.length === 0) return;
  const r = spawnSync(
    process.execPath,
    [...missing, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
    },
  );
  if (r.error) throw new RunError(`cannot re-run node: ${r.error.message}`);
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}

/** Parses `HOST::GUEST` (or `DIR`, mapped at the same path), checking the host directory. */
export function parseDir(spec: string): DirMapping {
  const sep = spec.indexOf('::');
  const host = sep >= 0 ? spec.slice(0, sep) : spec;
  const guest = sep >= 0 ? spec.slice(sep + 2) : spec;
  if (!host || !guest) throw new RunError(`--dir ${spec}: expected HOST::GUEST`);
  if (!existsSync(host) || !statSync(host).isDirectory()) {
    throw new RunError(`--dir ${spec}: ${host} is not a directory`);
  }
  return { host: resolve(host), guest };
}

/** Parses `K=V` (or `K`, taking this process's value). */
export function parseEnv(spec: string): [string, string] {
  const eq = spec.indexOf('=');
  const k = eq >= 0 ? spec.slice(0, eq) : spec;
  if (!k) throw new RunError(`--env ${spec}: empty name`);
  if (eq >= 0) return [k, spec.slice(eq + 1)];
  const v = process.env[k];
  if (v === undefined) throw new RunError(`--env ${spec}: ${k} is not set here`);
  return [k, v];
}

/** Keeps Node's "WASI is experimental" warning off the module's stderr. */
function silenceExperimentalWarning() {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const first = rest[0] as string | { type?: string } | undefined;
    const type = typeof first === 'string' ? first : first?.type;
    if (type === 'ExperimentalWarning' || (warning as Error)?.name === 'ExperimentalWarning')
      return;
    (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
}

/** Runs the module. With returnOnExit false (default) this does not return: the process exits. */
export async function runModule(opts: RunOptions): Promise<number> {
  const { module } = opts;
  if (!existsSync(module) || !statSync(module).isFile())
    throw new RunError(`${module}: no such module file`);
  const preopens: Record<string, string> = {};
  for (const d of opts.dirs ?? []) {
    if (d.guest in preopens)
      throw new RunError(`--dir ${d.host}::${d.guest}: ${d.guest} is mapped twice`);
    preopens[d.guest] = d.host;
  }
  let footer: Awaited<ReturnType<typeof readFooter>>;
  try {
    footer = await readFooter(module);
  } catch (e) {
    throw new RunError(`${module}: not a wasm module (${(e as Error).message})`);
  }
  if (footer?.external && !(EXTERNAL_BUNDLE_GUEST_DIR in preopens)) {
    const dir = resolve(opts.bundleDir ?? dirname(module));
    if (!existsSync(resolve(dir, EXTERNAL_ROOTFS_NAME))) {
      throw new RunError(
        `${module}: its rootfs is external and ${resolve(dir, EXTERNAL_ROOTFS_NAME)} does not exist`,
      );
    }
    preopens[EXTERNAL_BUNDLE_GUEST_DIR] = dir;
  }
  silenceExperimentalWarning();
  const { WASI } = await import('node:wasi');
  let compiled: object;
  try {
    compiled = await Wasm.compile(readFileSync(module));
  } catch (e) {
    throw new RunError(`${module}: not a valid wasm module: ${(e as Error).message}`);
  }
  const wasi = new WASI({
    version: 'preview1',
    args: [opts.argv0 ?? basename(module), ...(opts.args ?? [])],
    env: Object.fromEntries(opts.env ?? []),
    preopens,
    returnOnExit: opts.returnOnExit ?? false,
  });
  let instance: object | undefined;
  const imports = wasi.getImportObject() as Record<string, Record<string, unknown>>;
  if (opts.pageCompiler ?? process.env.C2W_PAGE_COMPILER !== '0') {
    imports.wasi_snapshot_preview1 = withPageCompiler(imports.wasi_snapshot_preview1 ?? {}, () =>
      pageCompilerTarget((instance as { exports: Record<string, unknown> }).exports),
    );
  }
  try {
    instance = await Wasm.instantiate(compiled, imports);
  } catch (e) {
    throw new RunError(`${module}: cannot instantiate: ${(e as Error).message}`);
  }
  const status = wasi.start(instance as Parameters<typeof wasi.start>[0]);
  return status ?? 0;
}
