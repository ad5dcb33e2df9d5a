/**
 * EROFS image writer (Linux fs/erofs on-disk format, 4 KiB blocks).
 *
 * Layout: block 0 holds the superblock at byte 1024, then the shared xattr area
 * (xattr_blkaddr = 0), then inode records (meta_blkaddr = 0, nid = byte offset / 32). An inode
 * record is the 32- or 64-byte inode, its inline xattrs and either its tail-packed data
 * (FLAT_INLINE) or, for compressed files, the map header and the lcluster indexes. Records of
 * at most one block never cross a block boundary; they are placed first-fit over a small window
 * of partly filled blocks. File and directory data blocks follow the metadata, written in one
 * sequential pass in inode order while file contents stream through.
 */
import {
  closeSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createOutput, FsImageError } from './errors.js';
import { BLK, compactIndexBytes, compactIndexes, ExtentSplitter, MAX_EXTENT } from './extents.js';
import { compareBytes, forEachChunk, type Inode, type PreparedTree, prepareTree } from './tree.js';
import type { FsTree } from './types.js';
import { CompressPool, MAX_JOB, type RangeJob, type RangeResult } from './zpool.js';

const BLKBITS = 12;
const SB_OFFSET = 1024;
const SB_SIZE = 128;
const MAGIC = 0xe0f5e1e2;
const FEATURE_COMPAT_MTIME = 0x2;
const FEATURE_INCOMPAT_ZERO_PADDING = 0x1;
const MAX_BLOCKS = 0xffffffff;

const LAYOUT_FLAT_PLAIN = 0;
const LAYOUT_COMPRESSED_COMPACT = 3;
const LAYOUT_FLAT_INLINE = 2;

const FT: Record<Inode['kind'], number> = {
  file: 1,
  dir: 2,
  char: 3,
  block: 4,
  fifo: 5,
  socket: 6,
  symlink: 7,
};

/** Open meta blocks considered for first-fit placement. */
const META_WINDOW = 16;

export interface ErofsOptions {
  /** 'lz4': regular files larger than one block are LZ4-compressed (4 KiB pclusters). */
  compression?: 'lz4' | 'none';
  /**
   * Time compact (32-byte) inodes inherit. Default: the most common mtime in the tree, so that
   * most inodes can be compact. Inodes with another mtime use the 64-byte form.
   */
  buildTime?: { sec: number; nsec: number };
  /** Filesystem UUID (16 bytes). Default: all zero (reproducible). */
  uuid?: Uint8Array;
  /** Volume label, at most 16 bytes. */
  volumeName?: string;
  /** Refuse to write an image larger than this many bytes ("tree too big"). */
  maxBytes?: number;
  /**
   * LZ4: threads compressing files read from host file ranges (the image is the same bytes
   * either way). Default: 2 when the files total 8 MB or more and a core is spare, else 1.
   */
  threads?: 1 | 2;
  /** Called after each inode with the file bytes written so far and the total to write. */
  onProgress?: (done: number, total: number) => void;
}

export interface ErofsResult {
  bytes: number;
  blocks: number;
  inodes: number;
  rootNid: number;
}

interface XattrEntry {
  bytes: Uint8Array;
  key: string;
}

interface Plan {
  inode: Inode;
  ino: number;
  off: number;
  extended: boolean;
  layout: number;
  /** Encoded xattr ibody (header, shared ids, inline entries), or empty. */
  xattrBody: Uint8Array;
  /** Bytes of data stored inline after the xattrs. */
  tail: number;
  recordSize: number;
  /** Directories: the dirents per block and the directory size. */
  dirBlocks?: { name: Uint8Array; inode: Inode }[][];
  size: number;
}

const enc = new TextEncoder();

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function xattrNameParts(path: string, name: string): { index: number; suffix: Uint8Array } {
  if (name === 'system.posix_acl_access') return { index: 2, suffix: new Uint8Array(0) };
  if (name === 'system.posix_acl_default') return { index: 3, suffix: new Uint8Array(0) };
  for (const [prefix, index] of [
    ['user.', 1],
    ['trusted.', 4],
    ['security.', 6],
  ] as const) {
    if (name.startsWith(prefix) && name.length > prefix.length) {
      const suffix = enc.encode(name.slice(prefix.length));
      if (suffix.length > 255) {
        throw new FsImageError(
          `${JSON.stringify(path)}: xattr name ${JSON.stringify(name)} too long`,
        );
      }
      return { index, suffix };
    }
  }
  throw new FsImageError(
    `${JSON.stringify(path)}: xattr ${JSON.stringify(name)} is not in a namespace EROFS stores (user., trusted., security., system.posix_acl_*)`,
  );
}

function encodeXattr(path: string, name: string, value: Uint8Array): XattrEntry {
  const { index, suffix } = xattrNameParts(path, name);
  if (value.length > 0xffff) {
    throw new FsImageError(
      `${JSON.stringify(path)}: xattr ${JSON.stringify(name)} value too large`,
    );
  }
  const bytes = new Uint8Array(align(4 + suffix.length + value.length, 4));
  bytes[0] = suffix.length;
  bytes[1] = index;
  bytes[2] = value.length & 0xff;
  bytes[3] = value.length >> 8;
  bytes.set(suffix, 4);
  bytes.set(value, 4 + suffix.length);
  return { bytes, key: Buffer.from(bytes).toString('latin1') };
}

function encodeRdev(major: number, minor: number): number {
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

function mostCommonMtime(inodes: Inode[]): { sec: number; nsec: number } {
  const counts = new Map<string, number>();
  let best = { sec: 0, nsec: 0 };
  let bestCount = 0;
  for (const i of inodes) {
    const k = `${i.mtimeSec}.${i.mtimeNsec}`;
    const c = (counts.get(k) ?? 0) + 1;
    counts.set(k, c);
    if (
      c > bestCount ||
      (c === bestCount &&
        (i.mtimeSec < best.sec || (i.mtimeSec === best.sec && i.mtimeNsec < best.nsec)))
    ) {
      bestCount = c;
      best = { sec: i.mtimeSec, nsec: i.mtimeNsec };
    }
  }
  return best;
}

function dirBlocksOf(inode: Inode): {
  blocks: { name: Uint8Array; inode: Inode }[][];
  size: number;
} {
  const ents = [
    { name: enc.encode('.'), inode },
    { name: enc.encode('..'), inode: inode.parent ?? inode },
    ...(inode.children ?? []),
  ].sort((a, b) => compareBytes(a.name, b.name));
  const blocks: { name: Uint8Array; inode: Inode }[][] = [];
  let cur: { name: Uint8Array; inode: Inode }[] = [];
  let used = 0;
  for (const e of ents) {
    const need = 12 + e.name.length;
    if (used + need > BLK) {
      blocks.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(e);
    used += need;
  }
  blocks.push(cur);
  return { blocks, size: (blocks.length - 1) * BLK + used };
}

/** First-fit allocator of inode records in the metadata area. */
class MetaAllocator {
  open: { blk: number; used: number }[] = [];
  nextBlk: number;
  constructor(start: number) {
    this.nextBlk = Math.ceil(start / BLK);
    if (start % BLK) this.open.push({ blk: Math.floor(start / BLK), used: start % BLK });
  }
  alloc(size: number): number {
    if (size > BLK) {
      const off = this.nextBlk * BLK;
      this.nextBlk += Math.ceil(size / BLK);
      if (size % BLK) this.addOpen({ blk: this.nextBlk - 1, used: size % BLK });
      return off;
    }
    for (let i = 0; i < this.open.length; i++) {
      const o = this.open[i] as { blk: number; used: number };
      const start = align(o.used, 32);
      if (start + size <= BLK) {
        o.used = start + size;
        if (BLK - o.used < 32) this.open.splice(i, 1);
        return o.blk * BLK + start;
      }
    }
    const blk = this.nextBlk++;
    this.addOpen({ blk, used: size });
    return blk * BLK;
  }
  private addOpen(o: { blk: number; used: number }) {
    if (BLK - o.used < 32) return;
    this.open.push(o);
    if (this.open.length > META_WINDOW) {
      let worst = 0;
      for (let i = 1; i < this.open.length; i++) {
        if ((this.open[i]?.used ?? 0) > (this.open[worst]?.used ?? 0)) worst = i;
      }
      this.open.splice(worst, 1);
    }
  }
}

function changedSize(inode: Inode, got: number | string): FsImageError {
  return new FsImageError(
    `${JSON.stringify(inode.path)}: file changed size while read (declared ${inode.size} bytes, read ${got})`,
  );
}

/** Reads `inode.size` bytes of `file` from `offset`: the first `fullLen` into `data`, the rest into `tail`. */
function readDirect(
  inode: Inode,
  file: string,
  offset: number,
  whole: boolean,
  fullLen: number,
  tail: Uint8Array | undefined,
  data: DataWriter,
) {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw new FsImageError(`${JSON.stringify(inode.path)}: cannot open ${JSON.stringify(file)}`);
  }
  try {
    if (data.readWhole(inode, fd, offset, whole, fullLen, tail)) return;
    const n = data.readFrom(fd, offset, fullLen);
    if (n < fullLen) throw changedSize(inode, n);
    let got = fullLen;
    if (tail) {
      while (got < inode.size) {
        const r = readSync(fd, tail, got - fullLen, inode.size - got, offset + got);
        if (r === 0) throw changedSize(inode, got);
        got += r;
      }
    }
    if (whole && readSync(fd, Buffer.alloc(1), 0, 1, offset + got) > 0)
      throw changedSize(inode, 'more');
  } finally {
    closeSync(fd);
  }
}

/** Sequential writer of the data area, buffered. */
class DataWriter {
  private buf = Buffer.alloc(4 << 20);
  private len = 0;
  constructor(
    private fd: number,
    public pos: number,
    private limit: number,
  ) {}
  write(data: Uint8Array) {
    let o = 0;
    if (this.pos + data.length > this.limit) this.tooBig();
    while (o < data.length) {
      const n = Math.min(data.length - o, this.buf.length - this.len);
      this.buf.set(data.subarray(o, o + n), this.len);
      this.len += n;
      this.pos += n;
      o += n;
      if (this.len === this.buf.length) this.flush();
    }
  }
  /** Reads up to `n` bytes of `fd` at `pos` into the data area; returns how many it got. */
  readFrom(fd: number, pos: number, n: number): number {
    if (this.pos + n > this.limit) this.tooBig();
    let got = 0;
    while (got < n) {
      const want = Math.min(n - got, this.buf.length - this.len);
      const r = readSync(fd, this.buf, this.len, want, pos + got);
      if (r === 0) break;
      this.len += r;
      this.pos += r;
      got += r;
      if (this.len === this.buf.length) this.flush();
    }
    return got;
  }
  /**
   * Files that fit in the buffer: one read of the whole range (plus one byte, to see a file
   * that grew) straight into the buffer; the tail is copied out. False when the file is too big.
   */
  readWhole(
    inode: Inode,
    fd: number,
    offset: number,
    whole: boolean,
    fullLen: number,
    tail: Uint8Array | undefined,
  ): boolean {
    const size = inode.size;
    const want = size + (whole ? 1 : 0);
    if (want + BLK > this.buf.length) return false;
    if (this.pos + fullLen > this.limit) this.tooBig();
    if (this.len + want + BLK > this.buf.length) this.flush();
    let got = 0;
    while (got < want) {
      const ask = want - got;
      const r = readSync(fd, this.buf, this.len + got, ask, offset + got);
      got += r;
      // A short read that reaches the declared size is the end of the file.
      if (r === 0 || (r < ask && got >= size)) break;
    }
    if (got !== size) throw changedSize(inode, got > size ? 'more' : got);
    if (tail) tail.set(this.buf.subarray(this.len + fullLen, this.len + size));
    this.len += fullLen;
    this.pos += fullLen;
    return true;
  }
  /** Zero-fills up to the next block boundary. */
  pad() {
    const r = this.pos % BLK;
    if (!r) return;
    const n = BLK - r;
    if (this.pos + n > this.limit) this.tooBig();
    if (this.len + n > this.buf.length) this.flush();
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    this.pos += n;
  }
  get block(): number {
    return this.pos / BLK;
  }
  tooBig(): never {
    throw new FsImageError(`tree too big: the image would exceed ${this.limit} bytes`);
  }
  flush() {
    if (this.len) writeSync(this.fd, this.buf, 0, this.len, this.pos - this.len);
    this.len = 0;
  }
}

/** Metadata blocks per slab: a slab is written (one write) once every record in it is. */
const SLAB_BLOCKS = 256;

/** Buffers the metadata area in slabs until every record placed in them is written. */
class MetaWriter {
  private slabs = new Map<number, Buffer>();
  /** Records not yet written, per slab. */
  private pending: number[] = [];
  constructor(
    private fd: number,
    private prefix: Uint8Array,
    /** End of the metadata area (bytes). */
    private end: number,
  ) {}
  private each(off: number, size: number, fn: (slab: number) => void) {
    const last = Math.floor((off + size - 1) / (BLK * SLAB_BLOCKS));
    for (let s = Math.floor(off / (BLK * SLAB_BLOCKS)); s <= last; s++) fn(s);
  }
  reserve(off: number, size: number) {
    this.each(off, size, (s) => {
      this.pending[s] = (this.pending[s] ?? 0) + 1;
    });
  }
  private slab(s: number): Buffer {
    let buf = this.slabs.get(s);
    if (!buf) {
      const start = s * BLK * SLAB_BLOCKS;
      buf = Buffer.alloc(Math.min(BLK * SLAB_BLOCKS, this.end - start));
      if (start < this.prefix.length) buf.set(this.prefix.subarray(start, start + buf.length));
      this.slabs.set(s, buf);
    }
    return buf;
  }
  /** The bytes of a record of at most one block, to fill in place; `release` it when done. */
  view(off: number, size: number): Buffer {
    const s = Math.floor(off / (BLK * SLAB_BLOCKS));
    const o = off - s * BLK * SLAB_BLOCKS;
    return this.slab(s).subarray(o, o + size);
  }
  release(off: number, size: number) {
    this.each(off, size, (s) => {
      const left = (this.pending[s] ?? 1) - 1;
      this.pending[s] = left;
      if (left === 0) this.flush(s);
    });
  }
  private flush(s: number) {
    const buf = this.slab(s);
    writeSync(this.fd, buf, 0, buf.length, s * BLK * SLAB_BLOCKS);
    this.slabs.delete(s);
    this.pending[s] = -1;
  }
  write(off: number, data: Uint8Array) {
    let o = 0;
    while (o < data.length) {
      const n = Math.min(BLK - ((off + o) % BLK), data.length - o);
      this.view(off + o, n).set(data.subarray(o, o + n));
      o += n;
    }
    this.release(off, data.length);
  }
  /** Writes the slabs no record was placed in (the superblock's, when the tree is empty). */
  finish() {
    for (let s = 0; s * BLK * SLAB_BLOCKS < this.end; s++) {
      if (this.pending[s] !== -1) this.flush(s);
    }
  }
}

function writeU64(b: Buffer, off: number, v: number) {
  const hi = Math.floor(v / 0x100000000);
  b.writeUInt32LE(v - hi * 0x100000000, off);
  b.writeUInt32LE(hi >>> 0, off + 4);
}

/** Writes the 32- or 64-byte on-disk inode of `p` at the start of `b`; returns its size. */
function encodeInodeInto(b: Buffer, p: Plan, iu: number): number {
  const i = p.inode;
  const icount = p.xattrBody.length ? 1 + (p.xattrBody.length - 12) / 4 : 0;
  if (!p.extended) {
    b.writeUInt16LE(p.layout << 1, 0);
    b.writeUInt16LE(icount, 2);
    b.writeUInt16LE(i.mode, 4);
    b.writeUInt16LE(i.nlink, 6);
    b.writeUInt32LE(p.size, 8);
    b.writeUInt32LE(0, 12);
    b.writeUInt32LE(iu, 16);
    b.writeUInt32LE(p.ino, 20);
    b.writeUInt16LE(i.uid, 24);
    b.writeUInt16LE(i.gid, 26);
    b.writeUInt32LE(0, 28);
    return 32;
  }
  b.writeUInt16LE(1 | (p.layout << 1), 0);
  b.writeUInt16LE(icount, 2);
  b.writeUInt16LE(i.mode, 4);
  b.writeUInt16LE(0, 6);
  writeU64(b, 8, p.size);
  b.writeUInt32LE(iu, 16);
  b.writeUInt32LE(p.ino, 20);
  b.writeUInt32LE(i.uid, 24);
  b.writeUInt32LE(i.gid, 28);
  writeU64(b, 32, i.mtimeSec);
  b.writeUInt32LE(i.mtimeNsec, 40);
  b.writeUInt32LE(i.nlink, 44);
  b.fill(0, 48, 64);
  return 64;
}

/** Plans the whole image: inode forms, xattrs, record sizes and nids. */
function plan(tree: PreparedTree, opts: ErofsOptions) {
  const compress = opts.compression === 'lz4';
  const buildTime = opts.buildTime ?? mostCommonMtime(tree.inodes);
  // Xattrs: entries used by several inodes go to the shared area when that saves space.
  const encoded = new Map<Inode, XattrEntry[]>();
  const counts = new Map<string, { e: XattrEntry; n: number }>();
  for (const inode of tree.inodes) {
    const list = inode.xattrs.map((x) => encodeXattr(inode.path, x.name, x.value));
    encoded.set(inode, list);
    for (const e of list) {
      const c = counts.get(e.key);
      if (c) c.n++;
      else counts.set(e.key, { e, n: 1 });
    }
  }
  const shared = [...counts.values()]
    .filter((c) => c.n >= 2 && (c.n - 1) * c.e.bytes.length > 4 * c.n)
    .map((c) => c.e)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const sharedStart = SB_OFFSET + SB_SIZE;
  const sharedId = new Map<string, number>();
  let sharedSize = 0;
  for (const e of shared) {
    sharedId.set(e.key, (sharedStart + sharedSize) / 4);
    sharedSize += e.bytes.length;
  }
  const prefix = new Uint8Array(sharedStart + sharedSize);
  {
    let o = sharedStart;
    for (const e of shared) {
      prefix.set(e.bytes, o);
      o += e.bytes.length;
    }
  }

  const alloc = new MetaAllocator(align(prefix.length, 32));
  const plans: Plan[] = [];
  let ino = 0;
  for (const inode of tree.inodes) {
    const list = encoded.get(inode) ?? [];
    let xattrBody: Uint8Array = new Uint8Array(0);
    if (list.length) {
      const sharedIds: number[] = [];
      const inline: XattrEntry[] = [];
      for (const e of list) {
        const id = sharedId.get(e.key);
        if (id !== undefined) sharedIds.push(id);
        else inline.push(e);
      }
      if (sharedIds.length > 255) {
        throw new FsImageError(`${JSON.stringify(inode.path)}: too many xattrs`);
      }
      const len = 12 + 4 * sharedIds.length + inline.reduce((s, e) => s + e.bytes.length, 0);
      if ((len - 12) / 4 + 1 > 0xffff) {
        throw new FsImageError(`${JSON.stringify(inode.path)}: xattrs too large`);
      }
      xattrBody = new Uint8Array(len);
      const v = new DataView(xattrBody.buffer);
      xattrBody[4] = sharedIds.length;
      let o = 12;
      for (const id of sharedIds) {
        v.setUint32(o, id, true);
        o += 4;
      }
      for (const e of inline) {
        xattrBody.set(e.bytes, o);
        o += e.bytes.length;
      }
    }
    let size = inode.size;
    let dirBlocks: Plan['dirBlocks'];
    if (inode.kind === 'dir') {
      const d = dirBlocksOf(inode);
      dirBlocks = d.blocks;
      size = d.size;
    }
    const extended =
      inode.uid > 0xffff ||
      inode.gid > 0xffff ||
      inode.nlink > 0xffff ||
      size > 0xffffffff ||
      inode.mtimeSec !== buildTime.sec ||
      inode.mtimeNsec !== buildTime.nsec;
    const metaSize = (extended ? 64 : 32) + xattrBody.length;
    let layout = LAYOUT_FLAT_PLAIN;
    let tail = 0;
    let recordSize = metaSize;
    const hasData = inode.kind === 'file' || inode.kind === 'dir' || inode.kind === 'symlink';
    if (compress && inode.kind === 'file' && size > BLK) {
      layout = LAYOUT_COMPRESSED_COMPACT;
      // Records start 32-byte aligned, so the index area's alignment is known here.
      const ebase = align(metaSize, 8) + 8;
      recordSize = ebase + compactIndexBytes(Math.ceil(size / BLK), ebase);
    } else if (hasData && size % BLK !== 0 && metaSize + (size % BLK) <= BLK) {
      layout = LAYOUT_FLAT_INLINE;
      tail = size % BLK;
      recordSize = metaSize + tail;
    }
    const off = alloc.alloc(recordSize);
    ino++;
    plans.push({
      inode,
      ino,
      off,
      extended,
      layout,
      xattrBody,
      tail,
      recordSize,
      size,
      ...(dirBlocks ? { dirBlocks } : {}),
    });
  }
  const rootNid = (plans[0] as Plan).off / 32;
  if (rootNid > 0xffff) throw new FsImageError('tree too big: root inode beyond nid 65535');
  return { plans, prefix, buildTime, metaBlocks: alloc.nextBlk, compress };
}

function encodeDirBlock(
  ents: { name: Uint8Array; inode: Inode }[],
  nidOf: Map<Inode, number>,
  len: number,
): Uint8Array {
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  let nameoff = 12 * ents.length;
  ents.forEach((e, i) => {
    const nid = nidOf.get(e.inode) as number;
    v.setUint32(i * 12, nid % 0x100000000, true);
    v.setUint32(i * 12 + 4, Math.floor(nid / 0x100000000), true);
    v.setUint16(i * 12 + 8, nameoff, true);
    b[i * 12 + 10] = FT[e.inode.kind];
    b.set(e.name, nameoff);
    nameoff += e.name.length;
  });
  return b;
}

function tempPath(outPath: string): string {
  return join(
    dirname(outPath),
    `.${basename(outPath)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`,
  );
}

/** Writes `tree` as an EROFS image to `outPath` (via a temporary file renamed at the end). */
export async function writeErofs(
  tree: FsTree,
  outPath: string,
  options: ErofsOptions = {},
): Promise<ErofsResult> {
  const prepared = prepareTree(tree);
  const { plans, prefix, buildTime, metaBlocks, compress } = plan(prepared, options);
  const nidOf = new Map<Inode, number>();
  for (const p of plans) nidOf.set(p.inode, p.off / 32);
  const limit = Math.min(options.maxBytes ?? Number.POSITIVE_INFINITY, MAX_BLOCKS * BLK);
  if (metaBlocks * BLK > limit) {
    throw new FsImageError(`tree too big: the image would exceed ${limit} bytes`);
  }

  const tmp = tempPath(outPath);
  const fd = createOutput(openSync, tmp, outPath);
  let ok = false;
  let pool: CompressPool | undefined;
  try {
    const meta = new MetaWriter(fd, prefix, metaBlocks * BLK);
    for (const p of plans) meta.reserve(p.off, p.recordSize);
    const data = new DataWriter(fd, metaBlocks * BLK, limit);

    const total = plans.reduce((n, p) => n + (p.inode.kind === 'file' ? p.size : 0), 0);
    let done = 0;
    // Compressed files read from host file ranges go through the two-thread pool, in order.
    const jobOf = new Map<Plan, number>();
    const jobs: RangeJob[] = [];
    for (const p of plans) {
      const range = p.layout === LAYOUT_COMPRESSED_COMPACT ? hostRange(p.inode) : undefined;
      if (range && range.size <= MAX_JOB) {
        jobOf.set(p, jobs.length);
        jobs.push(range);
      }
    }
    pool = jobs.length ? new CompressPool(jobs, options.threads) : undefined;
    for (const p of plans) {
      const inode = p.inode;
      let iu = 0;
      let tailBytes: Uint8Array | undefined;
      let extra: Uint8Array | undefined;
      if (inode.kind === 'char' || inode.kind === 'block') {
        iu = encodeRdev(inode.rdevMajor, inode.rdevMinor);
      } else if (p.layout === LAYOUT_COMPRESSED_COMPACT) {
        const job = jobOf.get(p);
        const r =
          job !== undefined && pool
            ? writeExtents(p, await pool.get(job), data)
            : await writeCompressed(p, data);
        iu = r.blocks;
        extra = r.indexes;
      } else if (inode.kind === 'dir' || inode.kind === 'symlink' || inode.kind === 'file') {
        const fullLen = p.layout === LAYOUT_FLAT_INLINE ? p.size - p.tail : p.size;
        const startBlock = data.block;
        if (p.tail) {
          // Tail-packed data goes straight into the inode record in its metadata block.
          const hl = p.extended ? 64 : 32;
          tailBytes = meta.view(p.off, p.recordSize).subarray(hl + p.xattrBody.length);
        }
        let pos = 0;
        const put = (c: Uint8Array) => {
          if (pos < fullLen) {
            const n = Math.min(c.length, fullLen - pos);
            data.write(n === c.length ? c : c.subarray(0, n));
            if (n < c.length) (tailBytes as Uint8Array).set(c.subarray(n), 0);
          } else {
            (tailBytes as Uint8Array).set(c, pos - fullLen);
          }
          pos += c.length;
        };
        if (inode.kind === 'dir') {
          const blocks = p.dirBlocks ?? [];
          blocks.forEach((ents, i) => {
            const len = i === blocks.length - 1 ? p.size - i * BLK : BLK;
            put(encodeDirBlock(ents, nidOf, len));
          });
        } else if (inode.kind === 'symlink') {
          put(inode.target as Uint8Array);
        } else {
          const range = hostRange(inode);
          if (range) {
            // Fast path: host file ranges are read straight into the output buffer.
            readDirect(inode, range.path, range.offset, range.whole, fullLen, tailBytes, data);
          } else {
            const pending = forEachChunk(inode, put);
            if (pending) await pending;
          }
        }
        data.pad();
        if (fullLen > 0) iu = startBlock;
      }
      if (p.recordSize <= BLK) {
        const rec = meta.view(p.off, p.recordSize);
        const hl = encodeInodeInto(rec, p, iu);
        rec.set(p.xattrBody, hl);
        if (extra) rec.set(extra, align(hl + p.xattrBody.length, 8));
        meta.release(p.off, p.recordSize);
      } else {
        const rec = Buffer.alloc(p.recordSize);
        const hl = encodeInodeInto(rec, p, iu);
        rec.set(p.xattrBody, hl);
        if (tailBytes) rec.set(tailBytes, hl + p.xattrBody.length);
        if (extra) rec.set(extra, align(hl + p.xattrBody.length, 8));
        meta.write(p.off, rec);
      }
      if (options.onProgress) {
        if (inode.kind === 'file') done += p.size;
        options.onProgress(done, total);
      }
    }
    data.flush();
    meta.finish();
    const blocks = data.block;
    if (blocks > MAX_BLOCKS) data.tooBig();
    // Superblock.
    const sb = new Uint8Array(SB_SIZE);
    const v = new DataView(sb.buffer);
    v.setUint32(0, MAGIC, true);
    v.setUint32(8, FEATURE_COMPAT_MTIME, true);
    sb[12] = BLKBITS;
    v.setUint16(14, (plans[0] as Plan).off / 32, true);
    v.setBigUint64(16, BigInt(plans.length), true);
    v.setBigUint64(24, BigInt.asUintN(64, BigInt(buildTime.sec)), true);
    v.setUint32(32, buildTime.nsec, true);
    v.setUint32(36, blocks, true);
    if (options.uuid) sb.set(options.uuid.subarray(0, 16), 48);
    if (options.volumeName) sb.set(enc.encode(options.volumeName).subarray(0, 16), 64);
    v.setUint32(80, compress ? FEATURE_INCOMPAT_ZERO_PADDING : 0, true);
    writeSync(fd, sb, 0, SB_SIZE, SB_OFFSET);
    ftruncateSync(fd, blocks * BLK);
    closeSync(fd);
    renameSync(tmp, outPath);
    ok = true;
    return {
      bytes: blocks * BLK,
      blocks,
      inodes: plans.length,
      rootNid: (plans[0] as Plan).off / 32,
    };
  } finally {
    pool?.close();
    if (!ok) {
      try {
        closeSync(fd);
      } catch {}
      try {
        unlinkSync(tmp);
      } catch {}
    }
  }
}

/** Absolute byte offset of a compressed inode's index area (after its 8-byte map header). */
function indexBase(p: Plan): number {
  return p.off + align((p.extended ? 64 : 32) + p.xattrBody.length, 8) + 8;
}

/** A file's content as a host file range, when it has one (read directly, not via open()). */
function hostRange(inode: Inode): RangeJob | undefined {
  const c = inode.entry?.content;
  if (inode.entry?.openContent || typeof c?.path !== 'string' || typeof c.offset !== 'number') {
    return undefined;
  }
  return { path: c.path, offset: c.offset, size: inode.size, whole: c.wholeFile === true };
}

/** Writes the extents the pool made of a file; returns its indexes and block count. */
function writeExtents(
  p: Plan,
  r: RangeResult,
  data: DataWriter,
): { indexes: Uint8Array; blocks: number } {
  if ('error' in r) {
    const c = p.inode.entry?.content;
    if (r.error === 'open') {
      throw new FsImageError(
        `${JSON.stringify(p.inode.path)}: cannot open ${JSON.stringify(c?.path)}`,
      );
    }
    throw changedSize(p.inode, r.got > p.size ? 'more' : r.got);
  }
  const firstBlock = data.block;
  data.write(r.blocks);
  return {
    indexes: compactIndexes(p.size, r.starts, r.plain, firstBlock, indexBase(p)),
    blocks: r.starts.length,
  };
}

/**
 * Writes one file LZ4-compressed in 4 KiB pclusters, streaming its content through a window.
 * Returns the compact lcluster indexes (map header first) and the block count.
 */
async function writeCompressed(
  p: Plan,
  data: DataWriter,
): Promise<{ indexes: Uint8Array; blocks: number }> {
  const firstBlock = data.block;
  const sp = new ExtentSplitter(p.size, (b) => data.write(b));
  const win = Buffer.alloc(2 * MAX_EXTENT);
  let winLen = 0;
  const add = (c: Uint8Array) => {
    let o = 0;
    while (o < c.length) {
      const n = Math.min(c.length - o, win.length - winLen);
      win.set(c.subarray(o, o + n), winLen);
      winLen += n;
      o += n;
      if (winLen === win.length) {
        const used = sp.run(win, 0, winLen, false);
        // Less than MAX_EXTENT bytes stay: the window never overflows.
        win.copy(win, 0, used, winLen);
        winLen -= used;
      }
    }
  };
  const pending = forEachChunk(p.inode, add);
  if (pending) await pending;
  sp.run(win, 0, winLen, true);
  return {
    indexes: compactIndexes(p.size, sp.starts, sp.plain, firstBlock, indexBase(p)),
    blocks: sp.starts.length,
  };
}
