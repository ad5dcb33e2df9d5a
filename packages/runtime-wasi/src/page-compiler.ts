/**
 * The host's side of the riscv64 machine's page compiler (docs/contract.md, "Page compiler").
 *
 * The machine translates hot guest code pages into small wasm modules and asks its host to
 * instantiate them, through a WASI call every runtime answers: `fd_write` to descriptor
 * PAGE_COMPILER_FD, which no runtime opens. This wraps a WASI import object so that such calls
 * compile the module, instantiate it on the machine's memory and put its function in the
 * machine's function table; other runtimes answer EBADF and the machine stays an interpreter.
 * No Node API is used: the browser runtime's worker shares it.
 */

// The WebAssembly JS API, as far as this uses it (not in this project's TS libs).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmTable {
  readonly length: number;
  grow(delta: number): number;
  set(index: number, value: unknown): void;
}
interface WasmJsApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (...args: never[]) => WasmMemory;
  Table: new (...args: never[]) => WasmTable;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmJsApi }).WebAssembly;

export const PAGE_COMPILER_FD = 0x7c2a317;
/** 1: one function per module; 2: also several (`f0`, `f1`, ...) into as many slots. */
export const PAGE_COMPILER_VERSION = 2;
const ERRNO_BADF = 8;
const ERRNO_INVAL = 28;

/** What the wrapper needs of the instance, once it exists. */
export interface PageCompilerTarget {
  memory: WasmMemory;
  table: WasmTable;
}

type WasiFunction = (...args: number[]) => number;

/**
 * Returns a copy of the `wasi_snapshot_preview1` imports whose `fd_write` serves the page
 * compiler. `target` is called on the first request (after instantiation); it returns undefined
 * when the instance exports no growable function table, and the machine then stays an
 * interpreter.
 */
export function withPageCompiler(
  wasiImports: Record<string, unknown>,
  target: () => PageCompilerTarget | undefined,
): Record<string, unknown> {
  const fdWrite = (wasiImports.fd_write as WasiFunction).bind(wasiImports);
  let t: PageCompilerTarget | undefined;
  const serve = (iovs: number, iovsLen: number, resultPtr: number): number => {
    t ??= target();
    if (!t) return ERRNO_BADF;
    const view = new DataView(t.memory.buffer);
    if (iovsLen === 0) {
      view.setUint32(resultPtr, PAGE_COMPILER_VERSION, true);
      return 0;
    }
    if (iovsLen !== 2) return ERRNO_INVAL;
    const slotsPtr = view.getUint32(iovs, true);
    const count = view.getUint32(iovs + 4, true) / 4;
    const modPtr = view.getUint32(iovs + 8, true);
    const modLen = view.getUint32(iovs + 12, true);
    if (!Number.isInteger(count) || count < 1) return ERRNO_INVAL;
    const fns: unknown[] = [];
    try {
      const module = new Wasm.Module(new Uint8Array(t.memory.buffer, modPtr, modLen));
      const { exports } = new Wasm.Instance(module, { e: { m: t.memory, t: t.table } });
      for (let i = 0; i < count; i++) fns.push(count === 1 ? exports.f : exports[`f${i}`]);
      if (fns.some((f) => typeof f !== 'function')) return ERRNO_INVAL;
    } catch {
      return ERRNO_INVAL; // the machine keeps interpreting that code
    }
    const slots: number[] = [];
    try {
      const old = new DataView(t.memory.buffer);
      for (let i = 0; i < count; i++) {
        let slot = old.getUint32(slotsPtr + 4 * i, true);
        if (slot === 0 || slot >= t.table.length) slot = t.table.grow(1);
        t.table.set(slot, fns[i]);
        slots.push(slot);
      }
    } catch {
      return ERRNO_INVAL; // a table that cannot grow
    }
    const after = new DataView(t.memory.buffer);
    for (const [i, slot] of slots.entries()) after.setUint32(slotsPtr + 4 * i, slot, true);
    after.setUint32(resultPtr, slots[0] ?? 0, true);
    return 0;
  };
  return {
    ...wasiImports,
    fd_write: (fd: number, iovs: number, iovsLen: number, resultPtr: number): number =>
      fd === PAGE_COMPILER_FD
        ? serve(iovs, iovsLen, resultPtr)
        : fdWrite(fd, iovs, iovsLen, resultPtr),
  };
}

/** The page compiler's target in an instance's exports (wasm-ld's `--export-table`). */
export function pageCompilerTarget(
  exports: Record<string, unknown>,
): PageCompilerTarget | undefined {
  const memory = exports.memory;
  const table = exports.__indirect_function_table;
  if (!(memory instanceof Wasm.Memory) || !(table instanceof Wasm.Table)) return undefined;
  return { memory, table };
}
