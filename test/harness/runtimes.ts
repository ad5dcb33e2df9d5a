// Runs WASI (preview1) command modules on the three runtimes the project supports:
//   wasmtime  the real engine, PyPI `wasmtime` wheel behind test/harness/wasmtime-py.py
//   wazero    the wazero CLI (`go install`)
//   node      Node's built-in WASI behind test/harness/node-wasi.mjs
// tools/setup.d/runtimes.sh installs them into $C2W_CACHE. Each run is a child process with its
// own stdin/stdout/stderr pipes, so stdout and stderr come back apart, stdin can stream, and the
// exit status is exactly the module's (proc_exit code; 0 when _start returns; 134 on a trap).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export type Runtime = 'wasmtime' | 'wazero' | 'node';

/** Every runtime the project supports, in a fixed order. */
export const RUNTIMES: readonly Runtime[] = ['wasmtime', 'wazero', 'node'];

export interface RunOptions {
  /** Arguments after argv[0] (argv[0] is the module's file name on every runtime). */
  args?: string[];
  /** The module's whole environment (nothing is inherited from this process). */
  env?: Record<string, string>;
  /** Preopened directories: host path -> guest path. */
  dirs?: { host: string; guest: string }[];
  /** Whole input (written, then closed), or a stream piped through. Default: empty stdin. */
  stdin?: string | Buffer | Readable;
  /** Kill the runtime after this long (SIGKILL); `timedOut` is then true. Default: none. */
  timeoutMs?: number;
  /** Working directory of the runtime process. */
  cwd?: string;
}

export interface RunResult {
  stdout: Buffer;
  stderr: Buffer;
  /** The module's exit status; 128+N when the runtime process died of signal N. */
  status: number;
  timedOut: boolean;
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const C2W_CACHE = process.env.C2W_CACHE || '/var/cache/c2w';
const venvPython = `${C2W_CACHE}/venv/bin/python3`;
const wazeroBin = `${C2W_CACHE}/bin/wazero`;
const wasmtimeRunner = resolve(repoRoot, 'test/harness/wasmtime-py.py');
const nodeRunner = resolve(repoRoot, 'test/harness/node-wasi.mjs');

/** Why a runtime cannot run here, or undefined when it is installed. */
export function runtimeMissing(runtime: Runtime): string | undefined {
  const hint = 'run `bash tools/setup.d/runtimes.sh` (or `bash tools/setup.sh`)';
  switch (runtime) {
    case 'wasmtime':
      return existsSync(`${C2W_CACHE}/venv/.c2w-wasmtime`) && existsSync(venvPython)
        ? undefined
        : `wasmtime (PyPI wheel) is not installed in ${C2W_CACHE}/venv: ${hint}`;
    case 'wazero':
      return existsSync(wazeroBin) ? undefined : `wazero is not installed at ${wazeroBin}: ${hint}`;
    case 'node':
      return undefined;
  }
}

export function runtimeInstalled(runtime: Runtime): boolean {
  return runtimeMissing(runtime) === undefined;
}

/** The installed runtimes, restricted to the comma list in $C2W_RUNTIMES when it is set. */
export function installedRuntimes(): Runtime[] {
  return selectedRuntimes().filter(runtimeInstalled);
}

/** RUNTIMES, or the comma list in $C2W_RUNTIMES (e.g. `C2W_RUNTIMES=node,wazero`). */
export function selectedRuntimes(): Runtime[] {
  const sel = process.env.C2W_RUNTIMES;
  if (!sel) return [...RUNTIMES];
  const names = sel.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(RUNTIMES as readonly string[]).includes(n)) {
      throw new Error(`C2W_RUNTIMES: unknown runtime '${n}' (known: ${RUNTIMES.join(', ')})`);
    }
  }
  return names as Runtime[];
}

/** Pinned versions of the installed runtimes (as recorded by tools/setup.d/runtimes.sh). */
export function runtimeVersions(): Record<Runtime, string | undefined> {
  const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8').trim() : undefined);
  return {
    wasmtime: read(`${C2W_CACHE}/venv/.c2w-wasmtime`),
    wazero: read(`${C2W_CACHE}/bin/.c2w-wazero`),
    node: process.versions.node,
  };
}

/** The command line that runs `module` on `runtime` (exposed for tools and benchmarks). */
export function runtimeCommand(
  runtime: Runtime,
  module: string,
  opts: Pick<RunOptions, 'args' | 'env' | 'dirs'> = {},
): { command: string; args: string[] } {
  const mod = isAbsolute(module) ? module : resolve(module);
  const args = opts.args ?? [];
  const env = Object.entries(opts.env ?? {});
  const dirs = opts.dirs ?? [];
  for (const [k] of env) {
    if (!k || k.includes('=')) throw new Error(`env name '${k}' is empty or contains '='`);
  }
  for (const d of dirs) {
    if (!d.host || !d.guest) throw new Error(`dir mapping '${d.host}' -> '${d.guest}' is empty`);
  }
  switch (runtime) {
    case 'wasmtime':
    case 'node': {
      const flags = [
        ...dirs.flatMap((d) => ['--dir', `${resolve(d.host)}::${d.guest}`]),
        ...env.flatMap(([k, v]) => ['--env', `${k}=${v}`]),
        '--',
        mod,
        ...args,
      ];
      return runtime === 'wasmtime'
        ? { command: venvPython, args: [wasmtimeRunner, ...flags] }
        : { command: process.execPath, args: ['--no-incremental-marking', nodeRunner, ...flags] };
    }
    case 'wazero': {
      for (const d of dirs) {
        if (resolve(d.host).includes(':') || d.guest.includes(':')) {
          throw new Error(`wazero cannot mount a path containing ':' (${d.host} -> ${d.guest})`);
        }
      }
      return {
        command: wazeroBin,
        args: [
          'run',
          `-cachedir=${C2W_CACHE}/wazero-cache`,
          ...dirs.map((d) => `-mount=${resolve(d.host)}:${d.guest}`),
          ...env.map(([k, v]) => `-env=${k}=${v}`),
          mod,
          ...args,
        ],
      };
    }
    default:
      throw new Error(`unknown runtime '${runtime as string}' (known: ${RUNTIMES.join(', ')})`);
  }
}

/**
 * Starts `module` on `runtime` with piped stdio (for interactive use: write to `stdin`, read
 * `stdout` as it comes). Throws when the runtime is not installed.
 */
export function spawnWasm(
  runtime: Runtime,
  module: string,
  opts: Omit<RunOptions, 'stdin' | 'timeoutMs'> = {},
): ChildProcessWithoutNullStreams {
  const missing = runtimeMissing(runtime);
  if (missing) throw new Error(missing);
  const { command, args } = runtimeCommand(runtime, module, opts);
  const child = spawn(command, args, {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, C2W_CACHE },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A module that exits without reading its input closes the pipe: not an error here.
  child.stdin.on('error', () => {});
  return child;
}

/** Runs `module` on `runtime` to completion; stdout and stderr come back separately. */
export function runWasm(
  runtime: Runtime,
  module: string,
  opts: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawnWasm(runtime, module, opts);
    } catch (e) {
      reject(e);
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs)
        : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`${runtime}: cannot start ${module}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const sig = signal ? (constants.signals[signal] ?? 0) : 0;
      resolvePromise({
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        status: code ?? 128 + sig,
        timedOut,
      });
    });
    const input = opts.stdin;
    if (input === undefined) child.stdin.end();
    else if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
    else input.pipe(child.stdin);
  });
}
