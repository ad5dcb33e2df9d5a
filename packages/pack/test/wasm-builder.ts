/** A tiny wasm module builder for tests (hand-assembled sections). */
const u32 = (v: number): number[] => {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
};
const i32 = (v: number): number[] => {
  const out: number[] = [];
  let x = v | 0;
  for (;;) {
    const b = x & 0x7f;
    x >>= 7;
    if ((x === 0 && !(b & 0x40)) || (x === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const name = (s: string) => {
  const b = [...new TextEncoder().encode(s)];
  return [...u32(b.length), ...b];
};
const section = (id: number, body: number[]) => [id, ...u32(body.length), ...body];

export interface ModuleSpec {
  minPages: number;
  maxPages?: number;
  importMemory?: boolean;
  segments?: { offset: number; bytes: number[] }[];
  passive?: number[][];
  dataCount?: boolean;
  /** Put a data section even with no segments. */
  emptyData?: boolean;
  custom?: boolean;
}

export function buildModule(spec: ModuleSpec): Uint8Array {
  const limits =
    spec.maxPages === undefined
      ? [0, ...u32(spec.minPages)]
      : [1, ...u32(spec.minPages), ...u32(spec.maxPages)];
  const out: number[] = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  out.push(...section(0, [...name('first'), 1, 2, 3]));
  out.push(...section(1, [1, 0x60, 0, 1, 0x7f])); // type 0: () -> i32
  if (spec.importMemory)
    out.push(...section(2, [1, ...name('env'), ...name('memory'), 2, ...limits]));
  out.push(...section(3, [1, 0])); // one function of type 0
  if (!spec.importMemory) out.push(...section(5, [1, ...limits]));
  out.push(...section(7, [2, ...name('memory'), 2, 0, ...name('size'), 0, 0]));
  const segs = spec.segments ?? [];
  const passive = spec.passive ?? [];
  const count = segs.length + passive.length;
  if (spec.dataCount) out.push(...section(12, u32(count)));
  // func: memory.size
  const body = [0, 0x3f, 0, 0x0b];
  out.push(...section(10, [1, ...u32(body.length), ...body]));
  if (count || spec.emptyData) {
    const d: number[] = [...u32(count)];
    for (const s of segs)
      d.push(0, 0x41, ...i32(s.offset), 0x0b, ...u32(s.bytes.length), ...s.bytes);
    for (const p of passive) d.push(1, ...u32(p.length), ...p);
    out.push(...section(11, d));
  }
  if (spec.custom) out.push(...section(0, [...name('name'), 0, 0]));
  return Uint8Array.from(out);
}
