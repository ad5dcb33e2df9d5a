/** LEB128 helpers (the wasm binary format's integer encodings). */

export function encodeU32(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`not a u32: ${value}`);
  }
  const out: number[] = [];
  let v = value;
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return Uint8Array.from(out);
}

/** Signed LEB128 of an i32 (addresses >= 2^31 are encoded as negative i32, as wasm wants). */
export function encodeI32(value: number): Uint8Array {
  let v = value | 0;
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return Uint8Array.from(out);
  }
}

/** Reads an unsigned LEB128 u32 at `pos`; returns the value and the position after it. */
export function decodeU32(buf: Uint8Array, pos: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  let p = pos;
  for (let i = 0; i < 5; i++) {
    const b = buf[p++];
    if (b === undefined) throw new WasmFormatError(`truncated LEB128 at byte ${pos}`);
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) {
      if (result > 0xffffffff) throw new WasmFormatError(`LEB128 u32 overflow at byte ${pos}`);
      return [result, p];
    }
  }
  throw new WasmFormatError(`LEB128 u32 too long at byte ${pos}`);
}

/** Reads a signed LEB128 of at most `bits` bits; returns a bigint and the position after it. */
export function decodeSigned(buf: Uint8Array, pos: number, bits = 64): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  let p = pos;
  const maxBytes = Math.ceil(bits / 7);
  for (let i = 0; i < maxBytes; i++) {
    const b = buf[p++];
    if (b === undefined) throw new WasmFormatError(`truncated LEB128 at byte ${pos}`);
    result |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) {
      if (b & 0x40) result -= 1n << shift;
      return [result, p];
    }
  }
  throw new WasmFormatError(`signed LEB128 too long at byte ${pos}`);
}

export class WasmFormatError extends Error {
  override name = 'WasmFormatError';
}
