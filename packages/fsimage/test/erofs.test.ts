import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  createReadStream,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { type FsEntry, FsImageError, treeFromDirectory, writeErofs } from '@c2w/fsimage';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesOf, treeArb } from './gen.js';
import {
  checkImage,
  diffTrees,
  dumpSuper,
  fsck,
  fsckExtract,
  mountUnavailableCached,
  normalize,
  normalizeDir,
  tmp,
  withMount,
} from './helpers.js';

const work = tmp();
afterAll(() => rmSync(work, { recursive: true, force: true }));

const t = (sec: number, nsec = 0) => ({ sec, nsec });
const file = (data: string | Uint8Array, extra: Partial<FsEntry> = {}): FsEntry => {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return {
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: t(1700000000),
    size: bytes.length,
    openContent: () => [bytes],
    ...extra,
  };
};
const dir = (extra: Partial<FsEntry> = {}): FsEntry => ({
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  mtime: t(1700000000),
  ...extra,
});

/** A tree with every kind of entry and the inode forms the format has. */
function sampleTree(): Map<string, FsEntry> {
  const big = new Uint8Array(3 * 4096 + 1234).map((_, i) => (i * 7) & 0xff);
  const bigx = new Uint8Array(20000).map((_, i) => (i * 13) & 0xff);
  const cap = new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  return new Map<string, FsEntry>([
    ['/', dir()],
    ['/etc', dir()],
    ['/etc/hostname', file('c2w\n')],
    ['/etc/empty', file('')],
    [
      '/usr/bin/ping',
      file('ELF...', { mode: 0o4755, xattrs: new Map([['security.capability', cap]]) }),
    ],
    ['/usr/bin/big', file(big, { uid: 70000, gid: 80000 })],
    ['/usr/bin/block', file(new Uint8Array(8192).fill(3))],
    ['/usr/bin/sgid', file('x', { mode: 0o2755, gid: 42 })],
    [
      '/usr/bin/hl',
      { type: 'hardlink', mode: 0, uid: 0, gid: 0, mtime: t(0), linkTarget: '/usr/bin/big' },
    ],
    [
      '/usr/bin/hl2',
      { type: 'hardlink', mode: 0, uid: 0, gid: 0, mtime: t(0), linkTarget: '/usr/bin/hl' },
    ],
    ['/opaque', dir({ xattrs: new Map([['trusted.overlay.opaque', new Uint8Array([0x79])]]) })],
    ['/opaque/x', file('y', { xattrs: new Map([['user.a', new Uint8Array([1, 2, 3])]]) })],
    ['/opaque/z', file('y', { xattrs: new Map([['user.a', new Uint8Array([1, 2, 3])]]) })],
    ['/tmp', dir({ mode: 0o1777 })],
    ['/empty', dir({ mtime: t(1600000000, 123456789) })],
    [
      '/dev/null',
      { type: 'char', mode: 0o666, uid: 0, gid: 0, mtime: t(1), rdev: { major: 1, minor: 3 } },
    ],
    [
      '/dev/sda',
      {
        type: 'block',
        mode: 0o660,
        uid: 0,
        gid: 6,
        mtime: t(1),
        rdev: { major: 8, minor: 0x12345 },
      },
    ],
    ['/dev/fifo', { type: 'fifo', mode: 0o600, uid: 0, gid: 0, mtime: t(2, 999999999) }],
    ['/run/sock', { type: 'socket', mode: 0o755, uid: 0, gid: 0, mtime: t(3) }],
    ['/lib', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: t(4), linkTarget: 'usr/lib' }],
    ['/usr/lib/x', file('x'.repeat(5000))],
    [
      '/longlink',
      { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: t(5), linkTarget: 'a/'.repeat(1500) },
    ],
    [`/${'n'.repeat(255)}`, file('long name')],
    ['/ünïcödé-名前', file('unicode')],
    ['/old', file('old', { mtime: t(-1, 5) })],
    // Large xattrs: shared (two users), inline past one block, and next to inline data.
    [
      '/bigx/a',
      file('a'.repeat(4500), {
        xattrs: new Map([
          ['user.big', bigx],
          ['user.other', bigx.subarray(0, 5000)],
        ]),
      }),
    ],
    ['/bigx/b', file('b', { xattrs: new Map([['user.big', bigx]]) })],
    ['/bigx/d', dir({ xattrs: new Map([['user.d', bigx.subarray(0, 3000)]]) })],
    [
      '/bigx/d/t',
      file('t'.repeat(3000), { xattrs: new Map([['trusted.x', bigx.subarray(0, 1100)]]) }),
    ],
  ]);
}

describe('writeErofs (uncompressed)', () => {
  it('writes every entry type; fsck.erofs accepts it and extraction gives the tree back', async () => {
    const img = join(work, 'sample.erofs');
    const progress: [number, number][] = [];
    const r = await writeErofs(sampleTree(), img, { onProgress: (d, t) => progress.push([d, t]) });
    const total = [...sampleTree().values()].reduce(
      (n, e) => n + (e.type === 'file' ? (e.size ?? 0) : 0),
      0,
    );
    expect(progress.at(-1)).toEqual([total, total]);
    expect(r.bytes).toBe(statSync(img).size);
    expect(r.bytes % 4096).toBe(0);
    expect(dumpSuper(img)).toMatch(/root nid:\s+\d+/);
    await checkImage(img, sampleTree());
    // Only the image remains in the directory: the temporary file was renamed.
    expect(readdirSync(work).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('LZ4: fsck.erofs accepts the image, extraction and the kernel give the tree back', async () => {
    const tree = sampleTree();
    // Compressible, incompressible and mixed files of awkward sizes.
    const text = new TextEncoder().encode('lorem ipsum dolor sit amet '.repeat(20000));
    const noise = bytesOf(300_001, 7);
    tree.set('/z/text', file(text));
    tree.set('/z/noise', file(noise));
    tree.set(
      '/z/mixed',
      file(
        Buffer.concat([
          noise.subarray(0, 50_000),
          text.subarray(0, 70_001),
          noise.subarray(0, 6_000),
        ]),
      ),
    );
    tree.set('/z/zeros', file(new Uint8Array(1 << 20)));
    tree.set('/z/tail', file(Buffer.concat([text.subarray(0, 9000), noise.subarray(0, 4095)])));
    const img = join(work, 'lz4.erofs');
    const r = await writeErofs(tree, img, { compression: 'lz4' });
    const plain = await writeErofs(tree, join(work, 'plain.erofs'));
    expect(r.bytes).toBeLessThan(plain.bytes - text.length / 2);
    await checkImage(img, tree);
    if (!mountUnavailableCached()) {
      const actual = await withMount(img, (d) => normalizeDir(d));
      expect(diffTrees(await normalize(tree, { kernelView: true }), actual)).toEqual([]);
    }
  });

  it('is reproducible: same tree (in any insertion order) gives identical bytes', async () => {
    const a = join(work, 'a.erofs');
    const b = join(work, 'b.erofs');
    await writeErofs(sampleTree(), a);
    await writeErofs(new Map([...sampleTree()].reverse()), b);
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
    // LZ4 too, with other work (compressor state) in between.
    const tree = sampleTree();
    tree.set('/z', file(new TextEncoder().encode('abcabcabd'.repeat(9000))));
    await writeErofs(tree, a, { compression: 'lz4' });
    await writeErofs(new Map([['/y', file(bytesOf(100_000, 3, 50))]]), b, { compression: 'lz4' });
    await writeErofs(new Map([...tree].reverse()), b, { compression: 'lz4' });
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
  });

  it('LZ4: host files compressed on two threads give the bytes streamed content gives', async () => {
    // ~12 MB in host files (over the pool's threshold): read from file ranges by both threads.
    const src = join(work, 'pool-src');
    mkdirSync(src, { recursive: true });
    const ranged = new Map<string, FsEntry>();
    const streamed = new Map<string, FsEntry>();
    for (let i = 0; i < 60; i++) {
      const data = bytesOf(50_000 + i * 7_001, i + 1, i % 3 === 0 ? 0 : 40 + i);
      writeFileSync(join(src, `f${i}`), data);
      const base = file(data);
      streamed.set(`/f${i}`, base);
      const { openContent: _, ...meta } = base;
      const path = join(src, `f${i}`);
      ranged.set(`/f${i}`, {
        ...meta,
        content: { path, offset: 0, size: data.length, wholeFile: true, open: () => [data] },
      });
    }
    const a = join(work, 'pool-a.erofs');
    const b = join(work, 'pool-b.erofs');
    await writeErofs(ranged, a, { compression: 'lz4', threads: 2 });
    await writeErofs(streamed, b, { compression: 'lz4' });
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
    fsck(a);
    await writeErofs(ranged, b, { compression: 'lz4', threads: 1 });
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
    // A file changed since the walk is still noticed on the worker's side.
    appendFileSync(join(src, 'f59'), 'x');
    await expect(writeErofs(ranged, a, { compression: 'lz4', threads: 2 })).rejects.toThrow(
      /"\/f59": file changed size while read/,
    );
  });

  it('round-trips arbitrary trees (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb(), async (tree) => {
        const img = join(work, 'prop.erofs');
        await writeErofs(tree, img);
        await checkImage(img, tree);
        await writeErofs(tree, img, { compression: 'lz4' });
        await checkImage(img, tree);
      }),
      { numRuns: Number(process.env.FSIMAGE_RUNS ?? 15), endOnFailure: true },
    );
  });

  it('rejects bad input with one-line errors and leaves no output', async () => {
    const cases: [string, Map<string, FsEntry>, RegExp][] = [
      ['NUL in name', new Map([['/a\0b', file('x')]]), /NUL/],
      ['empty component', new Map([['/a//b', file('x')]]), /invalid path/],
      ['relative path', new Map([['a', file('x')]]), /not absolute/],
      [
        'name > 255 bytes',
        new Map([[`/${'é'.repeat(128)}`, file('x')]]),
        /256 bytes, longer than 255/,
      ],
      ['dot component', new Map([['/a/../b', file('x')]]), /invalid path/],
      [
        'grows while read',
        new Map([['/f', { ...file('abc'), size: 2 }]]),
        /"\/f": file changed size while read/,
      ],
      [
        'shrinks while read',
        new Map([['/f', { ...file('abc'), size: 4 }]]),
        /"\/f": file changed size while read \(declared 4 bytes, read 3\)/,
      ],
      [
        'unsupported xattr',
        new Map([['/f', file('a', { xattrs: new Map([['foo.bar', new Uint8Array(1)]]) })]]),
        /xattr "foo.bar"/,
      ],
      [
        'dangling hardlink',
        new Map([['/h', { ...file(''), type: 'hardlink', linkTarget: '/nope' }]]),
        /does not exist/,
      ],
      [
        'file with children',
        new Map([
          ['/f', file('a')],
          ['/f/g', file('b')],
        ]),
        /has children/,
      ],
    ];
    for (const [what, tree, re] of cases) {
      const out = join(work, `bad-${what.replace(/\W/g, '_')}.erofs`);
      const err = await writeErofs(tree, out).catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(FsImageError);
      expect((err as Error).message, what).toMatch(re);
      expect((err as Error).message, what).not.toContain('\n');
      expect(() => statSync(out), what).toThrow();
    }
    expect(readdirSync(work).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('reads host files directly (treeFromDirectory, @c2w/image content ranges) and notices changes', async () => {
    const src = join(work, 'src');
    mkdirSync(join(src, 'd'), { recursive: true });
    writeFileSync(join(src, 'd', 'a'), 'a'.repeat(5000));
    writeFileSync(join(src, 'pack'), 'HEADERhello world, this is a content range!TRAILER');
    const tree = treeFromDirectory(src);
    // A content range inside a pack file, as @c2w/image's spool gives it.
    tree.set('/ranged', {
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: { sec: 10n as unknown as number, nsec: 0 },
      size: 37,
      content: { path: join(src, 'pack'), offset: 6, size: 37, open: () => [] },
    });
    // A Node Readable as the content (no path: the streaming path).
    tree.set('/streamed', {
      type: 'file',
      mode: 0o600,
      uid: 1,
      gid: 2,
      mtime: { sec: 20, nsec: 1 },
      size: 5000,
      content: { open: () => createReadStream(join(src, 'd', 'a'), { highWaterMark: 1000 }) },
    });
    const img = join(work, 'host.erofs');
    await writeErofs(tree, img);
    await writeErofs(tree, join(work, 'host-lz4.erofs'), { compression: 'lz4' });
    fsck(join(work, 'host-lz4.erofs'));
    fsck(img);
    const out = fsckExtract(img);
    expect(readFileSync(join(out, 'ranged'), 'utf8')).toBe('hello world, this is a content range!');
    expect(readFileSync(join(out, 'd', 'a'), 'utf8')).toBe('a'.repeat(5000));
    expect(readFileSync(join(out, 'streamed'), 'utf8')).toBe('a'.repeat(5000));
    rmSync(join(out, '..'), { recursive: true, force: true });
    for (const compression of ['none', 'lz4'] as const) {
      appendFileSync(join(src, 'd', 'a'), 'grown');
      const err = await writeErofs(tree, img, { compression }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/"\/d\/a": file changed size while read/);
    }
    truncateSync(join(src, 'd', 'a'), 10);
    await expect(writeErofs(tree, img)).rejects.toThrow(
      /"\/d\/a": file changed size while read \(declared 5000 bytes, read 10\)/,
    );
  });

  it('names the output when it cannot be created', async () => {
    const out = join(work, 'no-such-dir', 'x.erofs');
    await expect(writeErofs(sampleTree(), out)).rejects.toThrow(
      `${JSON.stringify(out)}: cannot create the output file (ENOENT)`,
    );
  });

  it('treeFromDirectory: the find walk and the lstat walk read the same tree', async () => {
    const src = join(work, 'walk');
    mkdirSync(join(src, 'd', 'e'), { recursive: true });
    writeFileSync(join(src, 'd', 'f'), 'x'.repeat(5000));
    linkSync(join(src, 'd', 'f'), join(src, 'hard'));
    symlinkSync('d/f', join(src, 'sym'));
    writeFileSync(join(src, 'old'), 'o');
    execFileSync('touch', ['-h', '-d', '1969-12-31 23:59:58.5 UTC', join(src, 'old')]);
    writeFileSync(join(src, 'new'), 'n');
    execFileSync('touch', ['-h', '-d', '2023-11-14 22:13:20.123456789 UTC', join(src, 'new')]);
    chmodSync(join(src, 'new'), 0o4755);
    execFileSync('mkfifo', [join(src, 'fifo')]);
    execFileSync('mknod', [join(src, 'null'), 'c', '1', '3']);
    execFileSync('setfattr', ['-n', 'user.a', '-v', 'b', join(src, 'd', 'f')]);
    const a = treeFromDirectory(src);
    const b = treeFromDirectory(src, { walk: 'lstat' });
    expect(a.size).toBe(10);
    expect(diffTrees(await normalize(b), await normalize(a))).toEqual([]);
    expect(a.get('/old')?.mtime).toEqual({ sec: -2, nsec: 500_000_000 });
    expect(a.get('/new')?.mtime).toEqual({ sec: 1700000000, nsec: 123_456_789 });
    expect(a.get('/null')?.rdev).toEqual({ major: 1, minor: 3 });
    expect(a.get('/hard')?.type === 'hardlink' || a.get('/d/f')?.type === 'hardlink').toBe(true);
  });

  it('refuses a tree too big for the limit', async () => {
    const out = join(work, 'big.erofs');
    const tree = new Map([['/f', file(new Uint8Array(1 << 20))]]);
    await expect(writeErofs(tree, out, { maxBytes: 512 * 1024 })).rejects.toThrow(/tree too big/);
    expect(() => statSync(out)).toThrow();
  });

  it.skipIf(mountUnavailableCached())(
    'the Linux kernel mounts the image and sees the same tree, xattrs included',
    async () => {
      const tree = sampleTree();
      const img = join(work, 'mount.erofs');
      await writeErofs(tree, img);
      const expected = await normalize(tree, { kernelView: true });
      const actual = await withMount(img, (d) => normalizeDir(d));
      expect(diffTrees(expected, actual)).toEqual([]);
      await fc.assert(
        fc.asyncProperty(treeArb({ maxNodes: 40 }), async (tree) => {
          const expected = await normalize(tree, { kernelView: true });
          for (const compression of ['none', 'lz4'] as const) {
            await writeErofs(tree, img, { compression });
            const actual = await withMount(img, (d) => normalizeDir(d));
            expect(diffTrees(expected, actual), compression).toEqual([]);
          }
        }),
        { numRuns: Number(process.env.FSIMAGE_RUNS ?? 10), endOnFailure: true },
      );
    },
  );
});

if (mountUnavailableCached())
  console.warn(`fsimage: kernel mount test skipped: ${mountUnavailableCached()}`);
