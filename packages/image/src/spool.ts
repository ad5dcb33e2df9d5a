/**
 * Content-addressed spool for file bytes while layers are applied: one append-only pack file
 * on disk, deduplicated by sha256. Memory use is one write buffer, whatever the image size.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageError } from './errors.js';
import { type FileContent, fileContent } from './tree.js';

const BUF_SIZE = 4 * 1024 * 1024;

export class ContentSpool {
  readonly dir: string;
  readonly path: string;
  private fd: FileHandle | null = null;
  private buf = Buffer.allocUnsafe(BUF_SIZE);
  private bufLen = 0;
  /** Bytes already written to the file; the buffer holds the bytes after that. */
  private flushed = 0;
  /** Distinct contents stored, by size. */
  private readonly bySize = new Map<number, FileContent[]>();
  /** Bytes stored (after deduplication). */
  get size(): number {
    return this.flushed + this.bufLen;
  }
  private distinct = 0;
  /** Number of distinct contents. */
  get count(): number {
    return this.distinct;
  }

  private constructor(dir: string) {
    this.dir = dir;
    this.path = join(dir, 'content.pack');
  }

  /** Creates a spool in a new directory under `parent` (default: the OS temp dir). */
  static async create(parent?: string): Promise<ContentSpool> {
    const s = new ContentSpool(mkdtempSync(join(parent ?? tmpdir(), 'c2w-spool-')));
    s.fd = await open(s.path, 'w+');
    return s;
  }

  private async flush(): Promise<void> {
    if (!this.fd) throw new Error('spool closed');
    let off = 0;
    while (off < this.bufLen) {
      const { bytesWritten } = await this.fd.write(
        this.buf,
        off,
        this.bufLen - off,
        this.flushed + off,
      );
      off += bytesWritten;
    }
    this.flushed += this.bufLen;
    this.bufLen = 0;
  }

  private async append(chunk: Buffer): Promise<void> {
    if (this.bufLen + chunk.length > BUF_SIZE) await this.flush();
    if (chunk.length >= BUF_SIZE) {
      if (!this.fd) throw new Error('spool closed');
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await this.fd.write(
          chunk,
          off,
          chunk.length - off,
          this.flushed + off,
        );
        off += bytesWritten;
      }
      this.flushed += chunk.length;
      return;
    }
    chunk.copy(this.buf, this.bufLen);
    this.bufLen += chunk.length;
  }

  /**
   * Stores a stream of exactly `expectedSize` bytes; returns where they live. Contents are
   * hashed only when an earlier one has the same size (then that one is hashed too, once):
   * most files have a size of their own, and hashing them all costs more than the rest.
   */
  async add(
    chunks: AsyncIterable<Uint8Array>,
    expectedSize: number,
    what = 'file',
  ): Promise<FileContent> {
    const start = this.size;
    const same = this.bySize.get(expectedSize);
    const h = same ? createHash('sha256') : null;
    let n = 0;
    for await (const c of chunks) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length);
      h?.update(b);
      n += b.length;
      await this.append(b);
    }
    if (n !== expectedSize)
      throw new ImageError(`${what}: expected ${expectedSize} bytes, got ${n}`);
    if (!same || !h) {
      const fc = fileContent(this.path, start, n);
      this.bySize.set(n, [fc]);
      this.distinct++;
      return fc;
    }
    const digest = h.digest('hex');
    for (const fc of same) {
      fc.sha256 ??= await this.hashOf(fc);
      if (fc.sha256 === digest) {
        if (start >= this.flushed) this.bufLen = start - this.flushed; // drop the duplicate bytes
        return fc;
      }
    }
    const fc = fileContent(this.path, start, n, digest);
    same.push(fc);
    this.distinct++;
    return fc;
  }

  /** sha256 of stored bytes (still in the buffer, or already in the file). */
  private async hashOf(fc: FileContent): Promise<string> {
    const h = createHash('sha256');
    const end = fc.offset + fc.size;
    if (fc.offset < this.flushed) {
      if (!this.fd) throw new Error('spool closed');
      const upto = Math.min(end, this.flushed);
      const tmp = Buffer.allocUnsafe(Math.min(upto - fc.offset, BUF_SIZE));
      for (let pos = fc.offset; pos < upto; ) {
        const { bytesRead } = await this.fd.read(tmp, 0, Math.min(tmp.length, upto - pos), pos);
        if (bytesRead === 0) throw new Error('spool: short read');
        h.update(tmp.subarray(0, bytesRead));
        pos += bytesRead;
      }
    }
    if (end > this.flushed) {
      h.update(
        this.buf.subarray(Math.max(fc.offset, this.flushed) - this.flushed, end - this.flushed),
      );
    }
    return h.digest('hex');
  }

  /** Makes every stored content readable through FileContent.open(). */
  async finish(): Promise<void> {
    if (this.fd) {
      await this.flush();
      await this.fd.close();
      this.fd = null;
    }
  }

  /** Deletes the spool directory. Contents are unreadable afterwards. */
  async dispose(): Promise<void> {
    if (this.fd) {
      await this.fd.close().catch(() => {});
      this.fd = null;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
