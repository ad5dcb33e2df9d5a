/** Streaming decompression of layer blobs: gzip (zlib), zstd (fzstd, pure JS) or plain tar. */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { ImageError } from './errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export function detectCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** Re-emits `first` then the rest of an iterator. */
async function* prepend(first: Buffer[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Buffer> {
  for (const b of first) yield b;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield Buffer.isBuffer(r.value)
      ? r.value
      : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
  }
}

async function* zstdStream(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  const d = new Decompress((chunk) => {
    out.push(Buffer.from(chunk)); // copy: the decoder may reuse its window
  });
  try {
    for await (const c of src) {
      d.push(c);
      if (out.length) {
        const o = out;
        out = [];
        yield* o;
      }
    }
    d.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(`zstd: corrupt stream (${(e as Error).message})`);
  }
  yield* out;
}

async function* gunzipStream(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const gz = createGunzip({ chunkSize: 256 * 1024 });
  const input = Readable.from(src, { objectMode: false });
  // a deeper output buffer lets zlib (on the thread pool) run ahead of tar parsing
  const out = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  input.on('error', (e) => gz.destroy(e));
  gz.on('error', (e) => out.destroy(e));
  input.pipe(gz).pipe(out);
  try {
    for await (const c of out) yield c as Buffer;
  } catch (e) {
    if (e instanceof ImageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR') throw new ImageError('gzip: truncated stream');
    if (typeof code === 'string' && code.startsWith('Z_'))
      throw new ImageError(`gzip: corrupt stream (${(e as Error).message})`);
    throw e;
  } finally {
    input.destroy();
    gz.destroy();
    out.destroy();
  }
}

/** Detects the compression from the first bytes and yields the decompressed stream. */
export async function* decompress(
  src: AsyncIterable<Uint8Array>,
  onDetect?: (c: Compression) => void,
): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let n = 0;
  while (n < 4) {
    const r = await it.next();
    if (r.done) break;
    const b = Buffer.isBuffer(r.value)
      ? r.value
      : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
    head.push(b);
    n += b.length;
  }
  const c = detectCompression(Buffer.concat(head));
  onDetect?.(c);
  const all = prepend(head, it);
  if (c === 'gzip') yield* gunzipStream(all);
  else if (c === 'zstd') yield* zstdStream(all);
  else yield* all;
}

/** Passes chunks through while hashing and counting them. */
export class HashTap {
  private h: ReturnType<typeof createHash> | null;
  bytes = 0;
  readonly algo: string;
  /** `limit`: throw as soon as more bytes than this arrive (a size mismatch). */
  /** `algo` null: count bytes only. */
  constructor(
    algo: string | null = 'sha256',
    private readonly limit = Number.POSITIVE_INFINITY,
    private readonly what = 'blob',
  ) {
    this.h = algo ? createHash(algo) : null;
    this.algo = algo ?? 'none';
  }
  async *tap(src: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    for await (const c of src) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length);
      this.h?.update(b);
      this.bytes += b.length;
      if (this.bytes > this.limit)
        throw new ImageError(
          `${this.what}: size mismatch (more than the expected ${this.limit} bytes)`,
        );
      yield b;
    }
  }
  private result: string | undefined;
  digest(): string {
    this.result ??= `${this.algo}:${this.h?.digest('hex') ?? ''}`;
    return this.result;
  }
}
