/**
 * The input model: a structural interface that `@c2w/image`'s `RootfsTree` satisfies
 * (fsimage does not depend on `@c2w/image`). See README.md.
 */

export type FsEntryType =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'hardlink'
  | 'char'
  | 'block'
  | 'fifo'
  | 'socket';

/** Bytes of a file: any (async) iterable of chunks; Node streams and web streams qualify. */
export type ContentSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface FsEntry {
  type: FsEntryType;
  /** Permission bits incl. setuid/setgid/sticky (07777); file-type bits, if present, are ignored. */
  mode: number;
  uid: number;
  gid: number;
  mtime: { sec: number | bigint; nsec: number };
  /** Extended attributes, full names (`user.x`, `security.capability`, `trusted.overlay.opaque`). */
  xattrs?: ReadonlyMap<string, Uint8Array>;
  /** Byte size of a regular file (other types: ignored). */
  size?: number;
  /** symlink: its target; hardlink: the absolute path of the entry it links to. */
  linkTarget?: string;
  /** char and block devices. */
  rdev?: { major: number; minor: number };
  /** Regular files: the content, exactly `size` bytes. Called once per inode. */
  openContent?: () => ContentSource | Promise<ContentSource>;
  /**
   * Alternative to `openContent` (the shape `@c2w/image` uses): `open()` gives the bytes; when
   * `path` and `offset` are given, fsimage reads `size` bytes of `path` from `offset` directly.
   */
  content?: FsContent;
}

export interface FsContent {
  open(): ContentSource | Promise<ContentSource>;
  path?: string;
  offset?: number;
  size?: number;
  /** `path` holds exactly this file (offset 0): a longer file is reported as having changed. */
  wholeFile?: boolean;
}

/**
 * A rootfs: normalized absolute paths ('/' is the root; no trailing '/', no '.' or '..'
 * components) to entries. A `Map<string, FsEntry>` is one; so is anything with `entries()`.
 * Missing parent directories are created (mode 0755, root-owned, mtime 0).
 */
export type FsTree =
  | { entries(): Iterable<readonly [string, FsEntry]> }
  | Iterable<readonly [string, FsEntry]>;
