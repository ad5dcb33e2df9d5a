import { lz4CompressDestSize } from '@c2w/fsimage';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { bytesOf } from './gen.js';

/** A plain LZ4 block decoder (the format, for checking our encoder independently of EROFS). */
function lz4Decode(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let lastMatch: [number, number] | undefined;
  let i = 0;
  for (;;) {
    const token = src[i++] as number;
    let lit = token >> 4;
    if (lit === 15) for (let b = 255; b === 255; lit += b) b = src[i++] as number;
    for (let k = 0; k < lit; k++) out.push(src[i++] as number);
    if (i >= src.length) break;
    const dist = (src[i] as number) | ((src[i + 1] as number) << 8);
    i += 2;
    expect(dist).toBeGreaterThan(0);
    expect(dist).toBeLessThanOrEqual(out.length);
    let ml = (token & 15) + 4;
    if ((token & 15) === 15) for (let b = 255; b === 255; ml += b) b = src[i++] as number;
    const from = out.length - dist;
    lastMatch = [out.length, out.length + ml];
    for (let k = 0; k < ml; k++) out.push(out[from + k] as number);
  }
  if (lastMatch) {
    // LZ4 block end rules: the last match starts >= 12 bytes and ends >= 5 bytes before the end.
    expect(out.length - lastMatch[0]).toBeGreaterThanOrEqual(12);
    expect(out.length - lastMatch[1]).toBeGreaterThanOrEqual(5);
  }
  return Uint8Array.from(out);
}

it('LZ4 fixed-output blocks decode to the consumed input and respect the block end rules', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 200_000 }),
      fc.integer({ min: 1, max: 1 << 30 }),
      fc.constantFrom(0, 30, 90, 100),
      fc.integer({ min: 16, max: 4096 }),
      fc.nat({ max: 5000 }),
      (size, seed, runs, cap, startAt) => {
        const data = Buffer.concat([Buffer.alloc(startAt, 1), bytesOf(size, seed, runs)]);
        const out = new Uint8Array(cap);
        const r = lz4CompressDestSize(data, startAt, data.length, out, cap);
        expect(r.written).toBeLessThanOrEqual(cap);
        expect(r.consumed).toBeLessThanOrEqual(size);
        if (size > 0) expect(r.consumed).toBeGreaterThan(0);
        const dec = lz4Decode(out.subarray(0, r.written));
        expect(Buffer.compare(dec, data.subarray(startAt, startAt + r.consumed))).toBe(0);
      },
    ),
    { numRuns: 150 },
  );
});

it('LZ4 output depends only on the input, not on earlier calls', () => {
  const input = Buffer.from(bytesOf(100_000, 42, 60));
  const fresh = new Uint8Array(4096);
  const a = lz4CompressDestSize(input, 0, input.length, fresh, 4096);
  for (let i = 0; i < 50; i++) {
    const other = Buffer.from(bytesOf(5000 + i * 997, i + 1, 70));
    lz4CompressDestSize(other, i, other.length, new Uint8Array(4096), 4096);
    const again = new Uint8Array(4096);
    const b = lz4CompressDestSize(input, 0, input.length, again, 4096);
    expect(b).toEqual(a);
    expect(Buffer.compare(again, fresh)).toBe(0);
  }
});
