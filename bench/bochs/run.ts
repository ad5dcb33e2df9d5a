// Bochs benchmark (issue 7): the guest workload of guest.sh run as a container command of an
// amd64 busybox image on
//   native          our patched Bochs built for the host (--disk: the same rootfs.erofs)
//   node, wasmtime  the c2w module (pre-booted vm.wasm + rootfs) under Node's WASI (with the
//                   trace compiler) / wasmtime
//   node-interp     the same under Node without the trace compiler (C2W_PAGE_COMPILER=0)
//   node-bare, wasmtime-bare  the bare bochs.wasm (boots the kernel first: no snapshot)
//   qemu            qemu-system-x86_64 (TCG) with the contract devices (test/guest/qemu.ts)
// The host timestamps each `MARK` line as it arrives on stdout (wall time, not guest time);
// "start" is process start to the first marker (the container's first output). QEMU's console is
// collected at exit, so its intervals come from the guest's /proc/uptime printed in the markers
// (QEMU's guest clock follows the host's wall clock; Bochs' does not: sync=none).
//   npx tsx bench/bochs/run.ts [--runs N] [--only native,node,...] [--node-flags "--no-liftoff"]
//                              [--boot-only]
// C2W_BOCHS_BUILD=DIR measures another build of emulators/bochs/build (vm.wasm, wasm/, native/).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGuest } from '../../test/guest/qemu.js';
import { type Anchor, anchorReport } from '../anchor.js';
import { type Fig, figures, timeMarks } from './marks.js';

const root = join(import.meta.dirname, '../..');
const cache = process.env.C2W_CACHE ?? '/var/cache/c2w';
const build = process.env.C2W_BOCHS_BUILD ?? join(root, 'emulators/bochs/build');
const kernel = join(root, 'kernel/build/x86_64');
const image = `oci:${cache}/fixtures/images/v3/layout:amd64`;
const argv = process.argv.slice(2);
const opt = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const runs = Number(opt('--runs') ?? 3);
const nodeFlags = (opt('--node-flags') ?? '').split(' ').filter(Boolean);
const only = opt('--only')?.split(',') ?? ['native', 'node', 'node-interp', 'wasmtime', 'qemu'];
// --boot-only: the markers alone, for the start figure (boot of the bare module: no snapshot)
const script = argv.includes('--boot-only')
  ? 'for m in s a b c; do echo "MARK $m 0"; done'
  : readFileSync(join(import.meta.dirname, 'guest.sh'), 'utf8');
const cmd = ['sh', '-c', script];

const work = join(cache, 'bochs-bench');
mkdirSync(join(work, 'ext'), { recursive: true });
const cli = join(root, 'packages/cli/dist/bin.js');
for (const [out, extra] of [
  [join(work, 'out.wasm'), []],
  [join(work, 'ext/out.wasm'), ['--external-bundle']],
] as const) {
  execFileSync(process.execPath, [cli, '-q', '--target-arch', 'amd64', ...extra, image, out], {
    stdio: 'inherit',
    env: { ...process.env, C2W_BOCHS_BUILD: build },
  });
}
const rootfs = join(work, 'ext/rootfs.erofs');
const bare = process.env.BENCH_BOCHS_WASM ?? join(build, 'wasm/bochs.wasm');
// the runner in this checkout: it serves the trace compiler from packages/runtime-wasi/dist
const nodeWasi = join(root, 'test/harness/node-wasi.mjs');
const node = (mod: string, ...a: string[]) => [
  process.execPath,
  '--no-incremental-marking',
  ...nodeFlags,
  nodeWasi,
  ...a,
  mod,
];
const bareArgs = ['--boot', '/k', '--disk', '/b/rootfs.erofs', '--env', 'PATH=/bin', '--', ...cmd];
const bareDirs = ['--dir', `${kernel}::/k`, '--dir', `${work}/ext::/b`];

const configs: Record<string, () => string[]> = {
  native: () => [
    join(build, 'native/bochs'),
    ...['--boot', kernel, '--disk', rootfs, '--env', 'PATH=/bin', '--', ...cmd],
  ],
  node: () => [...node(join(work, 'out.wasm')), ...cmd],
  // the interpreter alone: no trace compiler (emulators/bochs/README.md, "Trace compiler")
  'node-interp': () => ['env', 'C2W_PAGE_COMPILER=0', ...node(join(work, 'out.wasm')), ...cmd],
  wasmtime: () => [join(cache, 'bin/wasmtime-py'), join(work, 'out.wasm'), ...cmd],
  'node-bare': () => [...node(bare, ...bareDirs), ...bareArgs],
  'wasmtime-bare': () => [join(cache, 'bin/wasmtime-py'), ...bareDirs, bare, ...bareArgs],
};

const KEYS = ['start', 'a', 'b', 'c'] as const;
// issue 7: 2x faster than container2wasm's Bochs under Node, within 1.5x of our native build;
// the anchor's qemu figures are ranges (1.9-2.4 / 0.6-0.7 / 0.65-0.8 s): their middles
const ANCHOR: Anchor = {
  qemu: { a: 2.15, b: 0.65, c: 0.725 },
  goal: { a: 16, b: 15, c: 11 },
  nativeRatio: 1.5,
};

async function once(name: string): Promise<Fig> {
  const [bin, ...a] = configs[name]();
  return figures(await timeMarks(name, bin, a), name);
}

async function qemu(): Promise<Fig> {
  const r = await runGuest('x86_64', {
    args: cmd,
    env: ['PATH=/bin'],
    rootfs,
    timeoutMs: 600_000,
  });
  if (r.status !== 0) throw new Error(`qemu: exit status ${r.status}: ${r.stderr}`);
  const up: Record<string, number> = {};
  for (const m of r.stdout.matchAll(/^MARK (\w+) ([\d.]+)$/gm)) up[m[1]] = Number(m[2]);
  const f = figures(up, 'qemu');
  // start: to the ready point (the same kernel and init, QEMU's own devices)
  return { ...f, start: r.readyMs / 1000 };
}

for (const name of only)
  if (name !== 'qemu' && !(name in configs)) throw new Error(`bench: unknown config ${name}`);
const needed = [join(build, 'native/bochs'), join(kernel, 'bzImage')];
if (only.some((n) => n.endsWith('-bare'))) needed.push(bare);
for (const f of needed)
  if (!existsSync(f)) throw new Error(`bench: ${f} missing (tools/nx run emulator-bochs:artifact)`);

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const results: Record<string, Fig> = {};
for (const name of only) {
  const rs: Fig[] = [];
  for (let i = 0; i < runs; i++) {
    const f = name === 'qemu' ? await qemu() : await once(name);
    console.error(`${name} run ${i + 1}: ${KEYS.map((k) => `${k} ${f[k].toFixed(2)}`).join(' ')}`);
    rs.push(f);
  }
  results[name] = Object.fromEntries(KEYS.map((k) => [k, median(rs.map((f) => f[k]))])) as Fig;
}

const base = results.native;
console.log(`median of ${runs} run(s), wall seconds (ratio to native Bochs)`);
const row = (cells: string[]) => console.log(cells.map((s) => s.padEnd(17)).join(''));
row(['config', 'start', '(a) sh 100k', '(b) sha256 16M', '(c) gzip 16M']);
for (const [name, r] of Object.entries(results)) {
  const cell = (k: keyof Fig) =>
    `${r[k].toFixed(2)}${base ? ` (${(r[k] / base[k]).toFixed(2)}x)` : ''}`;
  row([name, ...KEYS.map(cell)]);
}
if (results.node)
  for (const line of anchorReport('node', ANCHOR, results.node, results.native, results.qemu))
    console.log(line);
