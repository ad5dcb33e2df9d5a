import { execFileSync } from 'node:child_process';
import { decompress, detectCompression } from '@c2w/image';
import { describe, expect, it } from 'vitest';
import { prng } from '../../../test/fixtures/images/index.js';

async function unpack(b: Buffer, chunk: number): Promise<Buffer> {
  const out: Buffer[] = [];
  const src = (async function* () {
    for (let i = 0; i < b.length; i += chunk) yield b.subarray(i, i + chunk);
  })();
  for await (const c of decompress(src)) out.push(c);
  return Buffer.concat(out);
}

const skippable = (data: string) => {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(0x184d2a50, 0);
  h.writeUInt32LE(data.length, 4);
  return Buffer.concat([h, Buffer.from(data)]);
};

describe('decompression (zstd via fzstd, gzip via zlib)', () => {
  const data = Buffer.concat([prng(300_000, 'z'), Buffer.alloc(500_000, 'a'), prng(70_000, 'y')]);
  const zstd = (b: Buffer, level = '-3') =>
    execFileSync('zstd', ['-q', '-c', level], { input: b, maxBuffer: 1 << 26 });
  const gzip = (b: Buffer) => execFileSync('gzip', ['-c'], { input: b, maxBuffer: 1 << 26 });

  it('zstd: multiple frames, skippable frames (zstd:chunked style), any chunking', async () => {
    const z = Buffer.concat([
      zstd(data.subarray(0, 400_000)),
      skippable('toc'),
      zstd(data.subarray(400_000), '-19'),
      skippable('footer'),
    ]);
    expect(detectCompression(z)).toBe('zstd');
    for (const chunk of [1 << 20, 4096]) {
      expect((await unpack(z, chunk)).equals(data)).toBe(true);
    }
  });

  it('gzip: concatenated members', async () => {
    const g = Buffer.concat([gzip(data.subarray(0, 100)), gzip(data.subarray(100))]);
    expect(detectCompression(g)).toBe('gzip');
    expect((await unpack(g, 1000)).equals(data)).toBe(true);
  });

  it('plain data passes through', async () => {
    expect(detectCompression(data)).toBe('none');
    expect((await unpack(data, 333)).equals(data)).toBe(true);
  });
});
