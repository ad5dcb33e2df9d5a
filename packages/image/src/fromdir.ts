/** A RootfsTree from a directory on disk (for tests and for packing unpacked trees). */
import { execFileSync } from 'node:child_process';
import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ImageError } from './errors.js';
import { type EntryType, fileContent, type RootfsEntry, type RootfsTree } from './tree.js';

export interface FromDirectoryOptions {
  /** Read extended attributes (needs `getfattr` from the attr package). Default false. */
  xattrs?: boolean;
}

export function devMajor(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
export function devMinor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

function typeOf(st: BigIntStats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/** Parses `getfattr -d -m - -e hex --absolute-names -R -h` output: path -> xattrs. */
function readAllXattrs(dir: string): Map<string, Map<string, Uint8Array>> {
  const out = new Map<string, Map<string, Uint8Array>>();
  let text: string;
  try {
    text = execFileSync(
      'getfattr',
      ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', dir],
      {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
  } catch (e) {
    const err = e as { stdout?: string; code?: string };
    if (err.code === 'ENOENT')
      throw new ImageError('treeFromDirectory: xattrs requested but getfattr is not installed');
    text = err.stdout ?? '';
  }
  let cur: Map<string, Uint8Array> | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      const p = line
        .slice(8)
        .replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(Number.parseInt(o, 8)));
      cur = new Map();
      out.set(Buffer.from(p, 'latin1').toString('utf8'), cur);
    } else if (cur && line.includes('=')) {
      const eq = line.indexOf('=');
      const v = line.slice(eq + 1);
      cur.set(
        line.slice(0, eq),
        v.startsWith('0x') ? Buffer.from(v.slice(2), 'hex') : Buffer.from(v.replace(/^"|"$/g, '')),
      );
    }
  }
  return out;
}

export function treeFromDirectory(dir: string, opts: FromDirectoryOptions = {}): RootfsTree {
  const xattrs = opts.xattrs ? readAllXattrs(dir) : new Map<string, Map<string, Uint8Array>>();
  const tree: RootfsTree = new Map();
  const inodes = new Map<string, string>();
  const walk = (abs: string, path: string) => {
    const st = lstatSync(abs, { bigint: true });
    const type = typeOf(st);
    const e: RootfsEntry = {
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtime: {
        sec: Number(st.mtimeNs / 1_000_000_000n),
        nsec: Number(st.mtimeNs % 1_000_000_000n),
      },
      xattrs: xattrs.get(abs) ?? new Map(),
      size: 0,
    };
    if (type !== 'dir' && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first) {
        const pe = tree.get(first) as RootfsEntry;
        tree.set(path, { ...pe, type: 'hardlink', linkTarget: first });
        return;
      }
      inodes.set(key, path);
    }
    if (type === 'file') {
      e.size = Number(st.size);
      e.content = { ...fileContent(abs, 0, e.size), wholeFile: true };
    } else if (type === 'symlink') {
      e.linkTarget = readlinkSync(abs, 'utf8');
    } else if (type === 'char' || type === 'block') {
      e.rdev = { major: devMajor(st.rdev), minor: devMinor(st.rdev) };
    }
    tree.set(path, e);
    if (type === 'dir') {
      const names = readdirSync(abs).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      for (const n of names) walk(join(abs, n), path === '/' ? `/${n}` : `${path}/${n}`);
    }
  };
  walk(dir, '/');
  return tree;
}
