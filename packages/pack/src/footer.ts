/** The 64-byte bundle footer at the end of the packed module's initial memory (docs/contract.md). */

export const FOOTER_SIZE = 64;
export const FOOTER_MAGIC = 'C2WBNDL1';
export const FOOTER_VERSION = 1;
export const FLAG_EXTERNAL_ROOTFS = 1;
export const WASM_PAGE = 65536;
export const MAX_WASM32_PAGES = 65536;
/** File name of the rootfs of an external bundle, in the preopen at EXTERNAL_BUNDLE_GUEST_DIR. */
export const EXTERNAL_ROOTFS_NAME = 'rootfs.erofs';
export const EXTERNAL_BUNDLE_GUEST_DIR = '/.c2w-bundle';

export interface Footer {
  version: number;
  flags: number;
  /** true when the rootfs is not in the module (flags bit 0). */
  external: boolean;
  rootfsOffset: number;
  rootfsLength: number;
  configOffset: number;
  configLength: number;
}

export function encodeFooter(f: Omit<Footer, 'external' | 'version'> & { version?: number }) {
  const b = new Uint8Array(FOOTER_SIZE);
  const v = new DataView(b.buffer);
  b.set(new TextEncoder().encode(FOOTER_MAGIC), 0);
  v.setUint32(8, f.version ?? FOOTER_VERSION, true);
  v.setUint32(12, f.flags, true);
  v.setBigUint64(16, BigInt(f.rootfsOffset), true);
  v.setBigUint64(24, BigInt(f.rootfsLength), true);
  v.setBigUint64(32, BigInt(f.configOffset), true);
  v.setBigUint64(40, BigInt(f.configLength), true);
  return b;
}

/** Parses a footer; null when the magic is absent (a bare backend module). */
export function decodeFooter(bytes: Uint8Array): Footer | null {
  if (bytes.length !== FOOTER_SIZE) throw new RangeError(`footer must be ${FOOTER_SIZE} bytes`);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== FOOTER_MAGIC) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = v.getUint32(12, true);
  return {
    version: v.getUint32(8, true),
    flags,
    external: (flags & FLAG_EXTERNAL_ROOTFS) !== 0,
    rootfsOffset: Number(v.getBigUint64(16, true)),
    rootfsLength: Number(v.getBigUint64(24, true)),
    configOffset: Number(v.getBigUint64(32, true)),
    configLength: Number(v.getBigUint64(40, true)),
  };
}
