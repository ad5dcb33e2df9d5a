/**
 * Applies layer tar streams, in order, onto one in-memory rootfs model (metadata only; file
 * bytes go to the ContentSpool). Implements OCI whiteouts and opaque directories, hardlinks,
 * and symlink-aware parent resolution confined to the rootfs.
 */
import { ImageError } from './errors.js';
import type { ContentSpool } from './spool.js';
import type { TarEntry } from './tar.js';
import { baseName, normalizePath, type RootfsEntry, type RootfsTree } from './tree.js';

interface Node {
  entry: RootfsEntry;
  children?: Map<string, Node>;
  /** Index of the layer that last created or changed this node. */
  layer: number;
}

/** A directory no layer described (the root, or a parent a layer skipped): root-owned, 0755. */
function implicitDir(layer: number): Node {
  const entry: RootfsEntry = {
    type: 'dir',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: { sec: 0, nsec: 0 },
    xattrs: new Map(),
    size: 0,
  };
  return { entry, children: new Map(), layer };
}

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const MAX_SYMLINK_HOPS = 40;
const MAX_XATTR_NAME = 255;
const MAX_XATTR_VALUE = 64 * 1024;

export interface ApplyOptions {
  /** Added to error messages, e.g. the layer digest. */
  label?: string;
}

export class RootfsBuilder {
  private root: Node;
  private layer = 0;
  /** primary path -> paths of hardlinks to it */
  private links = new Map<string, Set<string>>();
  private label = '';
  entries = 0;

  constructor(private readonly spool: ContentSpool | null) {
    this.root = implicitDir(0);
  }

  private fail(msg: string): never {
    throw new ImageError(this.label ? `${this.label}: ${msg}` : msg);
  }

  /** Applies one layer's tar entries on top of what is there. */
  async applyLayer(entries: AsyncIterable<TarEntry>, opts: ApplyOptions = {}): Promise<void> {
    this.layer++;
    this.label = opts.label ?? `layer ${this.layer}`;
    for await (const e of entries) {
      await this.applyEntry(e);
      this.entries++;
    }
  }

  private async applyEntry({ header: h, body }: TarEntry): Promise<void> {
    const path = normalizePath(h.name.replace(/^\/+/, ''));
    if (path === null) this.fail(`entry ${JSON.stringify(h.name)} escapes the rootfs`);
    if (path === '/') {
      if (h.type !== 'dir')
        this.fail(`entry ${JSON.stringify(h.name)} replaces the root directory`);
      this.setDirMeta(this.root, h);
      return;
    }
    for (const [k, v] of h.xattrs) {
      if (Buffer.byteLength(k) > MAX_XATTR_NAME || v.length > MAX_XATTR_VALUE || k === '') {
        this.fail(`entry ${JSON.stringify(h.name)} has an oversized or empty xattr`);
      }
    }
    const name = baseName(path);
    const parentPath = path.slice(0, path.length - name.length - 1) || '/';
    if (name.startsWith(WH_PREFIX)) {
      // a whiteout under a directory that does not exist (any more) hides nothing
      if (!this.exists(parentPath)) return;
      const parent = this.resolveDir(parentPath, false, h.name);
      if (name === WH_OPAQUE) {
        this.makeOpaque(parent.node, parent.path);
      } else if (!name.startsWith(`${WH_PREFIX}${WH_PREFIX}`)) {
        const victim = name.slice(WH_PREFIX.length);
        if (victim === '' || victim === '.' || victim === '..')
          this.fail(`bad whiteout ${JSON.stringify(h.name)}`);
        const node = parent.node.children?.get(victim);
        if (node && node.layer < this.layer) this.removeChild(parent.node, parent.path, victim);
      }
      return;
    }

    const parent = this.resolveDir(parentPath, true, h.name);
    const fullPath = parent.path === '/' ? `/${name}` : `${parent.path}/${name}`;
    const children = parent.node.children as Map<string, Node>;
    const existing = children.get(name);

    if (h.type === 'dir') {
      if (existing && existing.entry.type === 'dir') {
        this.setDirMeta(existing, h);
        existing.layer = this.layer;
        return;
      }
      if (existing) this.removeChild(parent.node, parent.path, name);
      const node: Node = {
        entry: this.baseEntry(h, 'dir'),
        children: new Map(),
        layer: this.layer,
      };
      children.set(name, node);
      return;
    }

    if (h.type === 'hardlink') {
      const target = normalizePath(h.linkName.replace(/^\/+/, ''));
      if (target === null || target === '/') {
        this.fail(
          `hardlink ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkName)} points outside the rootfs`,
        );
      }
      const tName = baseName(target);
      const tParent = this.resolveDir(
        target.slice(0, target.length - tName.length - 1) || '/',
        false,
        h.linkName,
      );
      const tPath = tParent.path === '/' ? `/${tName}` : `${tParent.path}/${tName}`;
      const tNode = tParent.node.children?.get(tName);
      if (!tNode)
        this.fail(
          `hardlink ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkName)}: target does not exist`,
        );
      if (tNode.entry.type === 'dir')
        this.fail(
          `hardlink ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkName)}: target is a directory`,
        );
      if (tPath === fullPath) return; // a link to itself: nothing changes
      if (existing) this.removeChild(parent.node, parent.path, name);
      // removing `existing` may have promoted a new primary: look the target up again
      const tNow = this.lookup(tPath) as Node;
      const pPath = tNow.entry.type === 'hardlink' ? (tNow.entry.linkTarget as string) : tPath;
      const pNode = this.lookup(pPath) as Node;
      const entry: RootfsEntry = { ...pNode.entry, type: 'hardlink', linkTarget: pPath };
      children.set(name, { entry, layer: this.layer });
      let set = this.links.get(pPath);
      if (!set) {
        set = new Set();
        this.links.set(pPath, set);
      }
      set.add(fullPath);
      return;
    }

    if (existing) this.removeChild(parent.node, parent.path, name);
    const entry = this.baseEntry(h, h.type);
    if (h.type === 'file') {
      if (this.spool) {
        entry.content = await this.spool.add(body, h.size, `${this.label}: ${h.name}`);
      } else {
        for await (const _ of body) {
          // no spool: metadata only
        }
      }
      entry.size = h.size;
    } else if (h.type === 'symlink') {
      if (h.linkName === '') this.fail(`symlink ${JSON.stringify(h.name)} has an empty target`);
      entry.linkTarget = h.linkName;
    } else if (h.type === 'char' || h.type === 'block') {
      entry.rdev = { major: h.devMajor, minor: h.devMinor };
    }
    children.set(name, { entry, layer: this.layer });
  }

  private baseEntry(h: TarEntry['header'], type: RootfsEntry['type']): RootfsEntry {
    return {
      type,
      mode: h.mode & 0o7777,
      uid: h.uid,
      gid: h.gid,
      mtime: { sec: h.mtime.sec, nsec: h.mtime.nsec },
      xattrs: new Map(h.xattrs),
      size: 0,
    };
  }

  private setDirMeta(node: Node, h: TarEntry['header']): void {
    node.entry.mode = h.mode & 0o7777;
    node.entry.uid = h.uid;
    node.entry.gid = h.gid;
    node.entry.mtime = { sec: h.mtime.sec, nsec: h.mtime.nsec };
    node.entry.xattrs = new Map(h.xattrs);
  }

  /** Whether a directory path resolves (following symlinks inside the rootfs). */
  private exists(path: string): boolean {
    try {
      this.resolveDir(path, false, path);
      return true;
    } catch (e) {
      if (e instanceof ImageError && /does not exist$/.test(e.message)) return false;
      throw e;
    }
  }

  /** Looks a normalized path up without following symlinks. */
  private lookup(path: string): Node | undefined {
    if (path === '/') return this.root;
    let cur: Node | undefined = this.root;
    for (const seg of path.slice(1).split('/')) {
      cur = cur?.children?.get(seg);
      if (!cur) return undefined;
    }
    return cur;
  }

  /**
   * Resolves a directory path, following symlinks (confined to the rootfs: a symlink that
   * climbs above '/' is an error) and creating missing directories when `create` is set.
   */
  private resolveDir(
    path: string,
    create: boolean,
    what: string,
    hops = { n: 0 },
  ): { node: Node; path: string } {
    let cur = this.root;
    let curPath = '/';
    const segs = path === '/' ? [] : path.slice(1).split('/');
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i] as string;
      const children = cur.children as Map<string, Node>;
      let next = children.get(seg);
      const nextPath = curPath === '/' ? `/${seg}` : `${curPath}/${seg}`;
      if (!next) {
        if (!create) this.fail(`${JSON.stringify(what)}: ${nextPath} does not exist`);
        next = implicitDir(this.layer);
        children.set(seg, next);
      }
      if (next.entry.type === 'symlink') {
        if (++hops.n > MAX_SYMLINK_HOPS)
          this.fail(`${JSON.stringify(what)}: too many levels of symlinks`);
        const target = next.entry.linkTarget as string;
        const resolved = target.startsWith('/')
          ? normalizePath(target)
          : normalizePath(target, curPath);
        if (resolved === null) {
          this.fail(
            `${JSON.stringify(what)} passes through symlink ${nextPath} -> ${JSON.stringify(target)}, which leaves the rootfs`,
          );
        }
        const r = this.resolveDir(resolved, false, what, hops);
        cur = r.node;
        curPath = r.path;
        continue;
      }
      if (next.entry.type !== 'dir')
        this.fail(`${JSON.stringify(what)}: ${nextPath} is not a directory`);
      cur = next;
      curPath = nextPath;
    }
    return { node: cur, path: curPath };
  }

  private makeOpaque(dir: Node, dirPath: string): void {
    for (const [name, child] of [...(dir.children as Map<string, Node>)]) {
      if (child.layer < this.layer) {
        this.removeChild(dir, dirPath, name);
      } else if (child.entry.type === 'dir') {
        this.makeOpaque(child, dirPath === '/' ? `/${name}` : `${dirPath}/${name}`);
      }
    }
  }

  private removeChild(parent: Node, parentPath: string, name: string): void {
    const node = (parent.children as Map<string, Node>).get(name);
    if (!node) return;
    const path = parentPath === '/' ? `/${name}` : `${parentPath}/${name}`;
    if (node.children) {
      for (const child of [...node.children.keys()]) this.removeChild(node, path, child);
    }
    (parent.children as Map<string, Node>).delete(name);
    if (node.entry.type === 'hardlink') {
      const t = node.entry.linkTarget as string;
      const set = this.links.get(t);
      set?.delete(path);
      if (set && set.size === 0) this.links.delete(t);
      return;
    }
    const set = this.links.get(path);
    if (set && set.size > 0) {
      // Other names still link to this inode: promote one of them to hold it.
      this.links.delete(path);
      const [heir, ...rest] = [...set];
      const heirNode = this.lookup(heir as string) as Node;
      heirNode.entry = { ...node.entry, xattrs: new Map(node.entry.xattrs) };
      if (rest.length > 0) {
        this.links.set(heir as string, new Set(rest));
        for (const r of rest) {
          const rn = this.lookup(r) as Node;
          rn.entry = { ...rn.entry, linkTarget: heir as string };
        }
      }
    }
  }

  /** The flattened tree: parents before children, children sorted, hardlinks after targets. */
  toTree(): RootfsTree {
    const out: RootfsTree = new Map();
    const walk = (node: Node, path: string) => {
      out.set(path, { ...node.entry });
      if (node.children) {
        const names = [...node.children.keys()].sort(byBytes);
        for (const n of names)
          walk(node.children.get(n) as Node, path === '/' ? `/${n}` : `${path}/${n}`);
      }
    };
    walk(this.root, '/');
    // Re-elect each hardlink group's primary as the first name in iteration order.
    const groups = new Map<string, string[]>();
    for (const [p, e] of out) {
      if (e.type === 'hardlink') {
        const t = e.linkTarget as string;
        let g = groups.get(t);
        if (!g) {
          g = [t];
          groups.set(t, g);
        }
        g.push(p);
      }
    }
    if (groups.size > 0) {
      const order = new Map<string, number>();
      let i = 0;
      for (const p of out.keys()) order.set(p, i++);
      for (const [primary, members] of groups) {
        const pe = out.get(primary);
        if (!pe || pe.type === 'hardlink' || pe.type === 'dir')
          throw new Error(`internal: bad hardlink primary ${primary}`);
        members.sort((a, b) => (order.get(a) as number) - (order.get(b) as number));
        const first = members[0] as string;
        out.set(first, { ...pe, linkTarget: pe.type === 'symlink' ? pe.linkTarget : undefined });
        if (pe.type !== 'symlink') delete (out.get(first) as RootfsEntry).linkTarget;
        for (const m of members.slice(1)) {
          out.set(m, { ...pe, type: 'hardlink', linkTarget: first, xattrs: pe.xattrs });
        }
      }
    }
    return out;
  }
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
