/** Reading a packed module's bundle back (tests, debugging, `c2w inspect`-like tools). */
import { open } from 'node:fs/promises';
import { decodeFooter, FOOTER_SIZE, type Footer, WASM_PAGE } from './footer.js';
import {
  type ByteSource,
  bufferSource,
  findMemory0,
  readDataSegments,
  SECTION,
  scanSections,
} from './module.js';
import { fileSource } from './pack.js';
import { decodeRecords, type Record } from './records.js';

export interface Bundle {
  /** Initial memory of memory 0, in 64 KiB pages. */
  pages: number;
  maxPages: number | undefined;
  /** null: a bare module (no footer magic at the end of the initial memory). */
  footer: Footer | null;
  /** The embedded rootfs bytes (null when external or absent). */
  rootfs: Uint8Array | null;
  config: Uint8Array;
  records: Record[];
}

/** The initial contents of memory 0 in [addr, addr+len), from the module's active data segments. */
async function readInitialMemory(src: ByteSource, addr: number, len: number): Promise<Uint8Array> {
  const out = new Uint8Array(len);
  const sections = await scanSections(src);
  const data = sections.find((s) => s.id === SECTION.data);
  if (!data) return out;
  const segs = await readDataSegments(src, data);
  for (const seg of segs) {
    if (seg.offset === null || seg.memory !== 0) continue;
    const lo = Math.max(addr, seg.offset);
    const hi = Math.min(addr + len, seg.offset + seg.length);
    if (lo >= hi) continue;
    out.set(await src.read(seg.dataPos + (lo - seg.offset), hi - lo), lo - addr);
  }
  return out;
}

/** Reads the bundle of a packed module (a path or the module's bytes). */
export async function readBundle(module: string | Uint8Array): Promise<Bundle> {
  const fh = typeof module === 'string' ? await open(module, 'r') : undefined;
  try {
    const src = fh ? fileSource(fh, (await fh.stat()).size) : bufferSource(module as Uint8Array);
    const what = typeof module === 'string' ? module : 'module';
    const sections = await scanSections(src, what);
    const mem = await findMemory0(src, sections, what);
    if (!mem) throw new Error(`${what}: the module has no memory`);
    const pages = mem.limits.min;
    const end = pages * WASM_PAGE;
    const maxPages = mem.limits.flags & 1 ? mem.limits.max : undefined;
    if (end < FOOTER_SIZE)
      return { pages, maxPages, footer: null, rootfs: null, config: new Uint8Array(), records: [] };
    const footer = decodeFooter(await readInitialMemory(src, end - FOOTER_SIZE, FOOTER_SIZE));
    if (!footer)
      return { pages, maxPages, footer, rootfs: null, config: new Uint8Array(), records: [] };
    const config = await readInitialMemory(src, footer.configOffset, footer.configLength);
    const rootfs =
      footer.external || (footer.rootfsOffset === 0 && footer.rootfsLength === 0)
        ? null
        : await readInitialMemory(src, footer.rootfsOffset, footer.rootfsLength);
    return { pages, maxPages, footer, rootfs, config, records: decodeRecords(config) };
  } finally {
    await fh?.close();
  }
}

/** Reads only the footer of a module (null: bare module, no bundle). */
export async function readFooter(module: string | Uint8Array): Promise<Footer | null> {
  const fh = typeof module === 'string' ? await open(module, 'r') : undefined;
  try {
    const src = fh ? fileSource(fh, (await fh.stat()).size) : bufferSource(module as Uint8Array);
    const what = typeof module === 'string' ? module : 'module';
    const sections = await scanSections(src, what);
    const mem = await findMemory0(src, sections, what);
    if (!mem || mem.limits.min * WASM_PAGE < FOOTER_SIZE) return null;
    return decodeFooter(
      await readInitialMemory(src, mem.limits.min * WASM_PAGE - FOOTER_SIZE, FOOTER_SIZE),
    );
  } finally {
    await fh?.close();
  }
}
