// The stdin channel between the page (producer) and the worker (consumer): one SharedArrayBuffer
// holding a control block and a byte ring. The worker blocks in Atomics.wait on SEQ, which the
// page bumps (and notifies) whenever it adds bytes or closes the input: no busy-waiting.

export const CTL_WRITE = 0; // total bytes written (wraps at 2^32)
export const CTL_READ = 1; // total bytes read (wraps at 2^32)
export const CTL_EOF = 2; // 1 once the page closed stdin
export const CTL_SEQ = 3; // bumped on every change; the worker waits on it
export const CTL_WORDS = 4;
export const RING_BYTES = 64 * 1024;

export interface StdinChannel {
  sab: SharedArrayBuffer;
  ctl: Int32Array;
  ring: Uint8Array;
}

export function createChannel(): StdinChannel {
  const sab = new SharedArrayBuffer(CTL_WORDS * 4 + RING_BYTES);
  return attachChannel(sab);
}

export function attachChannel(sab: SharedArrayBuffer): StdinChannel {
  return { sab, ctl: new Int32Array(sab, 0, CTL_WORDS), ring: new Uint8Array(sab, CTL_WORDS * 4) };
}

/** Bytes waiting to be read. */
export function available(ch: StdinChannel): number {
  return (Atomics.load(ch.ctl, CTL_WRITE) - Atomics.load(ch.ctl, CTL_READ)) >>> 0;
}

/** Page side: appends as many bytes as fit; returns how many were taken. */
export function push(ch: StdinChannel, data: Uint8Array): number {
  const w = Atomics.load(ch.ctl, CTL_WRITE) >>> 0;
  const free = RING_BYTES - available(ch);
  const n = Math.min(free, data.length);
  for (let i = 0; i < n; i++) ch.ring[(w + i) % RING_BYTES] = data[i] as number;
  if (n > 0) {
    Atomics.store(ch.ctl, CTL_WRITE, (w + n) | 0);
    wake(ch);
  }
  return n;
}

/** Page side: end of input. */
export function close(ch: StdinChannel): void {
  Atomics.store(ch.ctl, CTL_EOF, 1);
  wake(ch);
}

function wake(ch: StdinChannel): void {
  Atomics.add(ch.ctl, CTL_SEQ, 1);
  Atomics.notify(ch.ctl, CTL_SEQ);
}

/** Worker side: takes up to max bytes that are already there (never blocks). */
export function take(ch: StdinChannel, max: number): Uint8Array {
  const r = Atomics.load(ch.ctl, CTL_READ) >>> 0;
  const n = Math.min(available(ch), max);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ch.ring[(r + i) % RING_BYTES] as number;
  Atomics.store(ch.ctl, CTL_READ, (r + n) | 0);
  return out;
}

export function isClosed(ch: StdinChannel): boolean {
  return Atomics.load(ch.ctl, CTL_EOF) === 1;
}

/**
 * Worker side: blocks until input is there, stdin is closed, or `deadline` (performance.now()
 * milliseconds; Infinity for none) passes. Returns true when input or end of input is there.
 */
export function waitReadable(ch: StdinChannel, deadline: number): boolean {
  for (;;) {
    const seq = Atomics.load(ch.ctl, CTL_SEQ);
    if (available(ch) > 0 || isClosed(ch)) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(ch.ctl, CTL_SEQ, seq, left === Number.POSITIVE_INFINITY ? undefined : left);
  }
}
