import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenImage, ImageError, resolveImage } from '@c2w/image';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CraftedLayer,
  makeTar,
  type TEntry,
  writeLayout,
} from '../../../test/fixtures/images/tarwriter.js';

const work = mkdtempSync(join(tmpdir(), 'c2w-image-hostile-'));
const spoolParent = join(work, 'spools');
mkdirSync(spoolParent);
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function layout(layers: CraftedLayer[], opts?: Parameters<typeof writeLayout>[2]): string {
  return writeLayout(join(work, `l${n++}`), layers, opts);
}
const L = (entries: TEntry[], o: Partial<CraftedLayer> = {}): CraftedLayer => ({
  tar: makeTar(entries),
  ...o,
});

/** Flattening must fail with one line matching `re`, leaving no spool behind. */
async function rejects(dir: string, re: RegExp) {
  let err: unknown;
  try {
    const img = await resolveImage(`oci:${dir}`);
    const r = await flattenImage(img, { spoolDir: spoolParent });
    await r.dispose();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ImageError);
  const msg = (err as Error).message;
  expect(msg).not.toContain('\n');
  expect(msg).toMatch(re);
  expect(readdirSync(spoolParent)).toEqual([]);
}

async function flatOk(dir: string) {
  const r = await flattenImage(await resolveImage(`oci:${dir}`), { spoolDir: spoolParent });
  const tree = r.tree;
  await r.dispose();
  return tree;
}

describe('hostile layers are rejected with one line', () => {
  it('.. paths that escape', async () => {
    await rejects(
      layout([L([{ name: '../etc/passwd', data: 'x' }])]),
      /entry "\.\.\/etc\/passwd" escapes the rootfs/,
    );
    await rejects(layout([L([{ name: 'a/../../../b', data: 'x' }])]), /escapes the rootfs/);
  });

  it('absolute paths that escape; absolute paths inside are made relative', async () => {
    await rejects(layout([L([{ name: '/../../tmp/x', data: 'x' }])]), /escapes the rootfs/);
    const t = await flatOk(
      layout([
        L([
          { name: '/etc/ok', data: 'x' },
          { name: './a/./b/../c', data: 'y' },
        ]),
      ]),
    );
    expect(t.get('/etc/ok')?.type).toBe('file');
    expect(t.get('/a/c')?.type).toBe('file');
  });

  it('hardlinks to outside or to nothing', async () => {
    await rejects(
      layout([L([{ name: 'h', type: '1', linkname: '../../etc/shadow' }])]),
      /hardlink "h" -> "\.\.\/\.\.\/etc\/shadow" points outside/,
    );
    await rejects(
      layout([L([{ name: 'h', type: '1', linkname: 'missing' }])]),
      /target does not exist/,
    );
    await rejects(
      layout([
        L([
          { name: 'd', type: '5' },
          { name: 'h', type: '1', linkname: 'd' },
        ]),
      ]),
      /target is a directory/,
    );
  });

  it('symlinks used to escape during application', async () => {
    await rejects(
      layout([
        L([{ name: 'up', type: '2', linkname: '../../..' }]),
        L([{ name: 'up/evil', data: 'x' }]),
      ]),
      /"up\/evil" passes through symlink \/up -> "\.\.\/\.\.\/\.\.", which leaves the rootfs/,
    );
    await rejects(
      layout([
        L([
          { name: 'a', type: '5' },
          { name: 'a/up', type: '2', linkname: '../..' },
          { name: 'a/up/x/y', data: 'x' },
        ]),
      ]),
      /leaves the rootfs/,
    );
    await rejects(
      layout([
        L([
          { name: 'loop', type: '2', linkname: 'loop' },
          { name: 'loop/x', data: 'x' },
        ]),
      ]),
      /too many levels of symlinks/,
    );
    // an absolute symlink is resolved inside the rootfs, like the kernel would in a chroot
    const t = await flatOk(
      layout([
        L([
          { name: 'etc', type: '5' },
          { name: 'abs', type: '2', linkname: '/etc' },
        ]),
        L([{ name: 'abs/passwd', data: 'root' }]),
      ]),
    );
    expect(t.get('/etc/passwd')?.type).toBe('file');
    expect(t.get('/abs')?.type).toBe('symlink');
    expect(t.has('/abs/passwd')).toBe(false);
  });

  it('truncated and corrupt tars', async () => {
    const full = makeTar([{ name: 'f', data: Buffer.alloc(5000, 1) }]);
    await rejects(layout([{ tar: full.subarray(0, 2000), diffId: undefined }]), /truncated tar/);
    await rejects(layout([{ tar: full.subarray(0, 300) }]), /truncated tar/);
    await rejects(
      layout([L([{ name: 'f', data: 'x', badChecksum: true }])]),
      /bad header checksum/,
    );
    await rejects(
      layout([L([{ name: 'f', type: 'S', data: 'x' }])]),
      /unsupported tar entry type "S"/,
    );
    await rejects(
      layout([
        { tar: full, blob: Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(100, 7)]) },
      ]),
      /gzip: (corrupt|truncated)/,
    );
  });

  it('digest, size and diff_id mismatches', async () => {
    const tar = makeTar([{ name: 'f', data: 'hello' }]);
    await rejects(
      layout([{ tar, digest: `sha256:${'0'.repeat(64)}` }]),
      /missing blob|digest mismatch/,
    );
    const dir = layout([{ tar }]);
    // swap a layer's bytes behind the manifest's back
    const blobs = join(dir, 'blobs/sha256');
    const { gzipSync } = await import('node:zlib');
    for (const f of readdirSync(blobs)) {
      const b = (await import('node:fs')).readFileSync(join(blobs, f));
      if (b[0] === 0x1f)
        writeFileSync(join(blobs, f), gzipSync(makeTar([{ name: 'f', data: 'HELLO' }])));
    }
    await rejects(dir, /digest mismatch/);
    await rejects(layout([{ tar, size: 10 }]), /size mismatch/);
    await rejects(layout([{ tar, diffId: `sha256:${'1'.repeat(64)}` }]), /diff_id mismatch/);
    // fzstd does not check frame checksums: a corrupt zstd layer is caught by its diff_id
    const { execFileSync } = await import('node:child_process');
    const big = makeTar([
      { name: 'f', data: Buffer.alloc(200_000, 'q') },
      { name: 'g', data: 'tail' },
    ]);
    const z = execFileSync('zstd', ['-q', '-c'], { input: big });
    z[z.length - 20] ^= 0xff;
    await rejects(
      layout([{ tar: big, blob: z, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }]),
      /diff_id mismatch|zstd: corrupt|truncated tar|corrupt tar/,
    );
  });

  it('absurd sizes and oversized documents', async () => {
    await rejects(
      layout([{ tar: makeTar([{ name: 'big', sizeField: 2 ** 40 }], { end: false }) }]),
      /too large/,
    );
    await rejects(layout([{ tar: makeTar([{ name: 'f' }]), size: 2 ** 50 }]), /exceeds the limit/);
    await rejects(
      layout([L([{ name: 'f' }])], { manifestPad: 5 * 1024 * 1024 }),
      /over the limit|exceeds the limit/,
    );
    await rejects(
      layout([L([{ name: 'f', pax: { 'SCHILY.xattr.user.big': Buffer.alloc(70 * 1024, 65) } }])]),
      /oversized or empty xattr/,
    );
    await rejects(layout([L([{ name: 'x'.repeat(5000) }])]), /path too long/);
  });

  it('malformed manifests and configs', async () => {
    await rejects(
      layout([L([{ name: 'f' }])], { config: { rootfs: { type: 'layers', diff_ids: ['nope'] } } }),
      /invalid digest/,
    );
    await rejects(layout([L([{ name: 'f' }])], { config: { architecture: 7 } }), /no architecture/);
    const d = layout([L([{ name: 'f' }])]);
    writeFileSync(
      join(d, 'index.json'),
      '{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:../../etc","size":1}]}',
    );
    await rejects(d, /invalid digest/);
    writeFileSync(join(d, 'index.json'), '[1,2');
    await rejects(d, /invalid JSON/);
  });
});

describe('layer semantics on crafted layers', () => {
  it('header-only entries (links, devices, dirs) have no body whatever their size field says', async () => {
    const t = await flatOk(
      layout([
        L([
          { name: 'f', data: 'abc' },
          { name: 'h', type: '1', linkname: 'f', sizeField: 3 },
          { name: 'd', type: '5', sizeField: 1000 },
          { name: 'after', data: 'still parsed' },
        ]),
      ]),
    );
    expect(t.get('/h')).toMatchObject({ type: 'hardlink', linkTarget: '/f', size: 3 });
    expect(t.get('/after')?.size).toBe(12);
  });

  it('whiteouts, opaque dirs, hardlink survival, xattrs, devices', async () => {
    const t = await flatOk(
      layout([
        L([
          { name: 'd', type: '5', mode: 0o750, uid: 5, gid: 6 },
          { name: 'd/a', data: 'a' },
          { name: 'd/sub', type: '5' },
          { name: 'd/sub/x', data: 'x' },
          {
            name: 'f',
            data: 'shared',
            pax: {
              'SCHILY.xattr.security.capability': Buffer.from([1, 0, 0, 2]),
              mtime: '1700000000.123456789',
            },
          },
          { name: 'g', type: '1', linkname: 'f' },
          { name: 'h', type: '1', linkname: 'g' },
          { name: 'dev', type: '3', devmajor: 4, devminor: 64, mode: 0o620 },
          { name: 's', type: '2', linkname: 'f' },
        ]),
        L([
          { name: 'd/.wh..wh..opq' },
          { name: 'd/new', data: 'n' },
          { name: '.wh.f' },
          { name: 'd/sub/.wh.x' }, // the opaque removed it already: harmless
        ]),
      ]),
    );
    expect([...t.keys()].filter((p) => p.startsWith('/d'))).toEqual(['/d', '/d/new', '/dev']);
    expect(t.get('/d')?.mode).toBe(0o750);
    expect(t.has('/f')).toBe(false);
    const g = t.get('/g');
    expect(g?.type).toBe('file'); // promoted: the inode lives on under /g
    expect(g?.size).toBe(6);
    expect(g?.mtime).toEqual({ sec: 1700000000, nsec: 123456789 });
    expect(Buffer.from(g?.xattrs.get('security.capability') ?? []).toString('hex')).toBe(
      '01000002',
    );
    expect(t.get('/h')).toMatchObject({ type: 'hardlink', linkTarget: '/g' });
    expect(t.get('/dev')).toMatchObject({
      type: 'char',
      rdev: { major: 4, minor: 64 },
      mode: 0o620,
    });
    expect(t.get('/s')).toMatchObject({ type: 'symlink', linkTarget: 'f' });
  });
});
