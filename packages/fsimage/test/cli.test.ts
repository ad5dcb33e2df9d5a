import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliMain } from '@c2w/fsimage';
import { afterAll, expect, it } from 'vitest';
import { fsck, tmp } from './helpers.js';

const work = tmp('fsimage-cli-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('c2w-fsimage writes EROFS and cpio from a directory; errors are one line, status 1, no output', async () => {
  const src = join(work, 'src');
  mkdirSync(join(src, 'a'), { recursive: true });
  writeFileSync(join(src, 'a', 'f'), 'hello\n'.repeat(2000));
  let err = '';
  const capture = (s: string) => {
    err += s;
  };
  expect(await cliMain(['erofs', src, join(work, 'x.erofs'), '--lz4'], capture)).toBe(0);
  fsck(join(work, 'x.erofs'));
  expect(await cliMain(['cpio', src, join(work, 'x.cpio')], capture)).toBe(0);
  const t = spawnSync('cpio', ['-t', '--quiet', '-F', join(work, 'x.cpio')], { encoding: 'utf8' });
  expect(t.stdout.split('\n').filter(Boolean).sort()).toEqual(['.', 'a', 'a/f']);
  expect(err).toBe('');
  expect(await cliMain(['erofs', join(work, 'missing'), join(work, 'y.erofs')], capture)).toBe(1);
  expect(err).toBe(
    `c2w-fsimage: ${JSON.stringify(join(work, 'missing'))}: cannot read directory\n`,
  );
  expect(existsSync(join(work, 'y.erofs'))).toBe(false);
  err = '';
  expect(await cliMain(['nonsense'], capture)).toBe(2);
  expect(err).toMatch(/^usage: /);
});
