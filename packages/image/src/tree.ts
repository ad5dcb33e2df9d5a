/**
 * The flattened rootfs model that other packages (the EROFS writer, packers) consume.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

export type EntryType =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'hardlink'
  | 'char'
  | 'block'
  | 'fifo'
  | 'socket';

/** Where a regular file's bytes live: `size` bytes of `path` starting at `offset`. */
export interface FileContent {
  /** Absolute path of a file holding the bytes (a spool pack file or the original file). */
  path: string;
  offset: number;
  size: number;
  /** Hex sha256 of the bytes, when known (the spool hashes contents that share a size). */
  sha256?: string;
  /** `path` holds exactly these bytes (offset 0, whole file): treeFromDirectory's contents. */
  wholeFile?: boolean;
  /** Opens a stream of exactly `size` bytes. */
  open(): Readable;
}

export interface RootfsEntry {
  type: EntryType;
  /** Permission bits incl. setuid/setgid/sticky (07777); no file-type bits. */
  mode: number;
  uid: number;
  gid: number;
  mtime: { sec: number | bigint; nsec: number };
  xattrs: Map<string, Uint8Array>;
  /** Regular files: byte size. 0 for everything else. */
  size: number;
  /**
   * symlink: the target as stored (may be relative or absolute).
   * hardlink: the normalized absolute path of the entry it links to; that entry is always a
   * non-hardlink, non-dir entry present in the same tree. All its metadata is copied here.
   */
  linkTarget?: string;
  /** char/block devices. */
  rdev?: { major: number; minor: number };
  /** Regular files (and hardlinks to regular files): their bytes. */
  content?: FileContent;
}

/**
 * Normalized absolute paths ('/' is the root, no trailing slash) to entries. Iteration order is
 * depth-first with children sorted by name bytes, so every parent comes before its children.
 * The root '/' is always present and a directory.
 */
export type RootfsTree = Map<string, RootfsEntry>;

export function openContent(entry: RootfsEntry): Readable {
  if (!entry.content) throw new Error(`entry has no content (type ${entry.type})`);
  return entry.content.open();
}

export function fileContent(
  path: string,
  offset: number,
  size: number,
  sha256?: string,
): FileContent {
  const c: FileContent = {
    path,
    offset,
    size,
    open: () =>
      size === 0
        ? Readable.from([])
        : createReadStream(path, {
            start: offset,
            end: offset + size - 1,
            highWaterMark: 256 * 1024,
          }),
  };
  if (sha256) c.sha256 = sha256;
  return c;
}

/** Number of names linking to each non-directory inode (primary path -> count). */
export function linkCounts(tree: RootfsTree): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [p, e] of tree) {
    if (e.type === 'hardlink' && e.linkTarget)
      counts.set(e.linkTarget, (counts.get(e.linkTarget) ?? 1) + 1);
    else if (e.type !== 'dir' && !counts.has(p)) counts.set(p, 1);
  }
  return counts;
}

/** Joins and normalizes; never goes above '/'. Returns null if `..` would leave the root. */
export function normalizePath(p: string, base = '/'): string | null {
  const parts: string[] = [];
  const src = p.startsWith('/') ? p : `${base}/${p}`;
  for (const seg of src.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return null;
      parts.pop();
      continue;
    }
    parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
