// A busybox rootfs image for the Bochs machine's tests (the host's static busybox, mkfs.erofs).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A busybox rootfs image (Debian's static busybox, mkfs.erofs), in a fresh directory. */
export function busyboxDisk(): string {
  const dir = mkdtempSync(join(tmpdir(), 'c2w-bochs-test-'));
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'bin'), { recursive: true });
  mkdirSync(join(tree, 'tmp'));
  copyFileSync('/bin/busybox', join(tree, 'bin/busybox'));
  for (const applet of ['sh', 'echo', 'cat', 'uname', 'ls', 'dd', 'sha256sum', 'gzip']) {
    symlinkSync('busybox', join(tree, 'bin', applet));
  }
  mkdirSync(join(dir, 'disk'));
  execFileSync('mkfs.erofs', ['--quiet', join(dir, 'disk/rootfs.erofs'), tree]);
  return join(dir, 'disk');
}
