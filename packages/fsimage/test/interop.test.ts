// The agreed interface: a rootfs tree from @c2w/image goes into writeErofs/writeCpio as is.
// (fsimage does not depend on @c2w/image at build time; this test checks the shapes agree.)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FsEntry, type FsTree, writeCpio, writeErofs } from '@c2w/fsimage';
import { treeFromDirectory as imageTreeFromDirectory } from '@c2w/image';
import { afterAll, expect, it } from 'vitest';
import {
  checkImage,
  diffTrees,
  mountUnavailableCached,
  normalize,
  normalizeDir,
  tmp,
  withMount,
} from './helpers.js';

const work = tmp('fsimage-interop-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

it("writes @c2w/image's RootfsTree (content ranges, bigint mtimes) unchanged", async () => {
  const src = join(work, 'src');
  mkdirSync(join(src, 'etc'), { recursive: true });
  writeFileSync(join(src, 'etc', 'os-release'), 'ID=c2w\n'.repeat(1000));
  writeFileSync(join(src, 'big'), Buffer.alloc(100_000, 7));
  symlinkSync('etc/os-release', join(src, 'link'));
  execFileSync('setfattr', ['-n', 'user.k', '-v', 'v', join(src, 'big')]);
  const tree: FsTree = imageTreeFromDirectory(src, { xattrs: true });
  const mine = tree as Map<string, FsEntry>;
  for (const compression of ['none', 'lz4'] as const) {
    const img = join(work, `img-${compression}.erofs`);
    await writeErofs(tree, img, { compression });
    await checkImage(img, mine);
    if (!mountUnavailableCached()) {
      const actual = await withMount(img, (d) => normalizeDir(d));
      expect(diffTrees(await normalize(mine, { kernelView: true }), actual)).toEqual([]);
    }
  }
  await writeCpio(tree, join(work, 'x.cpio'));
});
