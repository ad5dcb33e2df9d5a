import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { treeFromDirectory, writeErofs } from '@c2w/fsimage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkImage,
  diffTrees,
  minbaseTree,
  mountUnavailableCached,
  normalize,
  normalizeDir,
  tmp,
  withMount,
} from './helpers.js';

// A real tree: Debian bookworm minbase, debootstrapped once into $C2W_CACHE/fixtures (~1.5 min).
let root = '';
const work = tmp('fsimage-minbase-');
beforeAll(() => {
  root = minbaseTree();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a debootstrapped Debian minbase tree', () => {
  for (const compression of ['none', 'lz4'] as const) {
    it(`writes it (${compression}); fsck, extraction and the kernel give it back; size close to mkfs.erofs`, async () => {
      const tree = treeFromDirectory(root);
      const img = join(work, `minbase-${compression}.erofs`);
      const r = await writeErofs(tree, img, { compression });
      const expected = await normalize(tree, { kernelView: true });
      await checkImage(img, tree, expected);
      if (!mountUnavailableCached()) {
        const actual = await withMount(img, (d) => normalizeDir(d));
        expect(diffTrees(expected, actual)).toEqual([]);
      }
      const ref = join(work, `mkfs-${compression}.erofs`);
      execFileSync('mkfs.erofs', [
        ...(compression === 'lz4' ? ['-zlz4'] : []),
        '--quiet',
        ref,
        root,
      ]);
      const refSize = statSync(ref).size;
      console.log(
        `minbase ${compression}: ours ${r.bytes} bytes, mkfs.erofs ${refSize} (${((r.bytes / refSize - 1) * 100).toFixed(2)}%)`,
      );
      expect(r.bytes).toBeLessThanOrEqual(refSize * (compression === 'lz4' ? 1.05 : 1.02));
      rmSync(img);
      rmSync(ref);
    });
  }
});
