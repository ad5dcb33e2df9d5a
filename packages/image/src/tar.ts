/**
 * A streaming tar reader (ustar, GNU long names, PAX incl. SCHILY.xattr). It never holds an
 * entry's body in memory: each entry's body is an async iterable of chunks that the consumer
 * drains (or not: the reader skips what is left before the next header).
 */
import { ImageError } from './errors.js';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarHeader {
  /** Name as stored (PAX/GNU long name applied), not normalized. */
  name: string;
  type: TarEntryType;
  /** Permission bits incl. setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: { sec: number; nsec: number };
  linkName: string;
  devMajor: number;
  devMinor: number;
  xattrs: Map<string, Uint8Array>;
}

export interface TarEntry {
  header: TarHeader;
  /** Byte offset of the body in the (uncompressed) tar stream. */
  offset: number;
  /** The body; read it before asking for the next entry or it is skipped. */
  body: AsyncIterable<Buffer>;
}

export interface TarLimits {
  /** Largest single file accepted (bytes). */
  maxFileSize: number;
  /** Largest PAX extended header / GNU long name accepted (bytes). */
  maxMetaSize: number;
  /** Longest path accepted (bytes). */
  maxPathLength: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = {
  maxFileSize: 64 * 1024 ** 3,
  maxMetaSize: 1024 * 1024,
  maxPathLength: 4096,
};

const BLOCK = 512;

/** Pulls exact byte counts out of an async chunk source. */
export class ByteReader {
  private it: AsyncIterator<Uint8Array>;
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  /** Total bytes handed out so far. */
  consumed = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    for (;;) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      if (r.value.length === 0) continue;
      const chunk = Buffer.isBuffer(r.value)
        ? r.value
        : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      return true;
    }
  }

  /** Reads exactly n bytes; null on clean EOF before the first byte; throws on a short read. */
  async readExact(n: number, what: string): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (!(await this.fill())) {
        if (this.buf.length === 0) return null;
        throw new ImageError(`truncated tar: unexpected end of data in ${what}`);
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.consumed += n;
    return out;
  }

  /** Yields exactly n bytes as chunks (no copy); throws on a short read. */
  async *chunks(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) {
        throw new ImageError(`truncated tar: unexpected end of data in ${what}`);
      }
      const take = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      this.consumed += take;
      left -= take;
      yield out;
    }
  }

  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.chunks(n, what)) {
      // discard
    }
  }

  /** Skips up to n bytes; false when the source ended first. */
  async skipPadding(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) return false;
      const take = Math.min(left, this.buf.length);
      this.buf = this.buf.subarray(take);
      this.consumed += take;
      left -= take;
    }
    return true;
  }

  /** Reads and discards everything left in the source. */
  async drain(): Promise<void> {
    this.consumed += this.buf.length;
    this.buf = Buffer.alloc(0);
    while (await this.fill()) {
      this.consumed += this.buf.length;
      this.buf = Buffer.alloc(0);
    }
  }
}

function cstring(b: Buffer, off: number, len: number): string {
  const field = b.subarray(off, off + len);
  const z = field.indexOf(0);
  return field.subarray(0, z < 0 ? len : z).toString('utf8');
}

/** Octal (space/NUL terminated) or GNU base-256 number. */
export function parseNumeric(b: Buffer, off: number, len: number, field: string): number {
  const f = b.subarray(off, off + len);
  const first = f[0] ?? 0;
  if (first & 0x80) {
    // base-256, two's complement when 0xff
    const neg = first === 0xff;
    let v = BigInt(first & 0x7f);
    for (let i = 1; i < f.length; i++) v = (v << 8n) | BigInt(f[i] ?? 0);
    if (neg) v -= 1n << BigInt(8 * f.length - 1);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new ImageError(`tar header field ${field} out of range`);
    }
    return Number(v);
  }
  let s = '';
  for (const c of f) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  s = s.trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s))
    throw new ImageError(`tar header field ${field} is not a number: ${JSON.stringify(s)}`);
  const v = Number.parseInt(s, 8);
  if (!Number.isSafeInteger(v)) throw new ImageError(`tar header field ${field} out of range`);
  return v;
}

function checksumOk(h: Buffer): boolean {
  let stored: number;
  try {
    stored = parseNumeric(h, 148, 8, 'chksum');
  } catch {
    return false;
  }
  let u = 0;
  let s = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    u += c;
    s += c > 127 ? c - 256 : c;
  }
  return stored === u || stored === s;
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) return false;
  return true;
}

/** Parses PAX records ("LEN KEY=VALUE\n") from bytes; values stay bytes. */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad with NULs
    const sp = data.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 20) throw new ImageError('malformed PAX header record');
    const lenStr = data.subarray(pos, sp).toString('latin1');
    if (!/^[0-9]+$/.test(lenStr)) throw new ImageError('malformed PAX header record length');
    const len = Number.parseInt(lenStr, 10);
    if (len <= sp - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw new ImageError('malformed PAX header record');
    }
    const rec = data.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new ImageError('malformed PAX header record (no key)');
    const key = rec.subarray(0, eq).toString('utf8');
    out.set(key, rec.subarray(eq + 1));
    pos += len;
  }
  return out;
}

function paxInt(v: Buffer, key: string): number {
  const s = v.toString('latin1');
  if (!/^[0-9]+$/.test(s))
    throw new ImageError(`PAX ${key} is not a number: ${JSON.stringify(s.slice(0, 40))}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new ImageError(`PAX ${key} out of range`);
  return n;
}

function paxTime(v: Buffer): { sec: number; nsec: number } {
  const s = v.toString('latin1');
  const m = /^(-?[0-9]+)(?:\.([0-9]*))?$/.exec(s);
  if (!m) throw new ImageError(`PAX mtime malformed: ${JSON.stringify(s.slice(0, 40))}`);
  const sec = Number(m[1]);
  if (!Number.isSafeInteger(sec)) throw new ImageError('PAX mtime out of range');
  const frac = (m[2] ?? '').slice(0, 9).padEnd(9, '0');
  return { sec, nsec: Number(frac) };
}

function typeOf(flag: number, name: string): TarEntryType | null {
  switch (flag) {
    case 0x30: // '0'
    case 0x00:
    case 0x37: // '7' contiguous
      return name.endsWith('/') && flag === 0 ? 'dir' : 'file';
    case 0x31:
      return 'hardlink';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'char';
    case 0x34:
      return 'block';
    case 0x35:
      return 'dir';
    case 0x36:
      return 'fifo';
    default:
      return null;
  }
}

/**
 * Iterates over the entries of a tar stream. Throws ImageError on anything malformed: bad
 * checksums, truncation, oversized metadata or files, unsupported entry kinds (sparse, ...).
 */
export async function* readTar(
  source: AsyncIterable<Uint8Array> | ByteReader,
  limits: TarLimits = DEFAULT_TAR_LIMITS,
): AsyncGenerator<TarEntry> {
  const r = source instanceof ByteReader ? source : new ByteReader(source);
  let globalPax = new Map<string, Buffer>();
  let pax: Map<string, Buffer> | null = null;
  let longName: string | null = null;
  let longLink: string | null = null;
  let entryIndex = 0;
  for (;;) {
    const h = await r.readExact(BLOCK, `header of entry ${entryIndex + 1}`);
    if (h === null) return; // EOF at a block boundary without end marker: accepted
    if (isZeroBlock(h)) return;
    if (!checksumOk(h))
      throw new ImageError(`corrupt tar: bad header checksum at byte ${r.consumed - BLOCK}`);
    const flag = h[156] as number;
    const magic = h.subarray(257, 263).toString('latin1');
    let name = cstring(h, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = cstring(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const size = parseNumeric(h, 124, 12, 'size');
    if (size < 0) throw new ImageError(`corrupt tar: negative size for ${JSON.stringify(name)}`);
    const padded = Math.ceil(size / BLOCK) * BLOCK;

    // Metadata entries: PAX (x, g), GNU long name (L) / long link (K).
    if (flag === 0x78 || flag === 0x67 || flag === 0x4c || flag === 0x4b) {
      if (size > limits.maxMetaSize) {
        throw new ImageError(
          `tar metadata entry too large (${size} bytes) near ${JSON.stringify(name)}`,
        );
      }
      const data =
        size === 0
          ? Buffer.alloc(0)
          : Buffer.from((await r.readExact(size, 'metadata entry')) ?? []);
      if (data.length !== size)
        throw new ImageError('truncated tar: unexpected end of data in metadata entry');
      await r.skip(padded - size, 'metadata padding');
      if (flag === 0x78) pax = parsePax(data);
      else if (flag === 0x67) globalPax = new Map([...globalPax, ...parsePax(data)]);
      else {
        const z = data.indexOf(0);
        const s = data.subarray(0, z < 0 ? data.length : z).toString('utf8');
        if (flag === 0x4c) longName = s;
        else longLink = s;
      }
      continue;
    }
    entryIndex++;
    const kv = pax ? new Map([...globalPax, ...pax]) : globalPax;
    if (longName !== null) name = longName;
    let linkName = longLink ?? cstring(h, 157, 100);
    const mode = parseNumeric(h, 100, 8, 'mode') & 0o7777;
    let uid = parseNumeric(h, 108, 8, 'uid');
    let gid = parseNumeric(h, 116, 8, 'gid');
    let mtime = { sec: parseNumeric(h, 136, 12, 'mtime'), nsec: 0 };
    let devMajor = 0;
    let devMinor = 0;
    let realSize = size;
    const xattrs = new Map<string, Uint8Array>();
    const typed = typeOf(flag, name);
    if (typed === 'char' || typed === 'block') {
      devMajor = parseNumeric(h, 329, 8, 'devmajor');
      devMinor = parseNumeric(h, 337, 8, 'devminor');
    }
    for (const [k, v] of kv) {
      if (k === 'path') name = v.toString('utf8');
      else if (k === 'linkpath') linkName = v.toString('utf8');
      else if (k === 'size') realSize = paxInt(v, k);
      else if (k === 'uid') uid = paxInt(v, k);
      else if (k === 'gid') gid = paxInt(v, k);
      else if (k === 'mtime') mtime = paxTime(v);
      else if (k === 'SCHILY.devmajor') devMajor = paxInt(v, k);
      else if (k === 'SCHILY.devminor') devMinor = paxInt(v, k);
      else if (k.startsWith('SCHILY.xattr.'))
        xattrs.set(k.slice('SCHILY.xattr.'.length), new Uint8Array(v));
      else if (k.startsWith('GNU.sparse.'))
        throw new ImageError(`unsupported sparse tar entry ${JSON.stringify(name)}`);
    }
    pax = null;
    longName = null;
    longLink = null;
    if (typed === null) {
      throw new ImageError(
        `unsupported tar entry type ${JSON.stringify(String.fromCharCode(flag))} for ${JSON.stringify(name)}`,
      );
    }
    if (name.includes('\0') || linkName.includes('\0'))
      throw new ImageError('tar entry name contains NUL');
    if (
      Buffer.byteLength(name) > limits.maxPathLength ||
      Buffer.byteLength(linkName) > limits.maxPathLength
    ) {
      throw new ImageError(`tar entry path too long (${Buffer.byteLength(name)} bytes)`);
    }
    if (realSize > limits.maxFileSize) {
      throw new ImageError(
        `tar entry ${JSON.stringify(name)} too large (${realSize} bytes, limit ${limits.maxFileSize})`,
      );
    }
    const type = typed;
    // Like Go's archive/tar: links, devices, fifos and directories have no body, whatever
    // their size field says.
    const bodySize = type === 'file' ? realSize : 0;
    const bodyPadded =
      type === 'file' ? (kv.has('size') ? Math.ceil(realSize / BLOCK) * BLOCK : padded) : 0;
    const header: TarHeader = {
      name,
      type,
      mode,
      uid,
      gid,
      size: type === 'file' ? realSize : 0,
      mtime,
      linkName,
      devMajor,
      devMinor,
      xattrs,
    };
    let left = bodySize;
    let started = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: async function* () {
        if (started) throw new Error('tar entry body read twice');
        started = true;
        for await (const c of r.chunks(left, `body of ${JSON.stringify(name)}`)) {
          left -= c.length;
          yield c;
        }
      },
    };
    yield { header, body, offset: r.consumed };
    await r.skip(left, `body of ${JSON.stringify(name)}`);
    // Missing padding after the last entry is end of archive (Go's archive/tar accepts it too,
    // and some writers, e.g. umoci 0.4, produce it).
    if (!(await r.skipPadding(bodyPadded - bodySize))) return;
  }
}
