// The Bochs machine on its own (no c2w CLI): the bare wasm32-wasi build boots the kernel
// project's x86_64 guest (kernel/build/x86_64 at /boot) with a busybox rootfs made by
// mkfs.erofs, runs container commands through the contract's virtio devices (console ports,
// block device, 9p, control port) and exits with the container's status; the pre-booted
// vm.wasm resumes at the ready point. The amd64 acceptance scenarios through the CLI are in
// packages/cli/test/acceptance.test.ts.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Runtime, runtimeMissing, runWasm } from '../../../test/harness/runtimes.ts';
import { busyboxDisk } from './busybox-disk.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bare = `${root}build/wasm/bochs.wasm`;
const vm = `${root}build/vm.wasm`;
const kernel = fileURLToPath(new URL('../../../kernel/build/x86_64', import.meta.url));
const T = 300_000;

describe('bochs machine', () => {
  let disk = '';
  beforeAll(() => {
    disk = busyboxDisk();
  });

  it('has its artifacts and licence texts', () => {
    for (const f of [bare, vm]) {
      expect(existsSync(f), `${f}: run tools/nx run emulator-bochs:artifact`).toBe(true);
    }
    const source = readFileSync(`${root}build/licenses/bochs-SOURCE.txt`, 'utf8');
    expect(source).toContain(readFileSync(`${root}DEBIAN_VERSION`, 'utf8').trim());
    expect(readFileSync(`${root}build/licenses/bochs-COPYING`, 'utf8')).toContain('LESSER');
    expect(readFileSync(`${root}build/licenses/linux-GPL-2.0`, 'utf8')).toContain('GNU GENERAL');
  });

  it('fails with one line naming a missing kernel', async () => {
    const r = await runWasm('wasmtime', bare, {
      args: ['--kernel', '/boot/no-such-kernel'],
      dirs: [{ host: kernel, guest: '/boot' }],
      timeoutMs: 120_000,
    });
    expect(r.status).toBe(125);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr.toString()).toBe('bochs: cannot open /boot/no-such-kernel\n');
  });

  it(
    'boots the guest and runs a container command (bare module, wasmtime)',
    async () => {
      const share = mkdtempSync(join(tmpdir(), 'c2w-bochs-share-'));
      writeFileSync(join(share, 'in'), 'from host\n');
      const r = await runWasm('wasmtime', bare, {
        args: [
          '--disk',
          '/disk/rootfs.erofs',
          '--',
          'sh',
          '-c',
          'uname -m; cat /mnt/share/in; echo made > /mnt/share/out; echo err >&2; exit 7',
        ],
        env: { PATH: '/bin' },
        dirs: [
          { host: kernel, guest: '/boot' },
          { host: disk, guest: '/disk' },
          { host: share, guest: '/mnt/share' },
        ],
        timeoutMs: T - 10_000,
      });
      expect(r.stdout.toString()).toBe('x86_64\nfrom host\n');
      expect(r.stderr.toString()).toContain('err\n');
      expect(r.status).toBe(7);
      expect(readFileSync(join(share, 'out'), 'utf8')).toBe('made\n');
    },
    T,
  );

  for (const runtime of ['wasmtime', 'node', 'wazero'] as Runtime[]) {
    it.skipIf(runtimeMissing(runtime) !== undefined)(
      `the pre-booted vm.wasm resumes at the ready point on ${runtime} (no bundle: one-line error)`,
      async () => {
        const r = await runWasm(runtime, vm, { args: ['true'], timeoutMs: T - 10_000 });
        expect(r.stdout.length).toBe(0);
        expect(r.stderr.toString()).toMatch(/^c2w: no rootfs.*\n$/);
        expect(r.status).toBe(125);
      },
      T,
    );
  }
});
