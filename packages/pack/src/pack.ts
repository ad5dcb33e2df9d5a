/**
 * The packer: copies a pre-booted VM module section by section (code is never parsed), raises
 * memory 0's limits and appends one active data segment holding the bundle, so that the bundle's
 * 64-byte footer is the last 64 bytes of the new initial memory (docs/contract.md, "The packed
 * module"). Streaming: memory use does not depend on the module or rootfs size. The output is
 * written to a temporary file next to it and renamed into place at the end.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  encodeFooter,
  FLAG_EXTERNAL_ROOTFS,
  FOOTER_SIZE,
  MAX_WASM32_PAGES,
  WASM_PAGE,
} from './footer.js';
import { decodeU32, encodeI32, encodeU32 } from './leb.js';
import {
  type ByteSource,
  concat,
  encodeLimits,
  findMemory0,
  type Limits,
  SECTION,
  type Section,
  scanSections,
} from './module.js';

export class PackError extends Error {
  override name = 'PackError';
}

/** What goes in the bundle as the rootfs. */
export type RootfsInput =
  | { path: string }
  | { bytes: Uint8Array }
  /** `--external-bundle`: not in the module; length is recorded in the footer. */
  | { external: true; length: number };

export interface PackOptions {
  /** The backend's pre-booted VM module (wasm file). */
  module: string;
  /** Where to write the packed module. */
  output: string;
  /** Packed run-config records (see encodeRunConfig). */
  config: Uint8Array;
  /** The rootfs (an EROFS image); omitted: no rootfs. */
  rootfs?: RootfsInput | null;
  /** Custom sections appended at the end of the module (e.g. licence texts). */
  customSections?: { name: string; data: Uint8Array }[];
  /** Called as bytes are written (bytes written, total bytes). */
  onProgress?: (written: number, total: number) => void;
}

export interface PackResult {
  output: string;
  outputBytes: number;
  oldPages: number;
  newPages: number;
  oldMaxPages: number | undefined;
  newMaxPages: number | undefined;
  external: boolean;
  rootfsOffset: number;
  rootfsLength: number;
  configOffset: number;
  configLength: number;
  /** Address of the footer (new end of initial memory - 64). */
  footerOffset: number;
}

export function fileSource(fh: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(pos, len) {
      const n = Math.max(0, Math.min(len, size - pos));
      const buf = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const { bytesRead } = await fh.read(buf, got, n - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    },
  };
}

class Writer {
  written = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  constructor(
    private fh: FileHandle,
    private total: number,
    private onProgress?: (written: number, total: number) => void,
  ) {}
  async write(b: Uint8Array) {
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= 1 << 20) await this.flush();
  }
  async flush() {
    if (this.pendingBytes === 0) return;
    const buf = this.pending.length === 1 ? (this.pending[0] as Uint8Array) : concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
    this.written += buf.length;
    this.onProgress?.(this.written, this.total);
  }
  /**
   * Copies `len` bytes from a file at `pos`: two buffers, the next chunk is read (on the
   * thread pool) while the current one is written.
   */
  async copy(src: FileHandle, pos: number, len: number, what: string) {
    await this.flush();
    const size = Math.min(len, 4 << 20) || 1;
    const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)] as const;
    const readChunk = async (buf: Buffer, at: number): Promise<number> => {
      const n = Math.min(size, len - at);
      let got = 0;
      while (got < n) {
        const { bytesRead } = await src.read(buf, got, n - got, pos + at + got);
        if (bytesRead === 0) throw new PackError(`${what}: file shrank while packing`);
        got += bytesRead;
      }
      return n;
    };
    let done = 0;
    let k = 0;
    let next = len > 0 ? readChunk(bufs[0], 0) : undefined;
    try {
      while (next) {
        const n = await next;
        const buf = bufs[k] as Buffer;
        next = done + n < len ? readChunk(bufs[(k ^ 1) as 0 | 1], done + n) : undefined;
        let off = 0;
        while (off < n) {
          const { bytesWritten } = await this.fh.write(buf, off, n - off);
          off += bytesWritten;
        }
        done += n;
        k ^= 1;
        this.written += n;
        this.onProgress?.(this.written, this.total);
      }
    } finally {
      // a read still in flight when a write failed: its error is not the one to report
      next?.catch(() => {});
    }
  }
}

function sectionHeader(id: number, size: number): Uint8Array {
  return concat([Uint8Array.of(id), encodeU32(size)]);
}

const MiB = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;

export async function packModule(opts: PackOptions): Promise<PackResult> {
  const { module, output, config } = opts;
  let modFh: FileHandle;
  try {
    modFh = await open(module, 'r');
  } catch (e) {
    throw new PackError(
      `${module}: cannot open the VM module: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  let rootfsFh: FileHandle | undefined;
  let outFh: FileHandle | undefined;
  const tmp = join(
    dirname(output),
    `.${basename(output)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  try {
    const modSize = (await modFh.stat()).size;
    const src = fileSource(modFh, modSize);
    const sections = await scanSections(src, module);
    const mem = await findMemory0(src, sections, module);
    if (!mem) throw new PackError(`${module}: the module has no memory to put the bundle in`);
    if (mem.limits.flags & 0x02) {
      // Shared memories cannot have active data segments initialised per instance safely.
      throw new PackError(
        `${module}: memory 0 is shared; packing into a shared memory is not supported`,
      );
    }

    // The bundle's layout in linear memory.
    const rootfs = opts.rootfs ?? null;
    let external = false;
    let rootfsLength = 0;
    let rootfsPath: string | undefined;
    let rootfsBytes: Uint8Array | undefined;
    if (rootfs && 'external' in rootfs) {
      external = true;
      rootfsLength = rootfs.length;
    } else if (rootfs && 'path' in rootfs) {
      rootfsPath = rootfs.path;
      try {
        rootfsFh = await open(rootfs.path, 'r');
      } catch (e) {
        throw new PackError(
          `${rootfs.path}: cannot open the rootfs image: ${(e as NodeJS.ErrnoException).code ?? e}`,
        );
      }
      rootfsLength = (await rootfsFh.stat()).size;
    } else if (rootfs && 'bytes' in rootfs) {
      rootfsBytes = rootfs.bytes;
      rootfsLength = rootfs.bytes.length;
    }
    const embedded = external ? 0 : rootfsLength;
    const oldPages = mem.limits.min;
    const oldEnd = oldPages * WASM_PAGE;
    // Offset 0 means "no rootfs in memory": a 0-page module gets its rootfs at 8.
    const rootfsOffset = external || rootfs === null ? 0 : Math.max(oldEnd, 8);
    const configOffset = Math.ceil((Math.max(oldEnd, rootfsOffset) + embedded) / 8) * 8;
    const need = configOffset + config.length + FOOTER_SIZE;
    const newPages = Math.ceil(need / WASM_PAGE);
    if (newPages > MAX_WASM32_PAGES) {
      throw new PackError(
        `the rootfs (${MiB(rootfsLength)}) does not fit in wasm32 memory next to the VM (${MiB(oldEnd)}): ` +
          `${newPages} pages needed, at most ${MAX_WASM32_PAGES} (4 GiB); use --external-bundle to keep the rootfs outside the module`,
      );
    }
    const newEnd = newPages * WASM_PAGE;
    const footerOffset = newEnd - FOOTER_SIZE;
    const oldMax = mem.limits.flags & 1 ? mem.limits.max : undefined;
    let newMax = oldMax;
    if (oldMax !== undefined) {
      newMax = Math.min(MAX_WASM32_PAGES, Math.max(oldMax, oldMax + (newPages - oldPages)));
    }
    const limits: Limits = { flags: mem.limits.flags, min: newPages, max: newMax };

    const footer = encodeFooter({
      flags: external ? FLAG_EXTERNAL_ROOTFS : 0,
      rootfsOffset,
      rootfsLength,
      configOffset,
      configLength: config.length,
    });
    const segLen = newEnd - oldEnd;
    const segHeader = concat([
      Uint8Array.of(0x00, 0x41),
      encodeI32(oldEnd),
      Uint8Array.of(0x0b),
      encodeU32(segLen),
    ]);

    // Rewritten small sections.
    const replaced = new Map<Section, Uint8Array>();
    {
      const content = await src.read(mem.section.contentStart, mem.section.size);
      const body = concat([
        content.subarray(0, mem.limitsStart),
        encodeLimits(limits),
        content.subarray(mem.limitsEnd),
      ]);
      replaced.set(mem.section, concat([sectionHeader(mem.section.id, body.length), body]));
    }
    const data = sections.find((s) => s.id === SECTION.data);
    let dataCount = 0;
    let dataCountLen = 0;
    if (data) {
      [dataCount, dataCountLen] = decodeU32(await src.read(data.contentStart, 5), 0);
    }
    const dc = sections.find((s) => s.id === SECTION.dataCount);
    if (dc) {
      const [n] = decodeU32(await src.read(dc.contentStart, dc.size), 0);
      if (n !== dataCount)
        throw new PackError(
          `${module}: DataCount (${n}) does not match the data section (${dataCount})`,
        );
      const body = encodeU32(n + 1);
      replaced.set(dc, concat([sectionHeader(dc.id, body.length), body]));
    }
    const newCount = encodeU32(dataCount + 1);
    const dataBodySize =
      (data ? data.size - dataCountLen : 0) + newCount.length + segHeader.length + segLen;
    if (dataBodySize > 0xffffffff) {
      throw new PackError('the data section would exceed 4 GiB; use --external-bundle');
    }
    const dataHeader = concat([sectionHeader(SECTION.data, dataBodySize), newCount]);
    let lastKnown = -1;
    sections.forEach((s, i) => {
      if (s.id !== SECTION.custom) lastKnown = i;
    });

    const customs = (opts.customSections ?? []).map(({ name, data }) => {
      const n = new TextEncoder().encode(name);
      const body = concat([encodeU32(n.length), n, data]);
      return concat([sectionHeader(SECTION.custom, body.length), body]);
    });

    // Output size, for progress.
    let total = 8;
    for (const s of sections) if (s !== data) total += replaced.get(s)?.length ?? s.end - s.start;
    total += dataHeader.length + (data ? data.size - dataCountLen : 0) + segHeader.length + segLen;
    for (const c of customs) total += c.length;

    outFh = await open(tmp, 'wx');
    const w = new Writer(outFh, total, opts.onProgress);
    await w.write(await src.read(0, 8));
    const writeData = async () => {
      await w.write(dataHeader);
      if (data)
        await w.copy(modFh, data.contentStart + dataCountLen, data.size - dataCountLen, module);
      await w.write(segHeader);
      if (rootfsOffset > oldEnd) await w.write(new Uint8Array(rootfsOffset - oldEnd));
      if (rootfsFh && rootfsPath) await w.copy(rootfsFh, 0, rootfsLength, rootfsPath);
      else if (rootfsBytes) await w.write(rootfsBytes);
      const gap1 = configOffset - Math.max(oldEnd, rootfsOffset) - embedded;
      if (gap1) await w.write(new Uint8Array(gap1));
      await w.write(config);
      let gap2 = footerOffset - (configOffset + config.length);
      while (gap2 > 0) {
        const n = Math.min(gap2, 1 << 20);
        await w.write(new Uint8Array(n));
        gap2 -= n;
      }
      await w.write(footer);
    };
    for (const [i, s] of sections.entries()) {
      if (s === data) {
        await writeData();
      } else {
        const r = replaced.get(s);
        if (r) await w.write(r);
        else await w.copy(modFh, s.start, s.end - s.start, module);
      }
      if (!data && i === lastKnown) await writeData();
    }
    for (const c of customs) await w.write(c);
    await w.flush();
    await outFh.close();
    outFh = undefined;
    await rename(tmp, output);
    const outputBytes = (await stat(output)).size;
    return {
      output,
      outputBytes,
      oldPages,
      newPages,
      oldMaxPages: oldMax,
      newMaxPages: newMax,
      external,
      rootfsOffset,
      rootfsLength,
      configOffset,
      configLength: config.length,
      footerOffset,
    };
  } catch (e) {
    await outFh?.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await modFh.close();
    await rootfsFh?.close();
  }
}
