import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FsEntry, type FsTree, treeFromDirectory } from '@c2w/fsimage';
import { expect } from 'vitest';

export interface NormEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: string;
  size?: number;
  sha?: string;
  target?: string;
  rdev?: string;
  xattrs?: Record<string, string>;
}

export function tmp(prefix = 'fsimage-test-'): string {
  const base = process.env.C2W_TEST_TMP ?? tmpdir();
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, prefix));
}

async function hashContent(e: FsEntry): Promise<string> {
  const h = createHash('sha256');
  const open =
    e.openContent ?? (e.content ? () => (e.content as { open(): unknown }).open() : undefined);
  if (open) {
    const src = await open();
    for await (const c of src as AsyncIterable<Uint8Array>) h.update(c);
  }
  return h.digest('hex');
}

function pairs(tree: FsTree): [string, FsEntry][] {
  const it =
    !Array.isArray(tree) && typeof (tree as { entries?: unknown }).entries === 'function'
      ? (tree as { entries(): Iterable<readonly [string, FsEntry]> }).entries()
      : (tree as Iterable<readonly [string, FsEntry]>);
  return [...it].map(([p, e]) => [p, e]);
}

/** A comparable form of a tree: hardlinks resolved to their inode's attributes. */
export async function normalize(
  tree: FsTree,
  opts: { xattrs?: boolean; mtimeNsec?: boolean; kernelView?: boolean } = {},
): Promise<Map<string, NormEntry>> {
  const all = new Map(pairs(tree));
  const out = new Map<string, NormEntry>();
  const cache = new Map<FsEntry, NormEntry>();
  for (const [path, e0] of [...all].sort(([a], [b]) => (a < b ? -1 : 1))) {
    let e = e0;
    for (let i = 0; e.type === 'hardlink' && i < 100; i++)
      e = all.get(e.linkTarget as string) as FsEntry;
    let n = cache.get(e);
    if (!n) {
      n = {
        type: e.type,
        mode: e.mode & 0o7777,
        uid: e.uid,
        gid: e.gid,
        mtime:
          opts.mtimeNsec === false
            ? `${Number(e.mtime.sec)}`
            : `${Number(e.mtime.sec)}.${e.mtime.nsec}`,
      };
      if (e.type === 'file') {
        n.size = e.size ?? 0;
        n.sha = await hashContent(e);
      }
      if (e.type === 'symlink') n.target = e.linkTarget as string;
      if (e.type === 'char' || e.type === 'block') n.rdev = `${e.rdev?.major}:${e.rdev?.minor}`;
      if (opts.xattrs !== false) {
        const x: Record<string, string> = {};
        for (const [k, v] of [...(e.xattrs ?? new Map())].sort(([a], [b]) => (a < b ? -1 : 1))) {
          // Linux allows user.* xattrs only on regular files and directories (xattr(7)).
          if (opts.kernelView && k.startsWith('user.') && e.type !== 'file' && e.type !== 'dir')
            continue;
          x[k] = Buffer.from(v).toString('hex');
        }
        n.xattrs = x;
      }
      cache.set(e, n);
    }
    out.set(path, n);
  }
  // Parent directories the tree leaves out are created with these attributes.
  const implicit: NormEntry = {
    type: 'dir',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: opts.mtimeNsec === false ? '0' : '0.0',
  };
  if (opts.xattrs !== false) implicit.xattrs = {};
  for (const p of [...out.keys()]) {
    for (let i = p.lastIndexOf('/'); i >= 0; i = p.lastIndexOf('/', i - 1)) {
      const parent = p.slice(0, i) || '/';
      if (!out.has(parent)) out.set(parent, implicit);
      if (i === 0) break;
    }
  }
  if (!out.has('/')) out.set('/', implicit);
  return out;
}

/** Asserts two normalized trees are equal; returns a list of differences (empty when equal). */
export function diffTrees(
  expected: Map<string, NormEntry>,
  actual: Map<string, NormEntry>,
  allow: { setidCleared?: boolean } = {},
): string[] {
  const diffs: string[] = [];
  for (const [p, e] of expected) {
    const a = actual.get(p);
    if (!a) {
      diffs.push(`missing ${p}`);
      continue;
    }
    const ee = { ...e };
    const aa = { ...a };
    if (allow.setidCleared && ee.type !== 'dir' && ee.type !== 'symlink') {
      ee.mode &= ~0o6000;
      aa.mode &= ~0o6000;
    }
    if (ee.type === 'symlink') {
      // Symlink permissions are not meaningful on Linux (always 0777).
      ee.mode = aa.mode;
    }
    const je = JSON.stringify(ee);
    const ja = JSON.stringify(aa);
    if (je !== ja) diffs.push(`${p}: expected ${je} got ${ja}`);
  }
  for (const p of actual.keys()) if (!expected.has(p)) diffs.push(`unexpected ${p}`);
  return diffs;
}

export function fsckExtract(img: string): string {
  const dir = tmp('fsimage-extract-');
  const r = spawnSync('fsck.erofs', [`--extract=${join(dir, 'r')}`, img], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fsck.erofs --extract failed: ${r.stderr}${r.stdout}`);
  return join(dir, 'r');
}

export function fsck(img: string): void {
  const r = spawnSync('fsck.erofs', [img], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fsck.erofs failed: ${r.stderr}${r.stdout}`);
}

/** dump.erofs --path output parsed: nid, links, mode. */
export function dumpPath(img: string, path: string): { nid: number; links: number; mode: number } {
  const out = execFileSync('dump.erofs', [`--path=${path}`, img], { encoding: 'utf8' });
  const nid = /NID: (\d+)/.exec(out);
  const links = /Links: (\d+)/.exec(out);
  const mode = /Access: ([0-7]+)/.exec(out);
  if (!nid || !links || !mode)
    throw new Error(`dump.erofs --path=${path}: unexpected output: ${out}`);
  return {
    nid: Number(nid[1]),
    links: Number(links[1]),
    mode: Number.parseInt(mode[1] as string, 8),
  };
}

export function dumpSuper(img: string): string {
  return execFileSync('dump.erofs', ['-s', '-S', img], { encoding: 'utf8' });
}

/** Why a kernel mount of an EROFS image cannot be tested here, or undefined if it can. */
export function mountUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const fsList = existsSync('/proc/filesystems') ? readFileSync('/proc/filesystems', 'utf8') : '';
  if (!/\berofs\b/.test(fsList)) {
    const r = spawnSync('modprobe', ['erofs']);
    const again = readFileSync('/proc/filesystems', 'utf8');
    if (r.status !== 0 || !/\berofs\b/.test(again)) return 'the host kernel has no erofs';
  }
  if (!existsSync('/dev/loop-control')) return 'no loop device support';
  // Probe with an image from mkfs.erofs: a failure here is the machine's, not our writer's.
  const probe = tmp('fsimage-probe-');
  try {
    mkdirSync(join(probe, 'src'));
    execFileSync('mkfs.erofs', ['--quiet', join(probe, 'img'), join(probe, 'src')]);
    mkdirSync(join(probe, 'mnt'));
    const r = spawnSync(
      'mount',
      ['-t', 'erofs', '-o', 'loop,ro', join(probe, 'img'), join(probe, 'mnt')],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) return `mounting an mkfs.erofs image fails here: ${r.stderr.trim()}`;
    spawnSync('umount', [join(probe, 'mnt')]);
    return undefined;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

let mountCheck: string | undefined | null = null;
/** mountUnavailable(), probed once per test file. */
export function mountUnavailableCached(): string | undefined {
  if (mountCheck === null) mountCheck = mountUnavailable();
  return mountCheck;
}

export async function withMount<T>(img: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tmp('fsimage-mnt-');
  execFileSync('mount', ['-t', 'erofs', '-o', 'loop,ro', img, dir]);
  try {
    return await fn(dir);
  } finally {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function normalizeDir(
  dir: string,
  opts: { xattrs?: boolean; mtimeNsec?: boolean } = {},
): Promise<Map<string, NormEntry>> {
  const tree = treeFromDirectory(dir, { xattrs: opts.xattrs !== false });
  return normalize(tree, opts);
}

export function minbaseTree(): string {
  return execFileSync('bash', [join(import.meta.dirname, 'fixtures', 'minbase.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/** Asserts fsck accepts `img`, extraction gives back `tree`, and dump.erofs agrees on links. */
/** Per-type path counts from `dump.erofs -S` (walks every directory and inode). */
export function dumpStats(img: string): Record<string, number> {
  const out = execFileSync('dump.erofs', ['-S', img], { encoding: 'utf8' });
  const get = (label: string) => {
    const m = new RegExp(`Filesystem ${label} count:\\s+(\\d+)`).exec(out);
    if (!m) throw new Error(`dump.erofs -S: no "${label}" count in: ${out}`);
    return Number(m[1]);
  };
  return {
    total: get('total file'),
    file: get('regular file'),
    dir: get('directory'),
    char: get('char dev'),
    block: get('block dev'),
    fifo: get('FIFO file'),
    socket: get('SOCK file'),
    symlink: get('symlink file'),
  };
}

/** A normalized tree without xattrs (what fsck.erofs 1.5 extraction can show). */
export function withoutXattrs(n: Map<string, NormEntry>): Map<string, NormEntry> {
  return new Map(
    [...n].map(([p, e]) => {
      const { xattrs: _, ...rest } = e;
      return [p, rest];
    }),
  );
}

export async function checkImage(
  img: string,
  tree: Map<string, FsEntry>,
  normalized?: Map<string, NormEntry>,
) {
  fsck(img);
  const expected = normalized
    ? withoutXattrs(normalized)
    : await normalize(tree, { xattrs: false });
  const expectedStats: Record<string, number> = {
    total: 0,
    file: 0,
    dir: 0,
    char: 0,
    block: 0,
    fifo: 0,
    socket: 0,
    symlink: 0,
  };
  for (const e of expected.values()) {
    expectedStats.total = (expectedStats.total ?? 0) + 1;
    expectedStats[e.type] = (expectedStats[e.type] ?? 0) + 1;
  }
  expect(dumpStats(img)).toEqual(expectedStats);
  const out = fsckExtract(img);
  try {
    // fsck.erofs 1.5 --extract: no xattrs, hardlinks become copies, and chown() after chmod()
    // clears setuid/setgid on files (dump.erofs 1.5 prints only 0777 bits): the kernel mount
    // test checks those. Hardlinks are checked through dump.erofs here.
    const actual = await normalizeDir(out, { xattrs: false });
    expect(diffTrees(expected, actual, { setidCleared: true })).toEqual([]);
  } finally {
    rmSync(join(out, '..'), { recursive: true, force: true });
  }
  const byTarget = new Map<string, string[]>();
  for (const [p, e] of tree) {
    if (e.type === 'hardlink') {
      let target = e.linkTarget as string;
      while (tree.get(target)?.type === 'hardlink') target = tree.get(target)?.linkTarget as string;
      byTarget.set(target, [...(byTarget.get(target) ?? [target]), p]);
    }
  }
  for (const paths of byTarget.values()) {
    const infos = paths.map((p) => dumpPath(img, p));
    for (const i of infos) {
      expect(i.nid).toBe(infos[0]?.nid);
      expect(i.links).toBe(paths.length);
    }
  }
}
