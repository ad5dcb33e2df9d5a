import { execFileSync, spawnSync } from 'node:child_process';
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
  /** 'find' (default: one GNU find run, falling back to lstat) or 'lstat' (one call per entry). */
  walk?: 'find' | 'lstat';
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

const GETFATTR_ARGS = ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names'];

/** All xattrs under `dir` (absolute host path -> name -> value), via one `getfattr` run. */
export function readXattrs(dir: string): Map<string, Map<string, Uint8Array>> | undefined {
  let out: string;
  try {
    out = execFileSync('getfattr', [...GETFATTR_ARGS, dir], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (e) {
    const err = e as { code?: string; stdout?: string };
    if (err.code === 'ENOENT') return undefined;
    // getfattr exits non-zero when some file has no readable xattrs; its output is still valid.
    out = err.stdout ?? '';
  }
  return parseGetfattr(out);
}

function parseGetfattr(out: string): Map<string, Map<string, Uint8Array>> {
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
interface Scanned {
  path: string;
  host: string;
  type: FsEntry['type'];
  mode: number;
  uid: number;
  gid: number;
  sec: number;
  nsec: number;
  size: number;
  /** dev:ino, for hardlink detection (non-directories with nlink > 1). */
  id: string;
  nlink: number;
  target?: string;
  rdev?: { major: number; minor: number };
}

function rdevOf(rdev: bigint) {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

function fromStat(host: string, path: string, st: BigIntStats): Scanned {
  const type = typeOf(st);
  if (!type) throw new FsImageError(`${JSON.stringify(host)}: unsupported file type`);
  const nsec = ((st.mtimeNs % NS) + NS) % NS;
  const r: Scanned = {
    path,
    host,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    sec: Number((st.mtimeNs - nsec) / NS),
    nsec: Number(nsec),
    size: Number(st.size),
    id: `${st.dev}:${st.ino}`,
    nlink: Number(st.nlink),
  };
  if (type === 'symlink') r.target = readlinkSync(host);
  if (type === 'char' || type === 'block') r.rdev = rdevOf(st.rdev);
  return r;
}

/** The portable walk: lstat (ns mtimes) and readdir per entry. */
function scanLstat(dir: string, rootSt: BigIntStats): Scanned[] {
  const out: Scanned[] = [];
  const visit = (host: string, path: string, st: BigIntStats) => {
    const r = fromStat(host, path, st);
    out.push(r);
    if (r.type === 'dir') {
      for (const name of readdirSync(host).sort()) {
        const h = join(host, name);
        visit(h, path === '/' ? `/${name}` : `${path}/${name}`, lstatSync(h, { bigint: true }));
      }
    }
  };
  visit(dir, '/', rootSt);
  return out;
}

const FIND_TYPES: Record<string, FsEntry['type']> = {
  f: 'file',
  d: 'dir',
  l: 'symlink',
  c: 'char',
  b: 'block',
  p: 'fifo',
  s: 'socket',
};
const FIND_FIELDS = 10;

const FIND_FORMAT = '%y\\0%m\\0%U\\0%G\\0%s\\0%T@\\0%D:%i\\0%n\\0%P\\0%l\\0';
const NO_GETFATTR = 'c2w: no getfattr';
// $1: run getfattr (1/0), $2: run find (1/0), $3: the directory. getfattr writes to fd 3.
const SCAN_SCRIPT = `
if [ "$1" = 1 ]; then
  if command -v getfattr >/dev/null 2>&1; then
    getfattr ${GETFATTR_ARGS.join(' ')} "$3" >&3 2>/dev/null &
  else
    echo '${NO_GETFATTR}' >&3
  fi
fi
s=0
if [ "$2" = 1 ]; then find "$3" -printf '${FIND_FORMAT}' || s=$?; fi
wait
exit $s`;

/**
 * One shell runs GNU `find -printf` (every entry's metadata, a few times cheaper than an lstat
 * call per entry from Node) and `getfattr` side by side. `find` is undefined when it failed
 * (not GNU find); `xattrs` when getfattr was not wanted or is not installed. Undefined when no
 * shell runs.
 */
function scanHost(
  dir: string,
  wantXattrs: boolean,
  wantFind: boolean,
): { find?: Buffer; xattrs?: Map<string, Map<string, Uint8Array>> } | undefined {
  const r = spawnSync(
    'sh',
    ['-c', SCAN_SCRIPT, 'sh', wantXattrs ? '1' : '0', wantFind ? '1' : '0', dir],
    { stdio: ['ignore', 'pipe', 'ignore', 'pipe'], maxBuffer: 1 << 30 },
  );
  if (r.error || r.signal) return undefined;
  const out: { find?: Buffer; xattrs?: Map<string, Map<string, Uint8Array>> } = {};
  if (wantFind && r.status === 0) out.find = r.output[1] as Buffer;
  const x = (r.output[3] as Buffer).toString('utf8');
  if (wantXattrs && !x.startsWith(NO_GETFATTR)) out.xattrs = parseGetfattr(x);
  return out;
}

/**
 * Parses `find -printf FIND_FORMAT` output. Devices (rdev) and pre-1970 mtimes are completed
 * with lstat.
 */
function parseFind(dir: string, raw: Buffer): Scanned[] | undefined {
  const f = raw.toString('utf8').split('\0');
  const out: Scanned[] = [];
  for (let i = 0; i + FIND_FIELDS <= f.length; i += FIND_FIELDS) {
    const rel = f[i + 8] as string;
    const path = rel === '' ? '/' : `/${rel}`;
    const host = rel === '' ? dir : dir === '/' ? `/${rel}` : `${dir}/${rel}`;
    const type = FIND_TYPES[f[i] as string];
    const mtime = f[i + 5] as string;
    const dot = mtime.indexOf('.');
    if (!type || mtime.startsWith('-') || dot < 0 || (type !== 'symlink' && f[i + 9] !== '')) {
      out.push(fromStat(host, path, lstatSync(host, { bigint: true })));
      continue;
    }
    const r: Scanned = {
      path,
      host,
      type,
      mode: Number.parseInt(f[i + 1] as string, 8),
      uid: Number(f[i + 2]),
      gid: Number(f[i + 3]),
      sec: Number(mtime.slice(0, dot)),
      nsec: Number(mtime.slice(dot + 1, dot + 10).padEnd(9, '0')),
      size: Number(f[i + 4]),
      id: f[i + 6] as string,
      nlink: Number(f[i + 7]),
    };
    if (type === 'symlink') r.target = f[i + 9] as string;
    if (type === 'char' || type === 'block')
      r.rdev = rdevOf(lstatSync(host, { bigint: true }).rdev);
    out.push(r);
  }
  if (out[0]?.path !== '/') return undefined;
  return out;
}

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
  const wantXattrs = options.xattrs !== false;
  const wantFind = options.walk !== 'lstat';
  const host = scanHost(dir, wantXattrs, wantFind);
  const xattrs = host ? host.xattrs : wantXattrs ? readXattrs(dir) : undefined;
  if (options.xattrs === true && !xattrs) {
    throw new FsImageError('getfattr (Debian package attr) is needed to read xattrs');
  }
  const scanned = (host?.find && parseFind(dir, host.find)) || scanLstat(dir, rootSt);
  const tree = new Map<string, FsEntry>();
  const links = new Map<string, string>();
  for (const r of scanned) {
    const x = xattrs?.get(r.host);
    const e: FsEntry = {
      type: r.type,
      mode: r.mode,
      uid: r.uid,
      gid: r.gid,
      mtime: { sec: r.sec, nsec: r.nsec },
    };
    if (x?.size) e.xattrs = x;
    if (r.type !== 'dir' && r.nlink > 1) {
      const first = links.get(r.id);
      if (first) {
        e.type = 'hardlink';
        e.linkTarget = first;
        tree.set(r.path, e);
        continue;
      }
      links.set(r.id, r.path);
    }
    if (r.type === 'file') {
      const { host, size } = r;
      e.size = size;
      e.content = {
        path: host,
        offset: 0,
        size,
        wholeFile: true,
        open: () => readChunks(host, size),
      };
    } else if (r.type === 'symlink') {
      e.linkTarget = r.target as string;
    } else if (r.rdev) {
      e.rdev = r.rdev;
    }
    tree.set(r.path, e);
  }
  return tree;
}
