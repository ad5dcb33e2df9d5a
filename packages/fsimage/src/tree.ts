import { closeSync, openSync, readSync } from 'node:fs';
import { FsImageError } from './errors.js';
import type { ContentSource, FsEntry, FsTree } from './types.js';

/** Kinds of inodes (a hardlink is a second name for an existing inode). */
export type InodeKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export const S_IFMT: Record<InodeKind, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
  socket: 0o140000,
};

export interface Xattr {
  name: string;
  value: Uint8Array;
}

export interface DirChild {
  name: Uint8Array;
  inode: Inode;
  path: string;
}

export interface Inode {
  kind: InodeKind;
  /** First path that names this inode (for error messages). */
  path: string;
  /** Full st_mode (type bits | permission bits). */
  mode: number;
  uid: number;
  gid: number;
  mtimeSec: number;
  mtimeNsec: number;
  /** Sorted by name. */
  xattrs: Xattr[];
  /** Regular files: declared size; symlinks: target length; others: 0 (dirs: computed later). */
  size: number;
  target?: Uint8Array;
  rdevMajor: number;
  rdevMinor: number;
  nlink: number;
  entry?: FsEntry;
  /** Directories: children sorted by name bytes (no '.' / '..'). */
  children?: DirChild[];
  parent?: Inode;
}

export interface PreparedTree {
  root: Inode;
  /** Every inode once, depth-first pre-order, children in name order; root first. */
  inodes: Inode[];
  /** Every (path, inode) pair, depth-first pre-order (hardlinks appear once per name). */
  paths: { path: string; inode: Inode }[];
}

const encoder = new TextEncoder();
const MAX_NAME = 255;

export function entriesOf(tree: FsTree): Iterable<readonly [string, FsEntry]> {
  if (!Array.isArray(tree) && typeof (tree as { entries?: unknown }).entries === 'function') {
    return (tree as { entries(): Iterable<readonly [string, FsEntry]> }).entries();
  }
  return tree as Iterable<readonly [string, FsEntry]>;
}

function checkName(path: string, name: string): Uint8Array {
  if (name.includes('\0')) throw new FsImageError(`${JSON.stringify(path)}: name contains NUL`);
  if (name.includes('/')) throw new FsImageError(`${JSON.stringify(path)}: name contains '/'`);
  if (name === '' || name === '.' || name === '..') {
    throw new FsImageError(`${JSON.stringify(path)}: invalid path (empty, '.' or '..' component)`);
  }
  const bytes = encoder.encode(name);
  if (bytes.length > MAX_NAME) {
    throw new FsImageError(
      `${JSON.stringify(path)}: name is ${bytes.length} bytes, longer than ${MAX_NAME}`,
    );
  }
  return bytes;
}

function checkInt(path: string, what: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new FsImageError(`${JSON.stringify(path)}: ${what} ${String(v)} out of range`);
  }
  return v;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function makeInode(path: string, e: FsEntry, kind: InodeKind): Inode {
  const mode = checkInt(path, 'mode', e.mode, 0xffffffff) & 0o7777;
  const uid = checkInt(path, 'uid', e.uid, 0xffffffff);
  const gid = checkInt(path, 'gid', e.gid, 0xffffffff);
  const sec = Number(e.mtime?.sec ?? 0);
  const nsec = e.mtime?.nsec ?? 0;
  if (!Number.isSafeInteger(sec)) throw new FsImageError(`${JSON.stringify(path)}: bad mtime`);
  checkInt(path, 'mtime nsec', nsec, 999_999_999);
  const xattrs: Xattr[] = [];
  if (e.xattrs) {
    for (const [name, value] of e.xattrs) xattrs.push({ name, value });
    xattrs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  const inode: Inode = {
    kind,
    path,
    mode: S_IFMT[kind] | mode,
    uid,
    gid,
    mtimeSec: sec,
    mtimeNsec: nsec,
    xattrs,
    size: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    nlink: 1,
    entry: e,
  };
  if (kind === 'file') {
    inode.size = checkInt(path, 'size', e.size ?? 0, Number.MAX_SAFE_INTEGER);
    if (
      inode.size > 0 &&
      typeof e.openContent !== 'function' &&
      typeof e.content?.open !== 'function'
    ) {
      throw new FsImageError(`${JSON.stringify(path)}: regular file without content`);
    }
  } else if (kind === 'symlink') {
    if (typeof e.linkTarget !== 'string' || e.linkTarget === '') {
      throw new FsImageError(`${JSON.stringify(path)}: symlink without target`);
    }
    if (e.linkTarget.includes('\0')) {
      throw new FsImageError(`${JSON.stringify(path)}: symlink target contains NUL`);
    }
    inode.target = encoder.encode(e.linkTarget);
    if (inode.target.length > 4095) {
      throw new FsImageError(`${JSON.stringify(path)}: symlink target longer than 4095 bytes`);
    }
    inode.size = inode.target.length;
  } else if (kind === 'char' || kind === 'block') {
    inode.rdevMajor = checkInt(path, 'device major', e.rdev?.major ?? 0, 0xfff);
    inode.rdevMinor = checkInt(path, 'device minor', e.rdev?.minor ?? 0, 0xfffff);
  } else if (kind === 'dir') {
    inode.children = [];
    inode.nlink = 2;
  }
  return inode;
}

const KINDS = new Set(['file', 'dir', 'symlink', 'char', 'block', 'fifo', 'socket']);

/** Validates a tree and builds its inode graph. Deterministic: order of the input is irrelevant. */
export function prepareTree(tree: FsTree): PreparedTree {
  const byPath = new Map<string, FsEntry>();
  for (const [rawPath, entry] of entriesOf(tree)) {
    // Names are checked as they are added to their directory.
    if (typeof rawPath !== 'string' || !rawPath.startsWith('/')) {
      throw new FsImageError(`${JSON.stringify(rawPath)}: path is not absolute`);
    }
    if (rawPath.includes('\0'))
      throw new FsImageError(`${JSON.stringify(rawPath)}: name contains NUL`);
    if (!entry || typeof entry !== 'object') {
      throw new FsImageError(`${JSON.stringify(rawPath)}: entry is not an object`);
    }
    const before = byPath.size;
    byPath.set(rawPath, entry);
    if (byPath.size === before)
      throw new FsImageError(`${JSON.stringify(rawPath)}: duplicate path`);
  }
  const rootEntry = byPath.get('/');
  if (rootEntry && rootEntry.type !== 'dir') {
    throw new FsImageError(`"/": root is a ${rootEntry.type}, not a directory`);
  }
  const defaultDir: FsEntry = {
    type: 'dir',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: { sec: 0, nsec: 0 },
  };
  const root = makeInode('/', rootEntry ?? defaultDir, 'dir');
  const inodeOf = new Map<string, Inode>([['/', root]]);
  const childMaps = new Map<Inode, Map<string, DirChild>>([[root, new Map()]]);

  const addChild = (dir: Inode, name: string, inode: Inode, path: string) => {
    const m = childMaps.get(dir) as Map<string, DirChild>;
    if (m.has(name)) throw new FsImageError(`${JSON.stringify(path)}: duplicate path`);
    m.set(name, { name: checkName(path, name), inode, path });
    if (inode.kind === 'dir') dir.nlink++;
  };
  /** The directory inode at `path`, created (with its missing parents) if the tree lacks it. */
  const dirFor = (path: string): Inode => {
    const hit = inodeOf.get(path);
    if (hit) {
      if (hit.kind !== 'dir') {
        throw new FsImageError(`${JSON.stringify(path)}: is a ${hit.kind} but has children`);
      }
      return hit;
    }
    const e = byPath.get(path);
    if (e && e.type !== 'dir') {
      throw new FsImageError(`${JSON.stringify(path)}: is a ${e.type} but has children`);
    }
    const cut = path.lastIndexOf('/');
    const parent = dirFor(cut === 0 ? '/' : path.slice(0, cut));
    const inode = makeInode(path, e ?? defaultDir, 'dir');
    inodeOf.set(path, inode);
    childMaps.set(inode, new Map());
    addChild(parent, path.slice(cut + 1), inode, path);
    return inode;
  };

  // Input order does not matter: children are sorted per directory below.
  const inodeOfEntry = new Map<FsEntry, Inode>();
  const hardlinks: [string, FsEntry][] = [];
  for (const [path, e] of byPath) {
    if (path === '/') continue;
    if (e.type === 'hardlink') {
      hardlinks.push([path, e]);
      continue;
    }
    if (!KINDS.has(e.type)) {
      throw new FsImageError(
        `${JSON.stringify(path)}: unknown entry type ${JSON.stringify(e.type)}`,
      );
    }
    if (e.type === 'dir') {
      dirFor(path);
      continue;
    }
    const cut = path.lastIndexOf('/');
    const parent = dirFor(cut === 0 ? '/' : path.slice(0, cut));
    const inode = makeInode(path, e, e.type as InodeKind);
    inodeOfEntry.set(e, inode);
    addChild(parent, path.slice(cut + 1), inode, path);
  }
  for (const [path, e] of hardlinks) {
    let target = e.linkTarget;
    const seen = new Set<string>([path]);
    let resolved: Inode | undefined;
    while (typeof target === 'string') {
      if (seen.has(target)) throw new FsImageError(`${JSON.stringify(path)}: hardlink loop`);
      seen.add(target);
      const te = byPath.get(target);
      if (!te) break;
      if (te.type !== 'hardlink') {
        resolved = te.type === 'dir' ? inodeOf.get(target) : inodeOfEntry.get(te);
        break;
      }
      target = te.linkTarget;
    }
    if (!resolved) {
      throw new FsImageError(
        `${JSON.stringify(path)}: hardlink target ${JSON.stringify(e.linkTarget)} does not exist`,
      );
    }
    if (resolved.kind === 'dir') {
      throw new FsImageError(`${JSON.stringify(path)}: hardlink to a directory`);
    }
    const cut = path.lastIndexOf('/');
    addChild(dirFor(cut === 0 ? '/' : path.slice(0, cut)), path.slice(cut + 1), resolved, path);
    resolved.nlink++;
    if (resolved.nlink > 0xffffffff)
      throw new FsImageError(`${JSON.stringify(path)}: too many links`);
  }

  for (const [dir, m] of childMaps) {
    dir.children = [...m.values()].sort((a, b) => compareBytes(a.name, b.name));
  }
  const inodes: Inode[] = [];
  const paths: { path: string; inode: Inode }[] = [];
  const seen = new Set<Inode>();
  const walk = (inode: Inode, path: string) => {
    paths.push({ path, inode });
    if (seen.has(inode)) return;
    seen.add(inode);
    inodes.push(inode);
    for (const c of inode.children ?? []) {
      c.inode.parent ??= inode;
      walk(c.inode, c.path);
    }
  };
  walk(root, '/');
  root.parent = root;
  return { root, inodes, paths };
}

function openSource(inode: Inode): ContentSource | Promise<ContentSource> | undefined {
  const e = inode.entry;
  if (inode.size === 0 && !e?.openContent && !e?.content) return undefined;
  const c = e?.content;
  if (e?.openContent) return e.openContent();
  if (c && typeof c.path === 'string' && typeof c.offset === 'number') {
    return readRange(inode.path, c.path, c.offset, c.wholeFile ? inode.size + 1 : inode.size);
  }
  if (c) return c.open();
  throw new FsImageError(`${JSON.stringify(inode.path)}: regular file without content`);
}

function changedSize(inode: Inode, got: number): FsImageError {
  return new FsImageError(
    `${JSON.stringify(inode.path)}: file changed size while read (declared ${inode.size} bytes, read ${got > inode.size ? 'more' : got})`,
  );
}

/**
 * Passes a file's content to `fn` chunk by chunk, checking it has exactly the declared size.
 * Synchronous sources (arrays, generators) are read without awaiting: the result is then
 * undefined; otherwise a promise.
 */
export function forEachChunk(inode: Inode, fn: (chunk: Uint8Array) => void): void | Promise<void> {
  const opened = openSource(inode);
  if (opened === undefined) return;
  if (typeof (opened as Promise<ContentSource>).then === 'function') {
    return (opened as Promise<ContentSource>).then((src) => consume(inode, src, fn));
  }
  return consume(inode, opened as ContentSource, fn);
}

function consume(
  inode: Inode,
  src: ContentSource,
  fn: (chunk: Uint8Array) => void,
): void | Promise<void> {
  let got = 0;
  const take = (chunk: Uint8Array | string): boolean => {
    const b = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
    got += b.length;
    if (got > inode.size) return false;
    if (b.length) fn(b);
    return true;
  };
  if (
    typeof (src as Iterable<Uint8Array>)[Symbol.iterator] === 'function' &&
    !(Symbol.asyncIterator in src)
  ) {
    for (const chunk of src as Iterable<Uint8Array>) if (!take(chunk)) break;
    if (got !== inode.size) throw changedSize(inode, got);
    return;
  }
  return (async () => {
    for await (const chunk of src as AsyncIterable<Uint8Array>) if (!take(chunk)) break;
    if (got !== inode.size) throw changedSize(inode, got);
  })();
}

/** Reads a file's content, checking it has exactly the declared size. Yields the chunks. */
export async function* readContent(inode: Inode): AsyncGenerator<Uint8Array> {
  const src = await openSource(inode);
  if (src === undefined) return;
  let got = 0;
  for await (const chunk of src as AsyncIterable<Uint8Array>) {
    const b = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
    got += b.length;
    if (got > inode.size) break;
    if (b.length) yield b;
  }
  if (got !== inode.size) throw changedSize(inode, got);
}

/** `size` bytes of host file `file` from `offset`, read synchronously in large chunks. */
function* readRange(
  name: string,
  file: string,
  offset: number,
  size: number,
): Generator<Uint8Array> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw new FsImageError(`${JSON.stringify(name)}: cannot open ${JSON.stringify(file)}`);
  }
  try {
    let pos = offset;
    const end = offset + size;
    while (pos < end) {
      const buf = Buffer.allocUnsafe(Math.min(end - pos, 1 << 20));
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}
