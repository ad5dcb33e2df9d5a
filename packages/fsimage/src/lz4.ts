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

function read32(s: Uint8Array, i: number): number {
  return (
    ((s[i] as number) |
      ((s[i + 1] as number) << 8) |
      ((s[i + 2] as number) << 16) |
      ((s[i + 3] as number) << 24)) >>>
    0
  );
}

function hash(v: number): number {
  return Math.imul(v, 2654435761) >>> (32 - HASH_BITS);
}

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
  let ip = start;
  let anchor = start;
  let op = 0;
  const mflimit = end - MFLIMIT;
  const matchLimit = end - LAST_LITERALS;
  let misses = 0;
  if (end - start > MFLIMIT) {
    while (ip < mflimit) {
      const seq = read32(src, ip);
      const h = hash(seq);
      let ref = (table[h] as number) - off;
      table[h] = ip + off;
      if (ref >= start && ref < ip && ip - ref <= MAX_DISTANCE && read32(src, ref) === seq) {
        misses = 0;
        let mip = ip;
        while (mip > anchor && ref > start && src[mip - 1] === src[ref - 1]) {
          mip--;
          ref--;
        }
        let a = ip + MIN_MATCH;
        let b = ref + (ip - mip) + MIN_MATCH;
        while (a + 4 <= matchLimit && read32(src, a) === read32(src, b)) {
          a += 4;
          b += 4;
        }
        while (a < matchLimit && src[a] === src[b]) {
          a++;
          b++;
        }
        const ml = a - mip;
        const lit = mip - anchor;
        const cost = 1 + lenExtra(lit) + lit + 2 + lenExtra(ml - MIN_MATCH);
        if (op + cost + 1 + MFLIMIT > cap) break;
        const tokenPos = op++;
        const mlCode = ml - MIN_MATCH;
        dst[tokenPos] = (Math.min(lit, 15) << 4) | Math.min(mlCode, 15);
        if (lit >= 15) op = writeLen(dst, op, lit);
        for (let k = anchor; k < mip; k++) dst[op++] = src[k] as number;
        const dist = mip - ref;
        dst[op++] = dist & 0xff;
        dst[op++] = dist >> 8;
        if (mlCode >= 15) op = writeLen(dst, op, mlCode);
        ip = mip + ml;
        anchor = ip;
        if (ip - 2 < mflimit) table[hash(read32(src, ip - 2))] = ip - 2 + off;
        continue;
      }
      ip += 1 + (misses++ >> 6);
    }
  }
  let lit = end - anchor;
  const budget = cap - op;
  if (1 + lenExtra(lit) + lit > budget) lit = maxLiterals(budget);
  dst[op++] = Math.min(lit, 15) << 4;
  if (lit >= 15) op = writeLen(dst, op, lit);
  dst.set(src.subarray(anchor, anchor + lit), op);
  op += lit;
  return { consumed: anchor + lit - start, written: op };
}
