/** Worker of CompressPool: claims jobs in order and posts their extents. */
import { workerData } from 'node:worker_threads';
import { compressRange, type WorkerData } from './zpool.js';

const { jobs, at, ctl: sab, port, lookahead } = workerData as WorkerData;
const ctl = new Int32Array(sab);
const NEXT = 0;
const CURSOR = 1;
const POSTED = 2;

for (;;) {
  const i = Atomics.add(ctl, NEXT, 1);
  if (i >= jobs.length) break;
  // Stay within `lookahead` bytes of the job the writer waits for.
  for (;;) {
    const cursor = Atomics.load(ctl, CURSOR);
    if (cursor >= jobs.length || (at[i] as number) - (at[cursor] as number) <= lookahead) break;
    Atomics.wait(ctl, CURSOR, cursor, 1000);
  }
  if (Atomics.load(ctl, CURSOR) >= jobs.length) break; // closed
  const result = compressRange(jobs[i] as (typeof jobs)[number]);
  const transfer = 'blocks' in result ? [result.blocks.buffer as ArrayBuffer] : [];
  port.postMessage({ i, result }, transfer);
  Atomics.add(ctl, POSTED, 1);
  Atomics.notify(ctl, POSTED);
}
port.close();
