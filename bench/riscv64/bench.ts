// riscv64 machine benchmark (issue 6). Workload in the guest (busybox), each timed by the guest's
// /proc/uptime: (a) shell loop to 100000, (b) dd 16 MiB | sha256sum, (c) dd 16 MiB | gzip -1 | wc -c;
// plus the wall time from process start to the end of `true` (pre-booted: resume + run + exit).
// Runs our native build, our wasm snapshot under Node's WASI and wasmtime, and
// qemu-system-riscv64 (TCG) in the same run, N runs each (default 3), prints medians.
// --before DIR adds native-before and node-before: another build of the machine (DIR/native/c2w-rv64
// and DIR/vm.wasm, e.g. from an older commit) measured in the same run.
// Under Node the machine compiles hot pages to wasm (page compiler); node-interp is the same module
// with it turned off (C2W_PAGE_COMPILER=0), node-no-liftoff the interpreter-era V8 flag.
//   npx tsx bench/riscv64/bench.ts [--runs N] [--only native,node,node-interp,node-no-liftoff,wasmtime,qemu]
//     [--before DIR]
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRunConfig, packModule } from '../../packages/pack/src/index.js';
import { runGuest } from '../../test/guest/qemu.js';
import { type Anchor, anchorReport } from '../anchor.js';

const root = join(import.meta.dirname, '../..');
const kdir = join(root, 'kernel/build/riscv64');
const argv = process.argv.slice(2);
const opt = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const builds: Record<string, { native: string; vm: string }> = {
  '': {
    native: join(root, 'emulators/riscv64/build/native/c2w-rv64'),
    vm: join(root, 'emulators/riscv64/build/vm.wasm'),
  },
};
const before = opt('--before');
if (before) {
  builds['-before'] = { native: join(before, 'native/c2w-rv64'), vm: join(before, 'vm.wasm') };
  for (const f of Object.values(builds['-before']))
    if (!existsSync(f)) {
      console.error(`bench: --before: ${f} does not exist`);
      process.exit(2);
    }
}
const runs = Number(opt('--runs') || 3) || 3;
const only = opt('--only')?.split(',') ?? ['native', 'node', 'node-interp', 'wasmtime', 'qemu'];

// issue 6: 1.5x faster than TinyEMU-in-wasm under Node (11.3 / 6.2 / 4.7 s), within 1.3x of native
const ANCHOR: Anchor = {
  qemu: { a: 1.9, b: 0.92, c: 0.65 },
  goal: { a: 7.5, b: 4.1, c: 3.1 },
  nativeRatio: 1.3,
};

const SCRIPT = [
  "t() { cut -d' ' -f1 /proc/uptime; }",
  's=$(t); i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; e=$(t); echo "a $s $e"',
  's=$(t); dd if=/dev/zero bs=1M count=16 2>/dev/null | sha256sum >/dev/null; e=$(t); echo "b $s $e"',
  's=$(t); dd if=/dev/zero bs=1M count=16 2>/dev/null | gzip -1 | wc -c >/dev/null; e=$(t); echo "c $s $e"',
].join('\n');

const work = mkdtempSync(join(tmpdir(), 'c2w-bench-rv64-'));
const tree = join(work, 'rootfs');
for (const d of ['bin', 'etc', 'tmp', 'root']) mkdirSync(join(tree, d), { recursive: true });
copyFileSync(join(kdir, 'busybox'), join(tree, 'bin/busybox'));
chmodSync(join(tree, 'bin/busybox'), 0o755);
for (const a of 'sh cat echo cut dd sha256sum gzip wc true uname'.split(' '))
  symlinkSync('busybox', join(tree, 'bin', a));
writeFileSync(join(tree, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
const image = join(work, 'rootfs.erofs');
execFileSync('mkfs.erofs', ['-T0', '--quiet', image, tree]);
const cfgFile = join(work, 'cfg');
writeFileSync(cfgFile, encodeRunConfig({}));

type Fig = { a: number; b: number; c: number; start: number };
function parse(out: string): Omit<Fig, 'start'> {
  const f: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const m = /^([abc]) ([\d.]+) ([\d.]+)$/.exec(line.trim());
    if (m) f[m[1]] = Number(m[3]) - Number(m[2]);
  }
  if (!('a' in f && 'b' in f && 'c' in f)) throw new Error(`no timings in output: ${out}`);
  return f as Omit<Fig, 'start'>;
}
function timed(cmd: string, args: string[]): { out: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, input: '' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { out: r.stdout, ms };
}

const cmdline = readFileSync(join(kdir, 'cmdline.txt'), 'utf8').trim();
const nativeArgs = (a: string[]): string[] => [
  '--kernel',
  join(kdir, 'Image'),
  '--initrd',
  join(kdir, 'initramfs.cpio'),
  '--append',
  cmdline,
  '--disk',
  image,
  '--config',
  cfgFile,
  '--',
  ...a,
];

async function main() {
  const results: Record<string, Fig[]> = {};
  const add = (k: string, f: Fig) => {
    results[k] = [...(results[k] ?? []), f];
  };
  const packed: Record<string, string> = {};
  for (const [tag, b] of Object.entries(builds)) {
    if (!only.some((k) => k.startsWith('node') || k === 'wasmtime') || !existsSync(b.vm)) continue;
    packed[tag] = join(work, `out${tag}.wasm`);
    await packModule({
      module: b.vm,
      output: packed[tag],
      config: encodeRunConfig({}),
      rootfs: { path: image },
    });
  }
  const wasmCmd: Record<string, string[]> = {
    node: ['node', join(root, 'test/harness/node-wasi.mjs')],
    // the interpreter alone: no page compiler (emulators/riscv64/README.md, "Page compiler")
    'node-interp': ['env', 'C2W_PAGE_COMPILER=0', 'node', join(root, 'test/harness/node-wasi.mjs')],
    'node-no-liftoff': ['node', '--no-liftoff', join(root, 'test/harness/node-wasi.mjs')],
    wasmtime: [join(process.env.C2W_CACHE ?? '/var/cache/c2w', 'bin/wasmtime-py')],
  };
  for (let i = 0; i < runs; i++) {
    for (const [tag, b] of Object.entries(builds)) {
      if (!only.includes('native')) continue;
      const s = timed(b.native, nativeArgs(['true']));
      const w = timed(b.native, nativeArgs(['sh', '-c', SCRIPT]));
      add(`native${tag}`, { ...parse(w.out), start: s.ms / 1000 });
    }
    for (const rt of ['node', 'node-interp', 'node-no-liftoff', 'wasmtime']) {
      for (const tag of Object.keys(packed)) {
        // the other build only under Node (the goal's runtime), to keep the run short
        if (!only.includes(rt) || (tag && rt !== 'node')) continue;
        const [cmd, ...pre] = wasmCmd[rt];
        const s = timed(cmd, [...pre, packed[tag], 'true']);
        const w = timed(cmd, [...pre, packed[tag], 'sh', '-c', SCRIPT]);
        add(`${rt}${tag}`, { ...parse(w.out), start: s.ms / 1000 });
      }
    }
    if (only.includes('qemu')) {
      const s = await runGuest('riscv64', { rootfs: image, args: ['true'] });
      const w = await runGuest('riscv64', {
        rootfs: image,
        args: ['sh', '-c', SCRIPT],
        timeoutMs: 300_000,
      });
      add('qemu', { ...parse(w.stdout), start: s.totalMs / 1000 });
    }
  }
  const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
  const rows = Object.entries(results).map(([k, v]) => ({
    k,
    a: med(v.map((x) => x.a)),
    b: med(v.map((x) => x.b)),
    c: med(v.map((x) => x.c)),
    start: med(v.map((x) => x.start)),
  }));
  const base = rows.find((r) => r.k === 'native');
  console.log(`riscv64 bench, ${runs} runs, medians (seconds; x = ratio to our native build)`);
  console.log(
    'runtime         (a) sh loop        (b) sha256         (c) gzip           start..exit of `true`',
  );
  for (const r of rows) {
    const cell = (v: number, b?: number) =>
      `${v.toFixed(2).padStart(7)}${b ? ` (x${(v / b).toFixed(2)})` : ''}`.padEnd(19);
    console.log(
      `${r.k.padEnd(16)}${cell(r.a, base?.a)}${cell(r.b, base?.b)}${cell(r.c, base?.c)}${r.start.toFixed(2)}`,
    );
  }
  console.log(
    'TinyEMU anchor (issue 6): wasm/Node (a) 11.3 (b) 6.2 (c) 4.7, boot 1.06; native (a) 9.4 (b) 5.1 (c) 3.8',
  );
  const node = rows.find((r) => r.k === 'node');
  const qemuRow = rows.find((r) => r.k === 'qemu');
  if (node) for (const line of anchorReport('node', ANCHOR, node, base, qemuRow)) console.log(line);
  rmSync(work, { recursive: true, force: true });
}
main().catch((e) => {
  console.error(`bench: ${e.message}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
