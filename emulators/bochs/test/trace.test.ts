// The trace compiler (host/trace_compiler.cc): under Node the bare module compiles hot traces to
// wasm; what the guest computes must not change. flags.c (built natively, run from a mapped
// directory) prints hashes of integer instructions' results and flags, read by setcc in
// compiled code and by pushfq through Bochs' handler; the same module under wasmtime, which
// compiles nothing, is the reference; simd.c does the same for SSE2/AVX2 vector operations and
// glibc's string functions. A busybox workload (shell loop, sha256sum, gzip) must
// print what the same busybox prints on the host.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Runtime, runWasm } from '../../../test/harness/runtimes.ts';
import { busyboxDisk } from './busybox-disk.ts';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bare = join(repo, 'emulators/bochs/build/wasm/bochs.wasm');
const kernel = join(repo, 'kernel/build/x86_64');
const cache = process.env.C2W_CACHE ?? '/var/cache/c2w';
const T = 400_000;

const WORKLOAD =
  'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo $i; ' +
  'dd if=/dev/zero bs=64k count=32 2>/dev/null | sha256sum; ' +
  'dd if=/bin/busybox bs=64k count=8 2>/dev/null | gzip -1 | sha256sum';

describe('bochs trace compiler', () => {
  let disk = '';
  let bin = '';
  beforeAll(() => {
    disk = busyboxDisk();
    mkdirSync(join(cache, 'tmp'), { recursive: true });
    bin = mkdtempSync(join(cache, 'tmp/bochs-trace-'));
    for (const name of ['flags', 'simd'])
      execFileSync(
        join(repo, 'tools/toolchain/run'),
        [
          '--',
          'gcc',
          '-O1',
          '-static',
          '-o',
          join(bin, name),
          join(repo, `emulators/bochs/test/trace/${name}.c`),
        ],
        { cwd: repo },
      );
  });

  afterAll(() => {
    for (const dir of [bin, join(disk, '..')])
      if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (runtime: Runtime, args: string[]) =>
    runWasm(runtime, bare, {
      args: ['--disk', '/disk/rootfs.erofs', '--', ...args],
      env: { PATH: '/bin', C2W_STATS: '1' },
      dirs: [
        { host: kernel, guest: '/boot' },
        { host: disk, guest: '/disk' },
        { host: bin, guest: '/mnt/bin' },
      ],
      timeoutMs: T - 10_000,
    });
  const compiled = (stderr: string) => Number(/traces compiled (\d+)/.exec(stderr)?.[1] ?? 0);

  // the program prints the same compiled under Node as interpreted under wasmtime
  const sameCompiled = async (program: string, output: RegExp) => {
    const [node, wasmtime] = await Promise.all([
      run('node', [program]),
      run('wasmtime', [program]),
    ]);
    expect(wasmtime.status).toBe(0);
    expect(compiled(wasmtime.stderr.toString())).toBe(0);
    expect(wasmtime.stdout.toString()).toMatch(output);
    expect(node.stdout.toString()).toBe(wasmtime.stdout.toString());
    expect(node.status).toBe(0);
    expect(compiled(node.stderr.toString())).toBeGreaterThan(100);
  };

  it(
    'integer instructions and flags: compiled under Node as interpreted under wasmtime',
    () => sameCompiled('/mnt/bin/flags', /^(op \d+ [0-9a-f]{16}\n)+/m),
    T,
  );

  it(
    'SSE2 and AVX2 vector operations and string functions: compiled as interpreted',
    () => sameCompiled('/mnt/bin/simd', /^(round \d [0-9a-f]{16}\n){6}$/m),
    T,
  );

  it(
    'a busybox workload prints what busybox prints on the host',
    async () => {
      const host = execFileSync('/bin/busybox', ['sh', '-c', WORKLOAD], { encoding: 'utf8' });
      const node = await run('node', ['sh', '-c', WORKLOAD]);
      expect(node.stdout.toString()).toBe(host);
      expect(node.status).toBe(0);
      expect(compiled(node.stderr.toString())).toBeGreaterThan(100);
    },
    T,
  );
});
