/**
 * Splits a file's bytes into EROFS LZ4 extents of one 4 KiB physical block each: an LZ4
 * fixed-output block right-aligned in its block (the ZERO_PADDING feature), or plain bytes when
 * an extent does not shrink. The split depends only on the file's bytes, so it gives the same
 * extents whether the bytes arrive in one buffer or in chunks, on any thread.
 */
import { lz4CompressDestSize } from './lz4.js';

export const BLK = 4096;
/** Longest logical extent one 4 KiB compressed pcluster may decode to. */
export const MAX_EXTENT = 128 * 1024;

export class ExtentSplitter {
  /** File offset where each extent starts; extent k is physical block k of the file. */
  readonly starts: number[] = [];
  /** Whether extent k is stored plain. */
  readonly plain: boolean[] = [];
  /** File offset of the next extent. */
  pos = 0;
  private readonly out = new Uint8Array(BLK);
  private readonly block = new Uint8Array(BLK);

  constructor(
    private readonly size: number,
    /** Receives each block (a reused 4 KiB buffer: copy it). */
    private readonly sink: (block: Uint8Array) => void,
  ) {}

  /**
   * Cuts extents from `src[from, to)`, whose first byte is at file offset `pos`. Unless `final`,
   * stops while less than MAX_EXTENT bytes are left (more input may extend them). Returns how
   * many bytes of `src` were used.
   */
  run(src: Uint8Array, from: number, to: number, final: boolean): number {
    const begin = from;
    while (from < to && (final || to - from >= MAX_EXTENT)) {
      const avail = Math.min(to - from, MAX_EXTENT);
      const r = lz4CompressDestSize(src, from, from + avail, this.out, BLK);
      const block = this.block;
      // A compressed extent must either cover more than a block (so heads of extents fall in
      // distinct lclusters) or be the file's last extent. Anything else is stored plain.
      if (r.consumed > BLK || r.consumed === this.size - this.pos) {
        block.fill(0, 0, BLK - r.written);
        block.set(this.out.subarray(0, r.written), BLK - r.written);
        from += this.push(false, r.consumed);
      } else {
        // Plain extents end at an lcluster boundary (or EOF within the lcluster): Linux maps a
        // plain extent up to the end of the lcluster being read and rejects it when that is
        // longer than its one block.
        const n = Math.min(BLK - (this.pos % BLK), to - from);
        block.set(src.subarray(from, from + n));
        block.fill(0, n);
        from += this.push(true, n);
      }
    }
    return from - begin;
  }

  private push(plain: boolean, n: number): number {
    this.starts.push(this.pos);
    this.plain.push(plain);
    this.sink(this.block);
    this.pos += n;
    return n;
  }
}

/** z_erofs_map_header h_advise bit: 2-byte packs (16 lclusters in 32 bytes) in the middle. */
const ADVISE_COMPACTED_2B = 0x0001;
const TYPE_PLAIN = 0;
const TYPE_HEAD1 = 1;
const TYPE_NONHEAD = 2;

/**
 * Where the compact index regions fall for a file of `totalidx` lclusters whose index area
 * starts at byte `ebase` (mod 32): 4-byte packs (2 lclusters in 8 bytes) up to 32-byte
 * alignment, then 2-byte packs (16 lclusters in 32 bytes), then 4-byte packs again.
 */
function compactRegions(totalidx: number, ebase: number) {
  const init = ((32 - (ebase % 32)) / 4) & 7;
  const two = init < totalidx ? Math.floor((totalidx - init) / 16) * 16 : 0;
  return { init, two };
}

/** Bytes of the compact index area (after the 8-byte map header). */
export function compactIndexBytes(totalidx: number, ebase: number): number {
  const { init, two } = compactRegions(totalidx, ebase);
  if (init >= totalidx) return Math.ceil(totalidx / 2) * 8;
  return init * 4 + two * 2 + Math.ceil((totalidx - init - two) / 2) * 8;
}

/**
 * The compact lcluster indexes of a file (8-byte map header first), for the
 * EROFS_INODE_COMPRESSED_COMPACT layout. `ebase` is the absolute byte offset of the index area
 * (after the header). Each pack is a little-endian bit stream of per-lcluster entries (12-bit
 * value, 2-bit type) followed by a 32-bit base: a head's block is the base plus one plus the
 * number of heads before it in the pack. A NONHEAD's value is the distance back to its head,
 * except in a pack's last slot, where it is the distance forward to the next head.
 */
export function compactIndexes(
  size: number,
  starts: readonly number[],
  plain: readonly boolean[],
  firstBlock: number,
  ebase: number,
): Uint8Array {
  const totalidx = Math.ceil(size / BLK);
  const out = new Uint8Array(8 + compactIndexBytes(totalidx, ebase));
  const v = new DataView(out.buffer);
  v.setUint16(4, ADVISE_COMPACTED_2B, true);
  // Per lcluster: type, value for slots that are not a pack's last, value for the last slot.
  const heads: number[] = []; // extent index of each lcluster's extent
  let h = 0;
  for (let lcn = 0; lcn < totalidx; lcn++) {
    while (h + 1 < starts.length && Math.floor((starts[h + 1] as number) / BLK) <= lcn) h++;
    heads.push(h);
  }
  const { init, two } = compactRegions(totalidx, ebase);
  let o = 8;
  let lcn = 0;
  const pack = (vcnt: number, bits: number) => {
    const bytes = (vcnt * bits) / 8 + 4;
    const firstHeadExtent = heads[lcn] as number;
    // Extents whose head lies before this pack: the one holding `lcn` if `lcn` is not its head.
    const before =
      Math.floor((starts[firstHeadExtent] as number) / BLK) < lcn
        ? firstHeadExtent + 1
        : firstHeadExtent;
    let acc = 0n;
    for (let slot = 0; slot < vcnt; slot++, lcn++) {
      let type = TYPE_HEAD1;
      let value = 0;
      if (lcn < totalidx) {
        const e = heads[lcn] as number;
        const headLcn = Math.floor((starts[e] as number) / BLK);
        if (headLcn === lcn) {
          type = plain[e] ? TYPE_PLAIN : TYPE_HEAD1;
          value = (starts[e] as number) % BLK;
        } else {
          type = TYPE_NONHEAD;
          const next = starts[e + 1];
          const nextLcn = next !== undefined ? Math.floor(next / BLK) : totalidx;
          value = slot === vcnt - 1 ? nextLcn - lcn : lcn - headLcn;
        }
      }
      acc |= BigInt(value | (type << 12)) << BigInt(slot * bits);
    }
    for (let i = 0; i < bytes - 4; i++) out[o + i] = Number((acc >> BigInt(8 * i)) & 0xffn);
    v.setUint32(o + bytes - 4, (firstBlock + before - 1) >>> 0, true);
    o += bytes;
  };
  if (init >= totalidx) {
    while (lcn < totalidx) pack(2, 16);
  } else {
    while (lcn < init) pack(2, 16);
    while (lcn < init + two) pack(16, 14);
    while (lcn < totalidx) pack(2, 16);
  }
  return out;
}
