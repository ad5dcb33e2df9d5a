// The Web Worker that runs a WASI preview1 command module (a c2w out.wasm) with
// @bjorn3/browser_wasi_shim. stdin blocks on a SharedArrayBuffer (Atomics.wait, no
// busy-waiting); poll_oneoff waits on stdin and clocks with Atomics.wait timeouts;
// stdout/stderr go to the page in batches.
import {
  Directory,
  wasi as defs,
  Fd,
  File,
  Inode,
  PreopenDirectory,
  WASI,
  WASIProcExit,
} from '@bjorn3/browser_wasi_shim';
import { pageCompilerTarget, withPageCompiler } from '@c2w/runtime-wasi/page-compiler';
import {
  attachChannel,
  available,
  isClosed,
  type StdinChannel,
  take,
  waitReadable,
} from './channel.js';
import type { FileEntry, StartMessage, WorkerMessage } from './protocol.js';

interface WorkerScope {
  postMessage(msg: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<StartMessage>) => void) | null;
}
const ctx = self as unknown as WorkerScope;

const ERRNO_SUCCESS = 0;
const ERRNO_AGAIN = 6;
const ERRNO_BADF = 8;
const ERRNO_INVAL = 28;
const ERRNO_NOSYS = 52;
const ERRNO_NOTSOCK = 57;
const EVENTTYPE_CLOCK = 0;
const EVENTTYPE_FD_READ = 1;
const EVENTTYPE_FD_WRITE = 2;
const FD_READWRITE_HANGUP = 1;
const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_PROCESS_CPUTIME = 2;
const CLOCK_THREAD_CPUTIME = 3;
const ABSTIME = 1;

// ---- output batching -------------------------------------------------------------------------
// A module may write one byte at a time (an emulated console): bytes are collected and sent at
// most every FLUSH_MS, before any blocking wait, on clock reads once they are due, and at exit.
const FLUSH_MS = 8;
const FLUSH_BYTES = 64 * 1024;
let pending: { fd: 1 | 2; data: Uint8Array }[] = [];
let pendingBytes = 0;
let lastFlush = 0;

/** Sends what stdout and stderr got since the last flush as one message, in write order. */
function flush(): void {
  lastFlush = performance.now();
  if (pending.length === 0) return;
  const data = new Uint8Array(pendingBytes);
  const runs: number[] = []; // fd, length, fd, length, ...: consecutive writes to one fd merged
  let o = 0;
  for (const p of pending) {
    data.set(p.data, o);
    o += p.data.length;
    if (runs.length > 0 && runs[runs.length - 2] === p.fd) {
      runs[runs.length - 1] = (runs[runs.length - 1] as number) + p.data.length;
    } else {
      runs.push(p.fd, p.data.length);
    }
  }
  pending = [];
  pendingBytes = 0;
  ctx.postMessage({ type: 'output', data, runs }, [data.buffer]);
}

function maybeFlush(): void {
  if (pendingBytes > 0 && performance.now() - lastFlush >= FLUSH_MS) flush();
}

function emit(fd: 1 | 2, data: Uint8Array): void {
  pending.push({ fd, data });
  pendingBytes += data.length;
  if (pendingBytes >= FLUSH_BYTES || performance.now() - lastFlush >= FLUSH_MS) flush();
}

// ---- file descriptors --------------------------------------------------------------------------
function charDeviceStat(ino: bigint): defs.Filestat {
  return new defs.Filestat(ino, defs.FILETYPE_CHARACTER_DEVICE, 0n);
}

/** fd 0: a terminal whose bytes come from the page's SharedArrayBuffer ring. */
class StdinFd extends Fd {
  private readonly ino = Inode.issue_ino();
  constructor(
    private readonly ch: StdinChannel,
    private readonly tty: boolean,
  ) {
    super();
  }
  private flags = 0;
  override fd_read(size: number): { ret: number; data: Uint8Array } {
    if (available(this.ch) === 0 && !isClosed(this.ch)) {
      // O_NONBLOCK (an emulator reading stdin from its main loop): no input yet is EAGAIN.
      if ((this.flags & defs.FDFLAGS_NONBLOCK) !== 0)
        return { ret: ERRNO_AGAIN, data: new Uint8Array() };
      flush();
      waitReadable(this.ch, Number.POSITIVE_INFINITY);
    }
    return { ret: ERRNO_SUCCESS, data: take(this.ch, size) };
  }
  override fd_fdstat_get(): { ret: number; fdstat: defs.Fdstat | null } {
    // A character device without seek/tell rights: wasi-libc's isatty() says yes. Not a tty
    // (the page's cooked pty edits lines): an unknown file type, as runtimes report pipes.
    const st = new defs.Fdstat(
      this.tty ? defs.FILETYPE_CHARACTER_DEVICE : defs.FILETYPE_UNKNOWN,
      this.flags,
    );
    st.fs_rights_base = BigInt(defs.RIGHTS_FD_READ | defs.RIGHTS_POLL_FD_READWRITE);
    return { ret: ERRNO_SUCCESS, fdstat: st };
  }
  override fd_fdstat_set_flags(flags: number): number {
    this.flags = flags & defs.FDFLAGS_NONBLOCK;
    return ERRNO_SUCCESS;
  }
  override fd_filestat_get(): { ret: number; filestat: defs.Filestat | null } {
    return { ret: ERRNO_SUCCESS, filestat: charDeviceStat(this.ino) };
  }
}

/** fd 1 and 2: the terminal. */
class OutputFd extends Fd {
  private readonly ino = Inode.issue_ino();
  constructor(private readonly fd: 1 | 2) {
    super();
  }
  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    emit(this.fd, data);
    return { ret: ERRNO_SUCCESS, nwritten: data.length };
  }
  override fd_fdstat_get(): { ret: number; fdstat: defs.Fdstat | null } {
    const st = new defs.Fdstat(defs.FILETYPE_CHARACTER_DEVICE, defs.FDFLAGS_APPEND);
    st.fs_rights_base = BigInt(defs.RIGHTS_FD_WRITE | defs.RIGHTS_POLL_FD_READWRITE);
    return { ret: ERRNO_SUCCESS, fdstat: st };
  }
  override fd_filestat_get(): { ret: number; filestat: defs.Filestat | null } {
    return { ret: ERRNO_SUCCESS, filestat: charDeviceStat(this.ino) };
  }
}

// ---- fixes to the shim (0.4.2) ------------------------------------------------------------------
// Filestat.write_bytes puts atim/mtim/ctim at offsets 38/46/52 instead of 40/48/56 (and leaves
// the last bytes unwritten): write the WASI layout.
defs.Filestat.prototype.write_bytes = function (this: defs.Filestat, view: DataView, ptr: number) {
  view.setBigUint64(ptr, this.dev, true);
  view.setBigUint64(ptr + 8, this.ino, true);
  view.setUint8(ptr + 16, this.filetype);
  for (let k = 17; k < 24; k++) view.setUint8(ptr + k, 0);
  view.setBigUint64(ptr + 24, this.nlink, true);
  view.setBigUint64(ptr + 32, this.size, true);
  view.setBigUint64(ptr + 40, this.atim, true);
  view.setBigUint64(ptr + 48, this.mtim, true);
  view.setBigUint64(ptr + 56, this.ctim, true);
};

/** args_sizes_get counting UTF-8 bytes (the shim counts UTF-16 units: non-ASCII args overflow). */
function makeArgsSizesGet(wasi: WASI) {
  return (argcPtr: number, bufSizePtr: number): number => {
    const view = new DataView(wasi.inst.exports.memory.buffer);
    const enc = new TextEncoder();
    view.setUint32(argcPtr, wasi.args.length, true);
    view.setUint32(
      bufSizePtr,
      wasi.args.reduce((n, a) => n + enc.encode(a).length + 1, 0),
      true,
    );
    return ERRNO_SUCCESS;
  };
}

// ---- poll_oneoff ---------------------------------------------------------------------------------
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Milliseconds on the performance.now() scale at which a clock subscription fires. */
function clockDeadline(id: number, timeout: bigint, flags: number, now: number): number | null {
  const ms = Number(timeout) / 1e6;
  if ((flags & ABSTIME) === 0) {
    return id <= CLOCK_THREAD_CPUTIME ? now + ms : null;
  }
  switch (id) {
    case CLOCK_MONOTONIC:
    case CLOCK_PROCESS_CPUTIME:
    case CLOCK_THREAD_CPUTIME:
      return ms; // the shim's monotonic clock is performance.now()
    case CLOCK_REALTIME:
      return now + (ms - Date.now());
    default:
      return null;
  }
}

function makePollOneoff(wasi: WASI, ch: StdinChannel) {
  return (inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number => {
    const view = () => new DataView(wasi.inst.exports.memory.buffer);
    if (nsubs === 0) return ERRNO_INVAL;
    maybeFlush();
    interface Sub {
      userdata: bigint;
      tag: number;
      fd: number;
      deadline: number; // clocks
      error: number;
    }
    const start = performance.now();
    const subs: Sub[] = [];
    {
      const v = view();
      for (let i = 0; i < nsubs; i++) {
        const b = inPtr + i * SUBSCRIPTION_SIZE;
        const userdata = v.getBigUint64(b, true);
        const tag = v.getUint8(b + 8);
        if (tag === EVENTTYPE_CLOCK) {
          const id = v.getUint32(b + 16, true);
          const dl = clockDeadline(
            id,
            v.getBigUint64(b + 24, true),
            v.getUint16(b + 40, true),
            start,
          );
          subs.push({
            userdata,
            tag,
            fd: -1,
            deadline: dl ?? start,
            error: dl === null ? ERRNO_INVAL : 0,
          });
        } else if (tag === EVENTTYPE_FD_READ || tag === EVENTTYPE_FD_WRITE) {
          const fd = v.getUint32(b + 16, true);
          const error = wasi.fds[fd] === undefined ? ERRNO_BADF : 0;
          subs.push({ userdata, tag, fd, deadline: Number.POSITIVE_INFINITY, error });
        } else {
          subs.push({ userdata, tag, fd: -1, deadline: start, error: ERRNO_INVAL });
        }
      }
    }
    const deadline = Math.min(
      ...subs.map((s) => (s.tag === EVENTTYPE_CLOCK ? s.deadline : Number.POSITIVE_INFINITY)),
    );
    const waitsOnStdin = subs.some(
      (s) => s.tag === EVENTTYPE_FD_READ && s.fd === 0 && s.error === 0,
    );
    for (;;) {
      const now = performance.now();
      const ready: { sub: Sub; nbytes: bigint; flags: number }[] = [];
      for (const s of subs) {
        if (s.error !== 0) {
          ready.push({ sub: s, nbytes: 0n, flags: 0 });
        } else if (s.tag === EVENTTYPE_CLOCK) {
          if (s.deadline <= now) ready.push({ sub: s, nbytes: 0n, flags: 0 });
        } else if (s.tag === EVENTTYPE_FD_READ && s.fd === 0) {
          const n = available(ch);
          if (n > 0) ready.push({ sub: s, nbytes: BigInt(n), flags: 0 });
          else if (isClosed(ch)) ready.push({ sub: s, nbytes: 0n, flags: FD_READWRITE_HANGUP });
        } else {
          // Regular files, directories and the terminal's output side never block.
          ready.push({ sub: s, nbytes: 0n, flags: 0 });
        }
      }
      if (ready.length > 0) {
        const v = view();
        ready.forEach((r, i) => {
          const b = outPtr + i * EVENT_SIZE;
          for (let k = 0; k < EVENT_SIZE; k += 4) v.setUint32(b + k, 0, true);
          v.setBigUint64(b, r.sub.userdata, true);
          v.setUint16(b + 8, r.sub.error, true);
          v.setUint8(b + 10, r.sub.tag);
          if (r.sub.tag !== EVENTTYPE_CLOCK) {
            v.setBigUint64(b + 16, r.nbytes, true);
            v.setUint16(b + 24, r.flags, true);
          }
        });
        v.setUint32(neventsPtr, ready.length, true);
        return ERRNO_SUCCESS;
      }
      flush();
      if (waitsOnStdin) {
        waitReadable(ch, deadline);
      } else if (deadline === Number.POSITIVE_INFINITY) {
        // Only fd subscriptions that can never become ready here: nothing will wake us.
        return ERRNO_INVAL;
      } else {
        Atomics.wait(sleepCell, 0, 0, Math.max(0, deadline - performance.now()));
      }
    }
  };
}

// ---- the in-browser directories ----------------------------------------------------------------
function buildDir(files: FileEntry[]): Map<string, Inode> {
  const root = new Map<string, Inode>();
  for (const f of files) {
    const parts = f.path.split('/').filter((p) => p !== '' && p !== '.');
    const name = parts.pop();
    if (name === undefined) continue;
    let dir = root;
    for (const p of parts) {
      let next = dir.get(p);
      if (!(next instanceof Directory)) {
        next = new Directory(new Map());
        dir.set(p, next);
      }
      dir = (next as Directory).contents;
    }
    dir.set(name, new File(new Uint8Array(f.data)));
  }
  return root;
}

function listDir(contents: Map<string, Inode>, prefix: string, out: FileEntry[]): void {
  for (const [name, inode] of contents) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    if (inode instanceof File) {
      const data = inode.data.slice().buffer as ArrayBuffer;
      out.push({ path, data });
    } else if (inode instanceof Directory) {
      listDir(inode.contents, path, out);
    }
  }
}

// ---- the module ----------------------------------------------------------------------------------
async function compile(url: string): Promise<WebAssembly.Module> {
  const t0 = performance.now();
  const res = await fetch(url);
  if (!res.ok || res.body === null) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('Content-Length') ?? 0);
  let loaded = 0;
  let lastReport = 0;
  ctx.postMessage({ type: 'progress', loaded, total });
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      loaded += chunk.length;
      const now = performance.now();
      if (now - lastReport > 50) {
        lastReport = now;
        ctx.postMessage({ type: 'progress', loaded, total });
      }
      c.enqueue(chunk);
    },
    flush() {
      ctx.postMessage({ type: 'progress', loaded, total: total || loaded });
      ctx.postMessage({ type: 'downloaded', ms: performance.now() - t0 });
    },
  });
  const body = res.body.pipeThrough(counter);
  // Compile while downloading: no second copy of a module that may be hundreds of MB.
  return WebAssembly.compileStreaming(
    new Response(body, { headers: { 'Content-Type': 'application/wasm' } }),
  );
}

/** The shim's imports, plus ENOSYS stubs for anything else the module imports from WASI. */
function imports(module: WebAssembly.Module, wasi: WASI): WebAssembly.Imports {
  const table: Record<string, WebAssembly.ModuleImports> = {
    wasi_snapshot_preview1: { ...wasi.wasiImport } as WebAssembly.ModuleImports,
  };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') continue;
    table[imp.module] ??= {};
    const ns = table[imp.module] as WebAssembly.ModuleImports;
    if (ns[imp.name] === undefined) {
      console.warn(`c2w: import ${imp.module}.${imp.name} is not provided; it returns ENOSYS`);
      ns[imp.name] = () => ERRNO_NOSYS;
    }
  }
  return table;
}

async function run(msg: StartMessage): Promise<void> {
  const t0 = performance.now();
  const module = await compile(msg.moduleUrl);
  ctx.postMessage({ type: 'compiled', ms: performance.now() - t0 });
  const ch = attachChannel(msg.stdin);
  const dirs = msg.dirs.map((d) => ({
    guestPath: d.guestPath,
    root: new PreopenDirectory(d.guestPath, buildDir(d.files)),
  }));
  const fds: Fd[] = [
    new StdinFd(ch, msg.tty),
    new OutputFd(1),
    new OutputFd(2),
    ...dirs.map((d) => d.root),
  ];
  const wasi = new WASI(msg.args, msg.env, fds, { debug: false });
  const shimClock = wasi.wasiImport.clock_time_get as (...a: unknown[]) => number;
  wasi.wasiImport.clock_time_get = (...a: unknown[]) => {
    maybeFlush();
    return shimClock(...a);
  };
  wasi.wasiImport.sched_yield = () => {
    maybeFlush();
    return ERRNO_SUCCESS;
  };
  wasi.wasiImport.poll_oneoff = makePollOneoff(wasi, ch) as (...a: unknown[]) => unknown;
  wasi.wasiImport.args_sizes_get = makeArgsSizesGet(wasi) as (...a: unknown[]) => unknown;
  // The shim throws on socket calls (the module would trap): no fd is a socket here.
  const notSocket = (fd: number) => (wasi.fds[fd] === undefined ? ERRNO_BADF : ERRNO_NOTSOCK);
  for (const name of ['sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown']) {
    wasi.wasiImport[name] = notSocket as (...a: unknown[]) => unknown;
  }
  // the riscv64 machine's page compiler (docs/contract.md): hot guest code as wasm functions
  let instance: WebAssembly.Instance | undefined;
  const imp = imports(module, wasi);
  imp.wasi_snapshot_preview1 = withPageCompiler(
    imp.wasi_snapshot_preview1 as Record<string, unknown>,
    () => instance && pageCompilerTarget(instance.exports),
  ) as WebAssembly.ModuleImports;
  instance = await WebAssembly.instantiate(module, imp);
  ctx.postMessage({ type: 'started', ms: performance.now() - t0 });
  let code: number;
  try {
    code = wasi.start(instance as unknown as Parameters<WASI['start']>[0]);
  } catch (e) {
    if (e instanceof WASIProcExit) code = e.code;
    else throw e;
  }
  flush();
  // The external bundle's rootfs is read-only input, not something to hand back.
  const mapped = dirs.filter((d) => d.guestPath !== '/.c2w-bundle');
  const files: { guestPath: string; files: FileEntry[] }[] = mapped.map((d) => {
    const out: FileEntry[] = [];
    listDir(d.root.dir.contents, '', out);
    return { guestPath: d.guestPath, files: out };
  });
  ctx.postMessage({ type: 'exit', code, dirs: files });
}

ctx.onmessage = (ev) => {
  if (ev.data.type !== 'start') return;
  run(ev.data).catch((e: unknown) => {
    flush();
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    ctx.postMessage({ type: 'error', message });
  });
};
