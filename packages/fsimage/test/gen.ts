import type { FsEntry } from '@c2w/fsimage';
import fc from 'fast-check';

/** Deterministic pseudo-random bytes; `runs` > 0 makes them partly compressible. */
export function bytesOf(size: number, seed: number, runs = 0): Uint8Array {
  const b = new Uint8Array(size);
  let x = (seed | 1) >>> 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    if (runs && x % 100 < runs) {
      // Repeat an earlier stretch: text-like redundancy.
      const len = Math.min(size - i, 8 + (x % 64));
      const from = i > 300 ? i - 1 - ((x >>> 8) % 300) : 0;
      if (from < i) {
        for (let k = 0; k < len; k++) b[i + k] = b[from + k] as number;
        i += len - 1;
        continue;
      }
    }
    b[i] = x & 0xff;
  }
  return b;
}

/** Content in irregular chunks, like a stream. */
export function chunked(data: Uint8Array, seed: number): () => AsyncIterable<Uint8Array> {
  return async function* () {
    let o = 0;
    let s = seed;
    while (o < data.length) {
      s = (s * 1103515245 + 12345) >>> 0;
      const n = Math.min(data.length - o, 1 + (s % 70000));
      yield data.slice(o, o + n);
      o += n;
    }
  };
}

const enc = new TextEncoder();

const nameArb = fc
  .oneof(
    fc.stringMatching(/^[a-zA-Z0-9._-]{1,12}$/),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    fc.integer({ min: 200, max: 255 }).map((n) => 'L'.repeat(n)),
    fc.integer({ min: 60, max: 63 }).map((n) => 'ü'.repeat(n) + 'x'.repeat(n % 3)),
  )
  .filter(
    (s) =>
      s !== '.' &&
      s !== '..' &&
      !s.includes('/') &&
      !s.includes('\0') &&
      enc.encode(s).length <= 255 &&
      s.normalize() === s,
  );

const sizeArb = fc.oneof(
  fc.constantFrom(0, 1, 4095, 4096, 4097, 8192, 12289),
  fc.integer({ min: 0, max: 20000 }),
  fc.integer({ min: 100_000, max: 400_000 }),
);

/** A valid VFS_CAP_REVISION_2 value (the kernel hides malformed security.capability). */
const capArb = fc
  .tuple(fc.boolean(), fc.integer({ min: 1, max: 0x7fffffff }), fc.nat({ max: 0x1ff }))
  .map(([eff, lo, hi]) => {
    const b = Buffer.alloc(20);
    b.writeUInt32LE(0x02000000 | (eff ? 1 : 0), 0);
    b.writeUInt32LE(lo, 4);
    b.writeUInt32LE(hi, 12);
    return new Uint8Array(b);
  });

const xattrArb = fc
  .tuple(
    fc.dictionary(
      fc.oneof(
        fc.stringMatching(/^user\.[a-z0-9_.]{1,20}$/),
        fc.constantFrom('trusted.overlay.opaque', 'trusted.overlay.redirect', 'security.selinux'),
      ),
      fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(new Uint8Array([0x79]))),
      { maxKeys: 3 },
    ),
    fc.option(capArb),
  )
  .map(([x, cap]) => (cap ? { ...x, 'security.capability': cap } : x));

const metaArb = fc.record({
  mode: fc.oneof(fc.constantFrom(0o644, 0o755, 0o600), fc.integer({ min: 0, max: 0o7777 })),
  uid: fc.oneof(fc.constantFrom(0, 1000), fc.integer({ min: 0, max: 0xfffffffe })),
  gid: fc.oneof(fc.constantFrom(0, 1000), fc.integer({ min: 0, max: 0xfffffffe })),
  sec: fc.oneof(fc.constant(1700000000), fc.integer({ min: 0, max: 2 ** 33 })),
  nsec: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999_999 })),
  xattrs: fc.oneof(fc.constant({}), xattrArb),
});

type Kind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'socket';

const nodeArb = fc.record({
  kind: fc.constantFrom<Kind>(
    'file',
    'file',
    'file',
    'dir',
    'dir',
    'symlink',
    'hardlink',
    'char',
    'block',
    'fifo',
    'socket',
  ),
  name: nameArb,
  meta: metaArb,
  size: sizeArb,
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  runs: fc.constantFrom(0, 0, 30, 90),
  parentPick: fc.nat(),
  target: fc.string({ minLength: 1, maxLength: 300 }).filter((s) => !s.includes('\0')),
  rdev: fc.record({
    major: fc.integer({ min: 0, max: 4095 }),
    minor: fc.integer({ min: 0, max: 0xfffff }),
  }),
});

export interface GenOptions {
  maxNodes?: number;
  /** Modes with setuid/setgid bits (fsck.erofs 1.5 --extract drops them on files). */
  setid?: boolean;
  /** Largest mtime (newc cpio stores 32 bits). */
  maxSec?: number;
}

/** Arbitrary trees: every file type, nesting, long and unicode names, xattrs, hardlinks. */
export function treeArb(opts: GenOptions = {}): fc.Arbitrary<Map<string, FsEntry>> {
  return fc
    .record({
      nodes: fc.array(nodeArb, { minLength: 1, maxLength: opts.maxNodes ?? 60 }),
      deep: fc.integer({ min: 0, max: 40 }),
      wide: fc.integer({ min: 0, max: 400 }),
    })
    .map(({ nodes, deep, wide }) => {
      const tree = new Map<string, FsEntry>();
      const meta = (m: (typeof nodes)[number]['meta']) => ({
        mode: opts.setid === false ? m.mode & 0o1777 : m.mode,
        uid: m.uid,
        gid: m.gid,
        mtime: { sec: Math.min(m.sec, opts.maxSec ?? m.sec), nsec: m.nsec },
        xattrs: new Map(Object.entries(m.xattrs)),
      });
      tree.set('/', {
        type: 'dir',
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: { sec: 1700000000, nsec: 0 },
      });
      const dirs = ['/'];
      const files: string[] = [];
      // A deep chain and a wide directory.
      let p = '';
      for (let i = 0; i < deep; i++) {
        p += `/d${i}`;
        tree.set(p, {
          type: 'dir',
          mode: 0o755,
          uid: 0,
          gid: 0,
          mtime: { sec: 1700000000, nsec: 0 },
        });
        dirs.push(p);
      }
      if (wide) {
        tree.set('/wide', {
          type: 'dir',
          mode: 0o755,
          uid: 0,
          gid: 0,
          mtime: { sec: 1700000000, nsec: 0 },
        });
        dirs.push('/wide');
        for (let i = 0; i < wide; i++) {
          tree.set(`/wide/entry-with-a-longish-name-${i}`, {
            type: 'file',
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: { sec: 1700000000, nsec: 0 },
            size: i % 7,
            openContent: () => [bytesOf(i % 7, i + 1)],
          });
        }
      }
      for (const n of nodes) {
        const parent = dirs[n.parentPick % dirs.length] as string;
        const path = parent === '/' ? `/${n.name}` : `${parent}/${n.name}`;
        if (tree.has(path)) continue;
        const m = meta(n.meta);
        switch (n.kind) {
          case 'dir':
            tree.set(path, { type: 'dir', ...m });
            dirs.push(path);
            break;
          case 'file': {
            const data = bytesOf(n.size, n.seed, n.runs);
            tree.set(path, {
              type: 'file',
              ...m,
              size: n.size,
              openContent: chunked(data, n.seed),
            });
            files.push(path);
            break;
          }
          case 'symlink':
            tree.set(path, { type: 'symlink', ...m, linkTarget: n.target });
            break;
          case 'hardlink':
            if (files.length) {
              tree.set(path, {
                type: 'hardlink',
                ...m,
                linkTarget: files[n.seed % files.length] as string,
              });
            }
            break;
          case 'char':
          case 'block':
            tree.set(path, { type: n.kind, ...m, rdev: n.rdev });
            break;
          default:
            tree.set(path, { type: n.kind, ...m });
        }
      }
      return tree;
    });
}
