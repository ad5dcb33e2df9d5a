import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkCounts, openContent, treeFromDirectory } from '@c2w/image';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'c2w-fromdir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('treeFromDirectory: types, modes, hardlinks, sockets, xattrs, contents', async () => {
  mkdirSync(join(dir, 'd/e'), { recursive: true });
  writeFileSync(join(dir, 'd/a'), 'A');
  linkSync(join(dir, 'd/a'), join(dir, 'z'));
  linkSync(join(dir, 'd/a'), join(dir, 'd/e/b'));
  symlinkSync('../z', join(dir, 'd/s'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  execFileSync('mknod', [join(dir, 'tty'), 'c', '5', '0']);
  execFileSync('setfattr', ['-n', 'user.k', '-v', 'v', join(dir, 'd/a')]);
  chmodSync(join(dir, 'd'), 0o2750);
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(join(dir, 'sock'), r));
  try {
    const t = treeFromDirectory(dir, { xattrs: true });
    expect([...t.keys()]).toEqual([
      '/',
      '/d',
      '/d/a',
      '/d/e',
      '/d/e/b',
      '/d/s',
      '/fifo',
      '/sock',
      '/tty',
      '/z',
    ]);
    expect(t.get('/d')?.mode).toBe(0o2750);
    expect(t.get('/d/a')?.type).toBe('file');
    expect(t.get('/d/e/b')).toMatchObject({ type: 'hardlink', linkTarget: '/d/a' });
    expect(t.get('/z')).toMatchObject({ type: 'hardlink', linkTarget: '/d/a' });
    expect(linkCounts(t).get('/d/a')).toBe(3);
    expect(t.get('/d/s')).toMatchObject({ type: 'symlink', linkTarget: '../z' });
    expect(t.get('/fifo')?.type).toBe('fifo');
    expect(t.get('/sock')?.type).toBe('socket');
    expect(t.get('/tty')).toMatchObject({ type: 'char', rdev: { major: 5, minor: 0 } });
    expect(Buffer.from(t.get('/d/a')?.xattrs.get('user.k') ?? []).toString()).toBe('v');
    const chunks: Buffer[] = [];
    for await (const c of openContent(t.get('/d/a') as never)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('A');
    expect(t.get('/d/a')?.content).toMatchObject({ offset: 0, size: 1, wholeFile: true });
  } finally {
    await new Promise((r) => srv.close(r));
  }
});
