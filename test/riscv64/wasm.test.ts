// The riscv64 machine as a pre-booted WASI module (emulators/riscv64/build/vm.wasm, Wizer
// snapshot at the ready point), packed with an EROFS rootfs by @c2w/pack, run on wasmtime and
// Node's WASI: container commands through the contract.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRunConfig, packModule } from '@c2w/pack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRootfs } from '../guest/qemu.js';
import { type Runtime, runtimeMissing, runWasm } from '../harness/runtimes.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const vm = `${root}emulators/riscv64/build/vm.wasm`;
let work = '';
let out = '';

beforeAll(async () => {
  if (!existsSync(vm)) throw new Error(`${vm} missing: tools/nx run emulator-riscv64:artifact`);
  work = mkdtempSync(join(tmpdir(), 'c2w-rv64-wasm-'));
  const { image } = makeRootfs('riscv64', work);
  out = join(work, 'out.wasm');
  await packModule({
    module: vm,
    output: out,
    config: encodeRunConfig({ Env: ['IMG=from-image'] }),
    rootfs: { path: image },
  });
}, 300_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

for (const rt of ['wasmtime', 'node'] as Runtime[]) {
  describe.skipIf(runtimeMissing(rt))(`riscv64 vm.wasm on ${rt}`, () => {
    it('echo -n hello; uname -m', async () => {
      const r = await runWasm(rt, out, {
        args: ['sh', '-c', 'echo -n hello; uname -m'],
        timeoutMs: 120_000,
      });
      expect(r.stdout.toString()).toBe('helloriscv64\n');
      expect(r.status).toBe(0);
    });
    it('stderr apart, exit status, env', async () => {
      const r = await runWasm(rt, out, {
        args: ['sh', '-c', 'echo "$IMG $AAA"; echo err >&2; exit 7'],
        env: { AAA: 'hello' },
        timeoutMs: 120_000,
      });
      expect(r.stdout.toString()).toBe('from-image hello\n');
      expect(r.stderr.toString()).toContain('err\n');
      expect(r.status).toBe(7);
    });
    it('script on piped stdin', async () => {
      const r = await runWasm(rt, out, {
        args: ['sh'],
        stdin: 'echo one\nX=2; echo two $((X+1))\nexit 3\n',
        timeoutMs: 120_000,
      });
      expect(r.stdout.toString()).toBe('one\ntwo 3\n');
      expect(r.status).toBe(3);
    });
    it('directory mapping read and write', async () => {
      const share = join(work, `share-${rt}`);
      mkdirSync(share, { recursive: true });
      writeFileSync(join(share, 'from-host'), 'host data\n');
      const r = await runWasm(rt, out, {
        args: ['sh', '-c', 'cat /mnt/share/from-host && echo new > /mnt/share/created'],
        dirs: [{ host: share, guest: '/mnt/share' }],
        timeoutMs: 120_000,
      });
      expect(r.stdout.toString()).toBe('host data\n');
      expect(r.status).toBe(0);
      expect(readFileSync(join(share, 'created'), 'utf8')).toBe('new\n');
    });
  });
}

// Hot guest code under Node runs as compiled pages (emulators/riscv64/src/jit.c): the same
// results as the interpreter on wasmtime for work that loops, hashes, compresses and forks.
describe.skipIf(runtimeMissing('node') || runtimeMissing('wasmtime'))(
  'riscv64 page compiler (Node) against the interpreter (wasmtime)',
  () => {
    const script =
      'i=0; s=0; while [ $i -lt 4000 ]; do i=$((i+1)); s=$(((s*31+i)%65521)); done; echo $i $s; ' +
      'dd if=/dev/zero bs=64k count=16 2>/dev/null | sha256sum; ' +
      'seq 1 3000 | gzip -1 | gzip -dc | md5sum; ' +
      'for k in 1 2 3 4 5; do echo $k | cat; done | wc -l';
    it('loops, sha256sum, gzip, pipes', async () => {
      const node = await runWasm('node', out, {
        args: ['sh', '-c', script],
        env: { C2W_STATS: '1' },
        timeoutMs: 300_000,
      });
      const interp = await runWasm('wasmtime', out, {
        args: ['sh', '-c', script],
        timeoutMs: 300_000,
      });
      expect(interp.status).toBe(0);
      expect(node.status).toBe(0);
      expect(node.stdout.toString()).toBe(interp.stdout.toString());
      expect(node.stdout.toString()).toMatch(
        /^4000 \d+\n[0-9a-f]{64} {2}-\n[0-9a-f]{32} {2}-\n5\n$/,
      );
      const compiled = /(\d+) pages compiled/.exec(node.stderr.toString());
      expect(compiled, node.stderr.toString()).not.toBeNull();
      expect(Number(compiled?.[1])).toBeGreaterThan(0);
    }, 600_000);
  },
);
