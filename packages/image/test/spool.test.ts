import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentSpool } from '@c2w/image';
import { afterAll, expect, it } from 'vitest';

const work = mkdtempSync(join(tmpdir(), 'c2w-spool-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function* chunks(b: Buffer, size = 70_000) {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

it('stores each distinct content once, whether the first copy is buffered or on disk', async () => {
  const spool = await ContentSpool.create(work);
  try {
    const a = randomBytes(10);
    const b = randomBytes(10); // same size as a, other bytes
    const big = randomBytes(5 << 20); // over the write buffer: on disk when its twin comes
    const fa = await spool.add(chunks(a), 10);
    const fb = await spool.add(chunks(b), 10);
    const fbig = await spool.add(chunks(big), big.length);
    const unique = await spool.add(chunks(randomBytes(11)), 11);
    expect(await spool.add(chunks(Buffer.from(a)), 10)).toBe(fa);
    expect(await spool.add(chunks(Buffer.from(b)), 10)).toBe(fb);
    expect(await spool.add(chunks(Buffer.from(big)), big.length)).toBe(fbig);
    expect(new Set([fa, fb, fbig, unique]).size).toBe(4);
    expect(spool.count).toBe(4);
    // Duplicates still in the write buffer take no space; the big twin reached the disk first.
    expect(spool.size).toBe(10 + 10 + big.length + 11 + big.length);
    await spool.finish();
    const pack = readFileSync(spool.path);
    for (const [fc, bytes] of [
      [fa, a],
      [fb, b],
      [fbig, big],
    ] as const) {
      expect(Buffer.compare(pack.subarray(fc.offset, fc.offset + fc.size), bytes)).toBe(0);
    }
  } finally {
    await spool.dispose();
  }
});
