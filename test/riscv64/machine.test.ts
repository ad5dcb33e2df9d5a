// The riscv64 machine (native build, emulators/riscv64/build/native/c2w-rv64) boots the guest
// of kernel/build/riscv64 to the ready point and runs container commands through the contract:
// stdout/stderr apart, exit status, stdin, the EROFS rootfs on virtio-blk, 9p directories.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRunConfig } from '@c2w/pack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelBuild, makeRootfs } from '../guest/qemu.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = `${root}emulators/riscv64/build/native/c2w-rv64`;
const kdir = kernelBuild('riscv64');
let work = '';
let image = '';

beforeAll(() => {
  for (const f of [bin, join(kdir, 'Image'), join(kdir, 'initramfs.cpio')])
    if (!existsSync(f)) throw new Error(`${f} missing: tools/nx run-many -t artifact`);
  work = mkdtempSync(join(tmpdir(), 'c2w-rv64-'));
  image = makeRootfs('riscv64', work).image;
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function run(
  args: string[],
  o: { dirs?: string[]; stdin?: string; config?: object; env?: string[] } = {},
) {
  const cfg = join(work, `cfg-${Math.random().toString(36).slice(2)}`);
  writeFileSync(cfg, encodeRunConfig(o.config ?? {}));
  const cmdline = readFileSync(join(kdir, 'cmdline.txt'), 'utf8').trim();
  const argv = ['--kernel', join(kdir, 'Image'), '--initrd', join(kdir, 'initramfs.cpio')];
  argv.push('--append', cmdline, '--disk', image, '--config', cfg);
  for (const d of o.dirs ?? []) argv.push('--dir', d);
  for (const e of o.env ?? []) argv.push('--env', e);
  argv.push('--', ...args);
  return spawnSync(bin, argv, { input: o.stdin ?? '', timeout: 120_000, maxBuffer: 64 << 20 });
}

describe('riscv64 machine (native)', () => {
  it('echo -n hello', () => {
    const r = run(['echo', '-n', 'hello']);
    expect(r.stdout.toString()).toBe('hello');
    expect(r.status).toBe(0);
  });

  it('stdout and stderr apart, exit status', () => {
    const r = run(['sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(r.stdout.toString()).toBe('out\n');
    expect(r.stderr.toString()).toContain('err\n');
    expect(r.status).toBe(7);
  });

  it('uname -m, env, rootfs file', () => {
    const r = run(['sh', '-c', 'uname -m; echo -n "$AAA $BBB "; cat /srv/app/hello.txt'], {
      env: ['AAA=hello', 'BBB=world'],
    });
    expect(r.stdout.toString()).toBe('riscv64\nhello world from the image\n');
    expect(r.status).toBe(0);
  });

  it('script on stdin', () => {
    const r = run(['sh'], { stdin: 'echo one\nx=$((6*7)); echo $x\nexit 3\n' });
    expect(r.stdout.toString()).toContain('one\n42\n');
    expect(r.status).toBe(3);
  });

  it('9p: reads host files and writes back', () => {
    const share = join(work, 'share');
    mkdirSync(share, { recursive: true });
    writeFileSync(join(share, 'from-host'), 'host data\n');
    const r = run(
      [
        'sh',
        '-c',
        'cat /mnt/share/from-host; echo guest > /mnt/share/new; echo over > /mnt/share/from-host; mkdir /mnt/share/d; ls /mnt/share',
      ],
      { dirs: [`${share}::/mnt/share`] },
    );
    expect(r.stderr.toString()).not.toContain('c2w:');
    expect(r.stdout.toString()).toContain('host data\n');
    expect(r.status).toBe(0);
    expect(readFileSync(join(share, 'new'), 'utf8')).toBe('guest\n');
    expect(readFileSync(join(share, 'from-host'), 'utf8')).toBe('over\n');
    expect(existsSync(join(share, 'd'))).toBe(true);
  });
});
