/**
 * Just enough of the wasm binary format to rewrite a module without parsing its code:
 * section headers, memory limits (in the memory or import section), data-segment headers.
 */
import { decodeSigned, decodeU32, encodeU32, WasmFormatError } from './leb.js';

export const SECTION = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
} as const;

/** A source of module bytes read at positions (a file or a buffer). */
export interface ByteSource {
  size: number;
  read(pos: number, len: number): Promise<Uint8Array>;
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (pos, len) => bytes.subarray(pos, Math.min(bytes.length, pos + len)),
  };
}

export interface Section {
  id: number;
  /** File offset of the id byte. */
  start: number;
  /** File offset of the content (after the size LEB). */
  contentStart: number;
  size: number;
  /** File offset just past the content. */
  end: number;
}

const HEADER = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);

export async function scanSections(src: ByteSource, what = 'module'): Promise<Section[]> {
  const head = await src.read(0, 8);
  if (head.length < 8 || !HEADER.every((b, i) => head[i] === b)) {
    const magic = head.length >= 4 && head[0] === 0 && head[1] === 0x61 && head[2] === 0x73;
    throw new WasmFormatError(
      magic
        ? `${what}: unsupported wasm version (only core wasm 1 modules)`
        : `${what}: not a wasm module`,
    );
  }
  const sections: Section[] = [];
  let pos = 8;
  while (pos < src.size) {
    const h = await src.read(pos, 6);
    const id = h[0] as number;
    const [size, next] = decodeU32(h, 1);
    const contentStart = pos + next;
    const end = contentStart + size;
    if (end > src.size)
      throw new WasmFormatError(
        `${what}: section ${id} at byte ${pos} runs past the end of the file`,
      );
    sections.push({ id, start: pos, contentStart, size, end });
    pos = end;
  }
  return sections;
}

export interface Limits {
  flags: number;
  min: number;
  max: number | undefined;
}

export function parseLimits(buf: Uint8Array, pos: number): [Limits, number] {
  const flags = buf[pos];
  if (flags === undefined) throw new WasmFormatError('truncated limits');
  if (flags & 0x04) throw new WasmFormatError('memory64 modules are not supported');
  if (flags & 0x08) throw new WasmFormatError('custom page sizes are not supported');
  if (flags & ~0x03) throw new WasmFormatError(`unknown limits flags 0x${flags.toString(16)}`);
  let [min, p] = decodeU32(buf, pos + 1);
  let max: number | undefined;
  if (flags & 1) [max, p] = decodeU32(buf, p);
  return [{ flags, min, max }, p];
}

export function encodeLimits(l: Limits): Uint8Array {
  const parts = [Uint8Array.of(l.flags), encodeU32(l.min)];
  if (l.flags & 1) parts.push(encodeU32(l.max ?? 0));
  return concat(parts);
}

function skipName(buf: Uint8Array, pos: number): number {
  const [len, p] = decodeU32(buf, pos);
  return p + len;
}

function skipValType(buf: Uint8Array, pos: number): number {
  const t = buf[pos];
  // (ref null ht) / (ref ht): a heap type follows as s33.
  if (t === 0x63 || t === 0x64) return decodeSigned(buf, pos + 1, 33)[1];
  return pos + 1;
}

/** Where memory 0 is declared: its limits' byte range inside a section's content. */
export interface MemoryLocation {
  section: Section;
  kind: 'import' | 'memory';
  limits: Limits;
  /** Offsets inside the section content. */
  limitsStart: number;
  limitsEnd: number;
}

export async function findMemory0(
  src: ByteSource,
  sections: Section[],
  what = 'module',
): Promise<MemoryLocation | null> {
  const imp = sections.find((s) => s.id === SECTION.import);
  if (imp) {
    const buf = await src.read(imp.contentStart, imp.size);
    let [count, p] = decodeU32(buf, 0);
    for (; count > 0; count--) {
      p = skipName(buf, p);
      p = skipName(buf, p);
      const kind = buf[p++];
      switch (kind) {
        case 0x00: // func
          p = decodeU32(buf, p)[1];
          break;
        case 0x01: {
          // table: reftype, limits (table limits may be 64-bit: skip without checks)
          p = skipValType(buf, p);
          const f = buf[p++] as number;
          p = decodeU32(buf, p)[1];
          if (f & 1) p = decodeU32(buf, p)[1];
          break;
        }
        case 0x02: {
          const [limits, end] = parseLimits(buf, p);
          return { section: imp, kind: 'import', limits, limitsStart: p, limitsEnd: end };
        }
        case 0x03:
          p = skipValType(buf, p) + 1;
          break;
        case 0x04:
          p = decodeU32(buf, p + 1)[1];
          break;
        default:
          throw new WasmFormatError(`${what}: unknown import kind ${kind}`);
      }
    }
  }
  const mem = sections.find((s) => s.id === SECTION.memory);
  if (mem) {
    const buf = await src.read(mem.contentStart, mem.size);
    const [count, p] = decodeU32(buf, 0);
    if (count > 0) {
      const [limits, end] = parseLimits(buf, p);
      return { section: mem, kind: 'memory', limits, limitsStart: p, limitsEnd: end };
    }
  }
  return null;
}

export interface DataSegment {
  /** Active segment into memory 0 at a constant address; null offset for passive/other. */
  offset: number | null;
  memory: number;
  /** Position of the segment's bytes in the source, and their length. */
  dataPos: number;
  length: number;
}

/**
 * Walks the data section's segment headers (offsets and where each segment's bytes are),
 * reading only the headers: segment bytes are skipped, not read.
 */
export async function readDataSegments(src: ByteSource, data: Section): Promise<DataSegment[]> {
  const out: DataSegment[] = [];
  let pos = data.contentStart;
  let [count, n] = decodeU32(await src.read(pos, 5), 0);
  pos += n;
  for (; count > 0; count--) {
    // A segment header is small: flags, memory index, a constant expression, a length.
    const h = await src.read(pos, 64);
    let p = 0;
    let flags: number;
    [flags, p] = decodeU32(h, p);
    let memory = 0;
    let offset: number | null = null;
    if (flags === 2) [memory, p] = decodeU32(h, p);
    if (flags === 0 || flags === 2) {
      const op = h[p++];
      if (op === 0x41) {
        const [v, q] = decodeSigned(h, p, 32);
        offset = Number(BigInt.asUintN(32, v));
        p = q;
      } else if (op === 0x42) {
        const [v, q] = decodeSigned(h, p, 64);
        offset = Number(v);
        p = q;
      } else {
        // Non-constant offsets (global.get and friends): skip the expression to its end.
        while (h[p] !== 0x0b) {
          if (p >= h.length) throw new WasmFormatError('unsupported data offset expression');
          p++;
        }
      }
      if (h[p++] !== 0x0b) throw new WasmFormatError('data offset expression is not constant');
    } else if (flags !== 1) {
      throw new WasmFormatError(`unknown data segment flags ${flags}`);
    }
    const [len, q] = decodeU32(h, p);
    out.push({ offset, memory, dataPos: pos + q, length: len });
    pos += q + len;
    if (pos > data.end) throw new WasmFormatError('data segment runs past the data section');
  }
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
