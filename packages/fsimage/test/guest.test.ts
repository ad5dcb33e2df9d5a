// The c2w guest kernel (kernel/build/<arch>, nx target kernel:artifact) boots from an initramfs
// written by writeCpio and mounts EROFS images written by writeErofs (uncompressed and LZ4) from
// virtio-blk disks under QEMU; what it sees is compared with the input tree.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type FsEntry, writeCpio, writeErofs } from '@c2w/fsimage';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesOf } from './gen.js';
import { normalize, tmp } from './helpers.js';

const repo = join(import.meta.dirname, '..', '..', '..');
type Arch = 'x86_64' | 'riscv64';
const kernelOf = (arch: Arch) =>
  join(repo, 'kernel', 'build', arch, arch === 'x86_64' ? 'bzImage' : 'Image');
const arches = (['x86_64', 'riscv64'] as const).filter(
  (a) =>
    existsSync(kernelOf(a)) &&
    existsSync(join(repo, 'kernel', 'build', a, 'busybox')) &&
    existsSync(a === 'x86_64' ? '/usr/bin/qemu-system-x86_64' : '/usr/bin/qemu-system-riscv64'),
);
if (!arches.length) {
  console.warn(
    'fsimage: guest mount test skipped: no guest kernel built yet (tools/nx run kernel:artifact)',
  );
}

const work = tmp('fsimage-guest-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const enc = new TextEncoder();
const t = (sec: number, nsec = 0) => ({ sec, nsec });
const file = (bytes: Uint8Array, extra: Partial<FsEntry> = {}): FsEntry => ({
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: t(1700000000),
  size: bytes.length,
  openContent: () => [bytes],
  ...extra,
});
const dir = (extra: Partial<FsEntry> = {}): FsEntry => ({
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  mtime: t(1700000000),
  ...extra,
});

function rootfs(): Map<string, FsEntry> {
  const text = enc.encode('The quick brown fox jumps over the lazy dog.\n'.repeat(3000));
  const tree = new Map<string, FsEntry>([
    ['/', dir()],
    ['/etc', dir({ mtime: t(1600000000, 5) })],
    ['/etc/hostname', file(enc.encode('c2w\n'))],
    ['/etc/empty', file(new Uint8Array(0))],
    ['/bin', dir()],
    ['/bin/su', file(bytesOf(70_000, 1, 40), { mode: 0o4755 })],
    ['/bin/big-owner', file(bytesOf(9_000, 2), { uid: 70000, gid: 100000, mode: 0o2750 })],
    [
      '/bin/link',
      { type: 'hardlink', mode: 0, uid: 0, gid: 0, mtime: t(0), linkTarget: '/bin/su' },
    ],
    ['/lib', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: t(3), linkTarget: 'usr/lib' }],
    ['/usr/lib/text', file(text)],
    ['/usr/lib/noise', file(bytesOf(200_001, 3))],
    ['/usr/lib/block', file(new Uint8Array(8192).fill(1))],
    ['/tmp', dir({ mode: 0o1777 })],
    [
      '/dev/null',
      { type: 'char', mode: 0o666, uid: 0, gid: 0, mtime: t(1), rdev: { major: 1, minor: 3 } },
    ],
    [
      '/dev/vdz',
      { type: 'block', mode: 0o660, uid: 0, gid: 6, mtime: t(1), rdev: { major: 254, minor: 9 } },
    ],
    ['/run/fifo', { type: 'fifo', mode: 0o600, uid: 0, gid: 0, mtime: t(2) }],
    ['/run/sock', { type: 'socket', mode: 0o755, uid: 0, gid: 0, mtime: t(2) }],
    [`/${'n'.repeat(255)}`, file(enc.encode('long name\n'))],
    ['/ünïcödé', file(enc.encode('unicode\n'))],
  ]);
  for (let i = 0; i < 120; i++) tree.set(`/wide/entry-${i}`, file(enc.encode(`${i}\n`)));
  return tree;
}

// Few processes: every fork/exec is slow in an emulated guest.
const INIT = `#!/bin/busybox sh
b=/bin/busybox
$b mount -t devtmpfs dev /dev
$b mount -t proc proc /proc
echo C2W-BEGIN
for d in vda vdb; do
  $b mkdir -p /mnt/$d
  if $b mount -t erofs -o ro /dev/$d /mnt/$d; then
    cd /mnt/$d
    $b find . -exec $b stat -c "S|$d|%n|%a|%u|%g|%s|%Y|%F" {} + 
    $b find . -type f -exec $b md5sum {} + | $b sed "s/^\\([0-9a-f]*\\)  /M|$d|\\1|/"
    $b find . -type l | while IFS= read -r f; do echo "L|$d|$f|$($b readlink "$f")"; done
    cd /
  else
    echo "MOUNT-FAILED|$d"
  fi
done
echo C2W-END
$b poweroff -f
`;

const TYPE_NAMES: Record<string, string> = {
  'regular file': 'file',
  'regular empty file': 'file',
  directory: 'dir',
  'symbolic link': 'symlink',
  'character special file': 'char',
  'block special file': 'block',
  fifo: 'fifo',
  socket: 'socket',
};

async function expectedLines(tree: Map<string, FsEntry>): Promise<string[]> {
  const norm = await normalize(tree, { xattrs: false, mtimeNsec: false });
  const md5 = new Map<string, string>();
  for (const [p, e] of tree) {
    if (e.type === 'file' && e.openContent) {
      const h = createHash('md5');
      for (const c of (await e.openContent()) as Iterable<Uint8Array>) h.update(c);
      md5.set(p, h.digest('hex'));
    }
  }
  const lines: string[] = [];
  for (const [p, e] of norm) {
    let resolved = p;
    while (tree.get(resolved)?.type === 'hardlink')
      resolved = tree.get(resolved)?.linkTarget as string;
    const x = e.type === 'symlink' ? e.target : e.type === 'file' ? md5.get(resolved) : '';
    const mode = e.type === 'symlink' ? 0o777 : e.mode;
    lines.push(
      `${p === '/' ? '.' : `.${p}`}|${mode.toString(8)}|${e.uid}|${e.gid}|${e.type === 'file' ? e.size : '-'}|${e.mtime}|${e.type}|${x}`,
    );
  }
  return lines.sort();
}

function bootGuest(arch: Arch, initrd: string, disks: string[]): Promise<string> {
  const bus = arch === 'riscv64' ? 'device' : 'pci';
  const args =
    arch === 'riscv64'
      ? ['-machine', 'virt', '-bios', 'default', '-kernel', kernelOf(arch)]
      : ['-machine', 'pc', '-kernel', kernelOf(arch)];
  args.push('-initrd', initrd, '-append', 'console=hvc0 quiet panic=-1');
  args.push('-m', '256M', '-smp', '1', '-nodefaults', '-display', 'none', '-no-reboot');
  args.push(
    '-chardev',
    'stdio,id=out',
    '-device',
    `virtio-serial-${bus}`,
    '-device',
    'virtconsole,chardev=out',
  );
  disks.forEach((d, i) => {
    args.push('-drive', `file=${d},if=none,format=raw,readonly=on,id=d${i}`);
    args.push('-device', `virtio-blk-${bus},drive=d${i}`);
  });
  const qemu = arch === 'riscv64' ? 'qemu-system-riscv64' : 'qemu-system-x86_64';
  return new Promise((resolve, reject) => {
    const p = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${qemu} timed out; output: ${out.slice(-2000)} ${err.slice(-2000)}`));
    }, 380_000);
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    p.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    p.on('close', () => {
      clearTimeout(timer);
      if (!out.includes('C2W-END'))
        reject(new Error(`guest did not finish: ${out.slice(-3000)} ${err.slice(-2000)}`));
      else resolve(out.replace(/\r/g, ''));
    });
  });
}

describe.skipIf(!arches.length)('the c2w guest kernel', () => {
  for (const arch of arches) {
    it(`${arch}: boots our cpio initramfs and mounts our EROFS images (plain and LZ4)`, {
      timeout: 400_000,
    }, async () => {
      const tree = rootfs();
      const plain = join(work, `${arch}-plain.erofs`);
      const lz4 = join(work, `${arch}-lz4.erofs`);
      await writeErofs(tree, plain);
      await writeErofs(tree, lz4, { compression: 'lz4' });
      const busybox = readFileSync(join(repo, 'kernel', 'build', arch, 'busybox'));
      const initrd = join(work, `${arch}-initramfs.cpio`);
      await writeCpio(
        new Map<string, FsEntry>([
          ['/', dir()],
          ['/init', file(enc.encode(INIT), { mode: 0o755 })],
          ['/bin/busybox', file(busybox, { mode: 0o755 })],
          ['/dev', dir()],
          [
            '/dev/console',
            {
              type: 'char',
              mode: 0o600,
              uid: 0,
              gid: 0,
              mtime: t(0),
              rdev: { major: 5, minor: 1 },
            },
          ],
          ['/proc', dir()],
          ['/mnt', dir()],
        ]),
        initrd,
      );
      const out = await bootGuest(arch, initrd, [plain, lz4]);
      expect(out).not.toContain('MOUNT-FAILED');
      const want = await expectedLines(tree);
      for (const disk of ['vda', 'vdb']) {
        const md5 = new Map<string, string>();
        const links = new Map<string, string>();
        const stats: string[][] = [];
        for (const l of out.split('\n')) {
          const f = l.split('|');
          if (f[1] !== disk) continue;
          if (f[0] === 'M') md5.set(f.slice(3).join('|'), f[2] as string);
          else if (f[0] === 'L') links.set(f[2] as string, f.slice(3).join('|'));
          else if (f[0] === 'S') stats.push(f.slice(2));
        }
        const got = stats
          .map(([path, mode, uid, gid, size, mtime, type]) => {
            const ty = TYPE_NAMES[type as string] ?? `?${type}`;
            const x =
              ty === 'file'
                ? md5.get(path as string)
                : ty === 'symlink'
                  ? links.get(path as string)
                  : '';
            return `${path}|${mode}|${uid}|${gid}|${ty === 'file' ? size : '-'}|${mtime}|${ty}|${x}`;
          })
          .sort();
        expect(got, disk).toEqual(want);
      }
    });
  }
});
