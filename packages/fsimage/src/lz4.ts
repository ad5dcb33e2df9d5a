/**
 * LZ4 block compressor with a fixed output budget ("dest size" mode): it consumes as much
 * input as fits in `cap` output bytes and reports how much it consumed. Greedy, one hash
 * probe per position, like LZ4's fast mode. Output follows the LZ4 block format's end rules:
 * the last 5 bytes are literals and the last match starts at least 12 bytes before the end.
 */

/** 16384 entries (64 KiB): a little better ratio than LZ4's default 4096, no slower here. */
const HASH_BITS = 14;
const table = new Int32Array(1 << HASH_BITS).fill(-1);
let base = 0;
const MIN_MATCH = 4;
const MFLIMIT = 12;
const LAST_LITERALS = 5;
const MAX_DISTANCE = 65535;

function lenExtra(n: number): number {
  return n >= 15 ? 1 + Math.floor((n - 15) / 255) : 0;
}

/** Knuth's multiplicative hash constant 2654435761 as an int32. */
const PRIME = -1640531535;
const HASH_SHIFT = 32 - HASH_BITS;

function writeLen(dst: Uint8Array, op: number, n: number): number {
  let r = n - 15;
  while (r >= 255) {
    dst[op++] = 255;
    r -= 255;
  }
  dst[op++] = r;
  return op;
}

/** Largest literal run whose encoding (token + length bytes + literals) fits in `budget`. */
function maxLiterals(budget: number): number {
  let l = budget - 1;
  while (l > 0 && 1 + lenExtra(l) + l > budget) l--;
  return Math.max(l, 0);
}

/** Copies src[from, to) to dst at `op`; short runs byte by byte (cheaper than a subarray). */
function copyBytes(dst: Uint8Array, op: number, src: Uint8Array, from: number, to: number) {
  if (to - from > 32) {
    dst.set(Uint8Array.prototype.subarray.call(src, from, to), op);
    return;
  }
  for (let k = from; k < to; k++) dst[op++] = src[k] as number;
}

export function lz4CompressDestSize(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  cap: number,
): { consumed: number; written: number } {
  // Table values are positions plus `off`; values from earlier calls map below `start` and are
  // ignored, so the output depends only on this call's input (reproducible across calls).
  if (base + (end - start) > 0x3fffffff) {
    table.fill(-1);
    base = 0;
  }
  const off = base - start;
  base += end - start + 1;
  // Unaligned little-endian 32-bit loads: V8 compiles DataView reads to single loads.
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let ip = start;
  let anchor = start;
  let op = 0;
  const mflimit = end - MFLIMIT;
  const matchLimit = end - LAST_LITERALS;
  let misses = 0;
  if (end - start > MFLIMIT) {
    while (ip < mflimit) {
      const seq = dv.getInt32(ip, true);
      const h = Math.imul(seq, PRIME) >>> HASH_SHIFT;
      let ref = (table[h] as number) - off;
      table[h] = ip + off;
      if (ref < start || ip - ref > MAX_DISTANCE || dv.getInt32(ref, true) !== seq) {
        ip += 1 + (misses++ >> 6);
        continue;
      }
      misses = 0;
      let mip = ip;
      while (mip > anchor && ref > start && src[mip - 1] === src[ref - 1]) {
        mip--;
        ref--;
      }
      let a = ip + MIN_MATCH;
      let b = ref + (ip - mip) + MIN_MATCH;
      while (a + 4 <= matchLimit && dv.getInt32(a, true) === dv.getInt32(b, true)) {
        a += 4;
        b += 4;
      }
      while (a < matchLimit && src[a] === src[b]) {
        a++;
        b++;
      }
      const ml = a - mip;
      const lit = mip - anchor;
      const mlCode = ml - MIN_MATCH;
      const cost = 3 + lit + lenExtra(lit) + lenExtra(mlCode);
      if (op + cost + 1 + MFLIMIT > cap) break;
      const tokenPos = op++;
      dst[tokenPos] = (Math.min(lit, 15) << 4) | Math.min(mlCode, 15);
      if (lit >= 15) op = writeLen(dst, op, lit);
      copyBytes(dst, op, src, anchor, mip);
      op += lit;
      const dist = mip - ref;
      dst[op++] = dist & 0xff;
      dst[op++] = dist >> 8;
      if (mlCode >= 15) op = writeLen(dst, op, mlCode);
      ip = a;
      anchor = ip;
      if (ip - 2 < mflimit) {
        table[Math.imul(dv.getInt32(ip - 2, true), PRIME) >>> HASH_SHIFT] = ip - 2 + off;
      }
    }
  }
  let lit = end - anchor;
  const budget = cap - op;
  if (1 + lenExtra(lit) + lit > budget) lit = maxLiterals(budget);
  dst[op++] = Math.min(lit, 15) << 4;
  if (lit >= 15) op = writeLen(dst, op, lit);
  copyBytes(dst, op, src, anchor, anchor + lit);
  op += lit;
  return { consumed: anchor + lit - start, written: op };
}
