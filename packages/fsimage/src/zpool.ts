/**
 * LZ4-compresses files read from host file ranges on two threads: the writer's and one worker.
 * Both claim files in order from a shared counter; the writer takes results in file order, so
 * the image is the same bytes whichever thread compressed what (extents depend only on a file's
 * bytes). The worker stays at most LOOKAHEAD bytes ahead of the writer, bounding the memory held
 * in finished results. Without a worker (small jobs, no spare core, or it cannot start) the
 * writer does all.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from 'node:worker_threads';
import { BLK, ExtentSplitter } from './extents.js';

export interface RangeJob {
  path: string;
  offset: number;
  size: number;
  /** The file must end at offset + size. */
  whole: boolean;
}

export type RangeResult =
  | { blocks: Uint8Array; starts: number[]; plain: boolean[] }
  | { error: 'open' | 'size'; got: number };

/** Shared control words. */
const NEXT = 0; // next job to claim
const CURSOR = 1; // job the writer waits for
const POSTED = 2; // results the worker has posted (wakes the writer)

const LOOKAHEAD = 32 << 20;
/** Below this many bytes in total the worker's start-up is not worth it. */
const MIN_PARALLEL = 8 << 20;
/** Files larger than this are compressed by the writer, streaming (bounded memory). */
export const MAX_JOB = 16 << 20;

/** Atomics.waitAsync (Node >= 16; not in this TypeScript lib). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      i: number,
      v: number,
      t: number,
    ): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/**
 * Whether a second thread can run beside this one: with every core busy (load average at
 * least the core count less one) the worker only adds its start-up and hand-over costs.
 */
function spareCore(): boolean {
  const cores = availableParallelism();
  return cores >= 2 && (loadavg()[0] as number) < cores - 1;
}

let scratch = Buffer.allocUnsafe(1 << 20);

/** Reads `job`'s bytes and cuts them into extents. */
export function compressRange(job: RangeJob): RangeResult {
  const want = job.size + (job.whole ? 1 : 0);
  if (scratch.length < want) scratch = Buffer.allocUnsafe(Math.max(want, scratch.length * 2));
  let fd: number;
  try {
    fd = openSync(job.path, 'r');
  } catch {
    return { error: 'open', got: 0 };
  }
  let got = 0;
  try {
    while (got < want) {
      const ask = want - got;
      const r = readSync(fd, scratch, got, ask, job.offset + got);
      got += r;
      if (r === 0 || (r < ask && got >= job.size)) break;
    }
  } finally {
    closeSync(fd);
  }
  if (got !== job.size) return { error: 'size', got };
  const blocks = new Uint8Array(Math.ceil(job.size / BLK) * BLK);
  let n = 0;
  const sp = new ExtentSplitter(job.size, (b) => {
    blocks.set(b, n);
    n += BLK;
  });
  sp.run(scratch, 0, job.size, true);
  return { blocks: blocks.subarray(0, n), starts: sp.starts, plain: sp.plain };
}

export interface WorkerData {
  jobs: RangeJob[];
  /** Byte position of each job in the sequence (prefix sums of sizes), plus the total. */
  at: number[];
  ctl: SharedArrayBuffer;
  port: MessagePort;
  lookahead: number;
}

export class CompressPool {
  private readonly ctl: Int32Array;
  private readonly at: number[];
  private readonly results = new Map<number, RangeResult>();
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private dead = false;

  /** `threads`: 1 = the writer alone, 2 = with a worker; default: 2 when it is worth it. */
  constructor(
    private readonly jobs: RangeJob[],
    threads?: 1 | 2,
  ) {
    this.ctl = new Int32Array(new SharedArrayBuffer(12));
    this.at = [0];
    for (const j of jobs) this.at.push((this.at[this.at.length - 1] as number) + j.size);
    const script = new URL('./zworker.js', import.meta.url);
    const total = this.at[jobs.length] as number;
    const wanted = threads === undefined ? total >= MIN_PARALLEL && spareCore() : threads === 2;
    if (!wanted || !existsSync(fileURLToPath(script))) return;
    const { port1, port2 } = new MessageChannel();
    const data: WorkerData = {
      jobs,
      at: this.at,
      ctl: this.ctl.buffer as SharedArrayBuffer,
      port: port2,
      lookahead: LOOKAHEAD,
    };
    try {
      this.worker = new Worker(script, { workerData: data, transferList: [port2] });
    } catch {
      return;
    }
    this.port = port1;
    const stop = () => {
      this.dead = true;
      Atomics.add(this.ctl, POSTED, 1);
      Atomics.notify(this.ctl, POSTED);
    };
    this.worker.on('error', stop);
    this.worker.on('exit', stop);
    this.worker.unref();
  }

  private drain() {
    if (!this.port) return;
    for (;;) {
      const m = receiveMessageOnPort(this.port);
      if (!m) return;
      const { i, result } = m.message as { i: number; result: RangeResult };
      this.results.set(i, result);
    }
  }

  private compressHere(i: number) {
    this.results.set(i, compressRange(this.jobs[i] as RangeJob));
  }

  /** The result of job `i`; jobs must be asked for in order. */
  async get(i: number): Promise<RangeResult> {
    Atomics.store(this.ctl, CURSOR, i);
    Atomics.notify(this.ctl, CURSOR);
    for (;;) {
      this.drain();
      const r = this.results.get(i);
      if (r) {
        this.results.delete(i);
        return r;
      }
      if (!this.worker || this.dead) {
        // Claimed by a worker that is gone (or none ever ran): do it here.
        if (Atomics.load(this.ctl, NEXT) <= i) Atomics.store(this.ctl, NEXT, i + 1);
        this.compressHere(i);
        continue;
      }
      const next = Atomics.load(this.ctl, NEXT);
      if (
        next < this.jobs.length &&
        (next <= i || (this.at[next] as number) - (this.at[i] as number) <= LOOKAHEAD)
      ) {
        const j = Atomics.add(this.ctl, NEXT, 1);
        if (j < this.jobs.length) this.compressHere(j);
        continue;
      }
      // The worker holds job i: wait for its next result.
      const seen = Atomics.load(this.ctl, POSTED);
      this.drain();
      if (this.results.has(i)) continue;
      const w = waitAsync(this.ctl, POSTED, seen, 1000);
      if (w.async) await w.value;
    }
  }

  close() {
    Atomics.store(this.ctl, NEXT, this.jobs.length);
    Atomics.store(this.ctl, CURSOR, this.jobs.length);
    Atomics.notify(this.ctl, CURSOR);
    this.port?.close();
    void this.worker?.terminate();
  }
}
