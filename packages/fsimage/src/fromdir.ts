import { execFileSync } from 'node:child_process';
import {
  type BigIntStats,
  closeSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { FsImageError } from './errors.js';
import type { FsEntry } from './types.js';

export interface FromDirectoryOptions {
  /**
   * Read extended attributes with Debian's `getfattr` (package `attr`). Default: true when
   * `getfattr` runs, else xattrs are skipped.
   */
  xattrs?: boolean;
}

function* readChunks(path: string, size: number): Generator<Uint8Array> {
  if (size <= 1 << 20) {
    yield readFileSync(path);
    return;
  }
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(1 << 20);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c === 0x5c && i + 1 < raw.length) {
      const n = raw[i + 1] as number;
      if (n === 0x5c) {
        bytes.push(0x5c);
        i++;
        continue;
      }
      const oct = raw.subarray(i + 1, i + 4).toString('latin1');
      if (/^[0-7]{3}$/.test(oct)) {
        bytes.push(Number.parseInt(oct, 8));
        i += 3;
        continue;
      }
    }
    bytes.push(c);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** All xattrs under `dir` (absolute host path -> name -> value), via one `getfattr` run. */
export function readXattrs(dir: string): Map<string, Map<string, Uint8Array>> | undefined {
  let out: string;
  try {
    out = execFileSync(
      'getfattr',
      ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', dir],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 30,
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
  } catch (e) {
    const err = e as { code?: string; stdout?: string };
    if (err.code === 'ENOENT') return undefined;
    // getfattr exits non-zero when some file has no readable xattrs; its output is still valid.
    out = err.stdout ?? '';
  }
  const result = new Map<string, Map<string, Uint8Array>>();
  let cur: Map<string, Uint8Array> | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = new Map();
      result.set(unescapeGetfattr(line.slice(8)), cur);
    } else if (cur && line.includes('=')) {
      const eq = line.indexOf('=');
      const name = unescapeGetfattr(line.slice(0, eq));
      const v = line.slice(eq + 1);
      let value: Uint8Array;
      if (v.startsWith('0x')) value = Buffer.from(v.slice(2), 'hex');
      else if (v.startsWith('0s')) value = Buffer.from(v.slice(2), 'base64');
      else value = Buffer.from(JSON.parse(v) as string, 'utf8');
      cur.set(name, value);
    }
  }
  return result;
}

const NS = 1_000_000_000n;

function typeOf(st: BigIntStats): FsEntry['type'] | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return undefined;
}

/**
 * Reads a directory on the host into an FsTree (lstat, readlink, xattrs). Hardlinked files
 * become one entry plus 'hardlink' entries pointing at the first path in sorted order.
 */
export function treeFromDirectory(
  hostDir: string,
  options: FromDirectoryOptions = {},
): Map<string, FsEntry> {
  const dir = resolve(hostDir);
  let rootSt: BigIntStats;
  try {
    rootSt = lstatSync(dir, { bigint: true });
  } catch {
    throw new FsImageError(`${JSON.stringify(dir)}: cannot read directory`);
  }
  if (!rootSt.isDirectory()) throw new FsImageError(`${JSON.stringify(dir)}: not a directory`);
  const xattrs = options.xattrs === false ? undefined : readXattrs(dir);
  if (options.xattrs === true && !xattrs) {
    throw new FsImageError('getfattr (Debian package attr) is needed to read xattrs');
  }
  const tree = new Map<string, FsEntry>();
  const links = new Map<string, string>();
  const visit = (host: string, path: string, st: BigIntStats) => {
    const type = typeOf(st);
    if (!type) throw new FsImageError(`${JSON.stringify(host)}: unsupported file type`);
    const x = xattrs?.get(host);
    const base = {
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtime: {
        sec: Number((st.mtimeNs - (((st.mtimeNs % NS) + NS) % NS)) / NS),
        nsec: Number(((st.mtimeNs % NS) + NS) % NS),
      },
      ...(x?.size ? { xattrs: x } : {}),
    };
    if (type !== 'dir' && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first) {
        tree.set(path, { ...base, type: 'hardlink', linkTarget: first });
        return;
      }
      links.set(key, path);
    }
    if (type === 'file') {
      const size = Number(st.size);
      tree.set(path, {
        ...base,
        type,
        size,
        content: {
          path: host,
          offset: 0,
          size,
          wholeFile: true,
          open: () => readChunks(host, size),
        },
      });
    } else if (type === 'symlink') {
      tree.set(path, { ...base, type, linkTarget: readlinkSync(host) });
    } else if (type === 'char' || type === 'block') {
      const rdev = st.rdev;
      const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
      const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
      tree.set(path, { ...base, type, rdev: { major, minor } });
    } else {
      tree.set(path, { ...base, type });
    }
    if (type === 'dir') {
      const names = readdirSync(host).sort();
      for (const name of names) {
        const h = join(host, name);
        visit(h, path === '/' ? `/${name}` : `${path}/${name}`, lstatSync(h, { bigint: true }));
      }
    }
  };
  visit(dir, '/', rootSt);
  return tree;
}
