import { createHash } from 'node:crypto';
import type { RootfsEntry, RootfsTree } from '@c2w/image';

export interface Norm {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  link?: string;
  rdev?: string;
  xattrs: string;
  sha256?: string;
  size?: number;
  mtime?: number;
  /** hardlink group: all names of the inode, sorted */
  names?: string;
}

async function hashOf(e: RootfsEntry): Promise<string> {
  if (e.content?.sha256) return e.content.sha256;
  const h = createHash('sha256');
  for await (const c of (e.content as NonNullable<RootfsEntry['content']>).open())
    h.update(c as Buffer);
  return h.digest('hex');
}

/** A comparable view of a tree: hardlinks resolved to their inode, groups listed. */
export async function normalizeTree(
  tree: RootfsTree,
  opts: { mtimes?: boolean } = {},
): Promise<Map<string, Norm>> {
  const groups = new Map<string, string[]>();
  for (const [p, e] of tree) {
    if (e.type === 'hardlink') {
      const t = e.linkTarget as string;
      if (!groups.has(t)) groups.set(t, [t]);
      groups.get(t)?.push(p);
    }
  }
  const out = new Map<string, Norm>();
  for (const [p, e0] of tree) {
    const primary = e0.type === 'hardlink' ? (e0.linkTarget as string) : p;
    const e = tree.get(primary) as RootfsEntry;
    if (!e) throw new Error(`hardlink ${p} -> missing ${primary}`);
    const n: Norm = {
      type: e.type,
      mode: e.mode.toString(8),
      uid: e.uid,
      gid: e.gid,
      xattrs: [...e.xattrs]
        .map(([k, v]) => `${k}=${Buffer.from(v).toString('hex')}`)
        .sort()
        .join(','),
    };
    if (e.type === 'symlink') n.link = e.linkTarget as string;
    if (e.rdev) n.rdev = `${e.rdev.major}:${e.rdev.minor}`;
    if (e.type === 'file') {
      n.size = e.size;
      n.sha256 = await hashOf(e);
      if (opts.mtimes) n.mtime = Number(e.mtime.sec);
    }
    const g = groups.get(primary);
    if (g) n.names = [...g].sort().join('|');
    out.set(p, n);
  }
  return out;
}

export function diffNorm(
  a: Map<string, Norm>,
  b: Map<string, Norm>,
  skip: (p: string) => boolean = () => false,
): string[] {
  const diffs: string[] = [];
  for (const [p, x] of a) {
    if (skip(p)) continue;
    const y = b.get(p);
    if (!y) diffs.push(`only in first: ${p}`);
    else if (JSON.stringify(x) !== JSON.stringify(y))
      diffs.push(`${p}: ${JSON.stringify(x)} != ${JSON.stringify(y)}`);
  }
  for (const p of b.keys()) if (!skip(p) && !a.has(p)) diffs.push(`only in second: ${p}`);
  return diffs;
}
