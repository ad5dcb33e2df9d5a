import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type FsEntry, FsImageError, writeCpio } from '@c2w/fsimage';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { treeArb } from './gen.js';
import { diffTrees, normalize, normalizeDir, tmp } from './helpers.js';

const work = tmp('fsimage-cpio-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const t = (sec: number) => ({ sec, nsec: 0 });
const file = (s: string, extra: Partial<FsEntry> = {}): FsEntry => {
  const b = new TextEncoder().encode(s);
  return {
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: t(1700000000),
    size: b.length,
    openContent: () => [b],
    ...extra,
  };
};

function sample(): Map<string, FsEntry> {
  return new Map<string, FsEntry>([
    ['/', { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: t(1) }],
    ['/init', file('#!/bin/sh\necho hi\n', { mode: 0o755 })],
    ['/bin', { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: t(2) }],
    ['/bin/busybox', file('x'.repeat(10001), { mode: 0o4755, uid: 1000, gid: 70000 })],
    [
      '/bin/sh',
      { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: t(3), linkTarget: 'busybox' },
    ],
    [
      '/bin/ls',
      { type: 'hardlink', mode: 0, uid: 0, gid: 0, mtime: t(0), linkTarget: '/bin/busybox' },
    ],
    ['/dev', { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: t(4) }],
    [
      '/dev/console',
      { type: 'char', mode: 0o600, uid: 0, gid: 5, mtime: t(5), rdev: { major: 5, minor: 1 } },
    ],
    [
      '/dev/vda',
      { type: 'block', mode: 0o660, uid: 0, gid: 6, mtime: t(5), rdev: { major: 254, minor: 0 } },
    ],
    ['/dev/fifo', { type: 'fifo', mode: 0o644, uid: 0, gid: 0, mtime: t(6) }],
    ['/empty', file('')],
    ['/tmp', { type: 'dir', mode: 0o1777, uid: 0, gid: 0, mtime: t(7) }],
  ]);
}

function cpioExtract(archive: string): string {
  const dir = join(tmp('fsimage-cpio-x-'), 'r');
  mkdirSync(dir);
  const r = spawnSync(
    'cpio',
    ['-i', '-d', '-m', '--no-absolute-filenames', '--quiet', '-F', archive],
    { cwd: dir, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`cpio -i failed: ${r.stderr}`);
  return dir;
}

/** name -> mtime from newc headers (an independent reading of the fields we wrote). */
function newcMtimes(buf: Buffer): Map<string, number> {
  const m = new Map<string, number>();
  let o = 0;
  while (o + 110 <= buf.length) {
    expect(buf.toString('latin1', o, o + 6)).toBe('070701');
    const field = (i: number) =>
      Number.parseInt(buf.toString('latin1', o + 6 + 8 * i, o + 14 + 8 * i), 16);
    const namesize = field(11);
    const filesize = field(6);
    const name = buf.toString('utf8', o + 110, o + 110 + namesize - 1);
    if (name === 'TRAILER!!!') break;
    m.set(name, field(5));
    o += Math.ceil((110 + namesize) / 4) * 4;
    o += Math.ceil(filesize / 4) * 4;
  }
  return m;
}

async function roundTrip(tree: Map<string, FsEntry>, archive: string) {
  await writeCpio(tree, archive);
  const listed = execFileSync('cpio', ['-t', '--quiet', '-F', archive], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const expected = await normalize(tree, { xattrs: false, mtimeNsec: false });
  expect(listed.sort()).toEqual(
    [...expected.keys()].map((p) => (p === '/' ? '.' : p.slice(1))).sort(),
  );
  const out = cpioExtract(archive);
  try {
    const actual = await normalizeDir(out, { xattrs: false, mtimeNsec: false });
    // GNU cpio -i sets no mtime on symlinks and directories (their later entries touch them):
    // those mtimes are checked in the archive headers instead.
    const headerMtimes = newcMtimes(readFileSync(archive));
    for (const [p, e] of expected) {
      if (e.type === 'dir' || e.type === 'symlink') {
        expect(headerMtimes.get(p === '/' ? '.' : p.slice(1)), p).toBe(Number(e.mtime));
        const a = actual.get(p);
        if (a) a.mtime = e.mtime;
      }
    }
    expect(diffTrees(expected, actual)).toEqual([]);
  } finally {
    rmSync(join(out, '..'), { recursive: true, force: true });
  }
}

describe('writeCpio (newc)', () => {
  it('cpio -t lists and cpio -i extracts the same tree', async () => {
    await roundTrip(sample(), join(work, 'sample.cpio'));
  });

  it('is byte-for-byte reproducible, to a file or a stream', async () => {
    const a = join(work, 'a.cpio');
    await writeCpio(sample(), a);
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    await writeCpio(new Map([...sample()].reverse()), sink);
    expect(Buffer.compare(readFileSync(a), Buffer.concat(chunks))).toBe(0);
    expect(readFileSync(a).length % 4).toBe(0);
  });

  it('round-trips arbitrary trees (fast-check)', async () => {
    const arb = treeArb({ maxNodes: 40, maxSec: 0xffffffff }).map(
      (tree) =>
        new Map([...tree].map(([p, e]) => [p, { ...e, xattrs: new Map() }] as [string, FsEntry])),
    );
    await fc.assert(
      fc.asyncProperty(arb, async (tree) => roundTrip(tree, join(work, 'prop.cpio'))),
      { numRuns: Number(process.env.FSIMAGE_RUNS ?? 15), endOnFailure: true },
    );
  });

  it('rejects bad input with one-line errors and leaves no output', async () => {
    const out = join(work, 'bad.cpio');
    for (const [tree, re] of [
      [new Map([['/a\0', file('x')]]), /NUL/],
      [new Map([[`/${'x'.repeat(256)}`, file('x')]]), /longer than 255/],
      [new Map([['/f', { ...file('abc'), size: 5 }]]), /changed size while read/],
      [new Map([['/f', file('abc', { mtime: t(2 ** 33) })]]), /mtime out of newc cpio range/],
    ] as [Map<string, FsEntry>, RegExp][]) {
      const err = await writeCpio(tree, out).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FsImageError);
      expect((err as Error).message).toMatch(re);
      expect(() => readFileSync(out)).toThrow();
    }
  });
});
