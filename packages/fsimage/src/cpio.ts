/**
 * newc ("070701") cpio writer, deterministic: depth-first order with names sorted bytewise,
 * inode numbers counted from 1, no device numbers of the host, mtimes from the tree.
 * Hardlinked files carry their data on the first name (what the kernel's initramfs unpacker and
 * GNU cpio both accept); later names have size 0. xattrs are not part of newc.
 */
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createOutput, FsImageError } from './errors.js';
import { type Inode, prepareTree, readContent } from './tree.js';
import type { FsTree } from './types.js';

export interface CpioOptions {
  /** Name of the root entry; default '.'. `null` leaves the root directory out. */
  rootName?: string | null;
  /** Called after each entry with the file bytes written so far and the total to write. */
  onProgress?: (done: number, total: number) => void;
}

/** A byte sink: Node's Writable qualifies (backpressure is honoured via 'drain'). */
export interface ByteSink {
  write(chunk: Uint8Array): unknown;
  once?(event: 'drain', cb: () => void): unknown;
}

const enc = new TextEncoder();

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

function header(
  ino: number,
  mode: number,
  uid: number,
  gid: number,
  nlink: number,
  mtime: number,
  size: number,
  rmaj: number,
  rmin: number,
  name: Uint8Array,
): Uint8Array {
  const h = `070701${[ino, mode, uid, gid, nlink, mtime, size, 0, 0, rmaj, rmin, name.length + 1, 0]
    .map(hex8)
    .join('')}`;
  const total = Math.ceil((110 + name.length + 1) / 4) * 4;
  const b = new Uint8Array(total);
  b.set(enc.encode(h), 0);
  b.set(name, 110);
  return b;
}

/** Writes `tree` as a newc cpio archive to a file path (atomically) or a byte sink. */
export async function writeCpio(
  tree: FsTree,
  out: string | ByteSink,
  options: CpioOptions = {},
): Promise<{ bytes: number }> {
  const prepared = prepareTree(tree);
  const rootName = options.rootName === undefined ? '.' : options.rootName;
  let fd: number | undefined;
  let tmp: string | undefined;
  let bytes = 0;
  const pending: Uint8Array[] = [];
  let pendingLen = 0;
  const flush = async () => {
    if (!pendingLen) return;
    const buf = Buffer.concat(pending, pendingLen);
    pending.length = 0;
    pendingLen = 0;
    if (fd !== undefined) {
      writeSync(fd, buf);
    } else {
      const sink = out as ByteSink;
      if (sink.write(buf) === false && sink.once) {
        await new Promise<void>((r) => sink.once?.('drain', () => r()));
      }
    }
  };
  const emit = async (b: Uint8Array) => {
    pending.push(b);
    pendingLen += b.length;
    bytes += b.length;
    if (pendingLen >= 1 << 20) await flush();
  };
  if (typeof out === 'string') {
    tmp = join(
      dirname(out),
      `.${basename(out)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`,
    );
    fd = createOutput(openSync, tmp, out);
  }
  let ok = false;
  try {
    const total = prepared.inodes.reduce((n, i) => n + (i.kind === 'file' ? i.size : 0), 0);
    let done = 0;
    const inoOf = new Map<Inode, number>();
    const written = new Set<Inode>();
    for (const { path, inode } of prepared.paths) {
      let ino = inoOf.get(inode);
      if (ino === undefined) {
        ino = inoOf.size + 1;
        inoOf.set(inode, ino);
      }
      let name: string;
      if (path === '/') {
        if (rootName === null) continue;
        name = rootName;
      } else {
        name = path.slice(1);
      }
      const nameBytes = enc.encode(name);
      let data: Uint8Array | undefined;
      let size = 0;
      if (inode.kind === 'symlink') {
        data = inode.target as Uint8Array;
        size = data.length;
      } else if (inode.kind === 'file' && !written.has(inode)) {
        size = inode.size;
        if (size > 0xffffffff) {
          throw new FsImageError(
            `${JSON.stringify(path)}: file larger than 4 GiB does not fit newc cpio`,
          );
        }
      }
      const mtime = inode.mtimeSec;
      if (mtime < 0 || mtime > 0xffffffff) {
        throw new FsImageError(`${JSON.stringify(path)}: mtime out of newc cpio range`);
      }
      await emit(
        header(
          ino,
          inode.mode,
          inode.uid,
          inode.gid,
          inode.nlink,
          mtime,
          size,
          inode.rdevMajor,
          inode.rdevMinor,
          nameBytes,
        ),
      );
      if (data) {
        await emit(data);
      } else if (inode.kind === 'file' && !written.has(inode)) {
        written.add(inode);
        for await (const c of readContent(inode))
          await emit(c instanceof Buffer ? Buffer.from(c) : c.slice());
      }
      const pad = (4 - (size % 4)) % 4;
      if (pad) await emit(new Uint8Array(pad));
      if (inode.kind === 'file') done += size;
      options.onProgress?.(done, total);
    }
    await emit(header(0, 0, 0, 0, 1, 0, 0, 0, 0, enc.encode('TRAILER!!!')));
    await flush();
    if (fd !== undefined && tmp) {
      closeSync(fd);
      fd = undefined;
      renameSync(tmp, out as string);
    }
    ok = true;
    return { bytes };
  } finally {
    if (!ok && tmp) {
      try {
        if (fd !== undefined) closeSync(fd);
      } catch {}
      try {
        unlinkSync(tmp);
      } catch {}
    }
  }
}
