// Bochs benchmark (issue 7): the same busybox guest workload on
//   wasm-node      our bochs.wasm under Node's WASI
//   wasm-wasmtime  our bochs.wasm under wasmtime (PyPI wheel runner)
//   native         the same patched Bochs built for the host
//   qemu           qemu-system-x86_64 (TCG)
// Figures: wall time from process start to the guest's init ("boot"), (a) sh loop of 100k,
// (b) sha256sum of 16 MiB, (c) gzip -1 of 16 MiB; median of N runs; ratios against native.
// Usage: node bench/bochs/run.mjs [--runs N] [--only name,name]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const cache = process.env.C2W_CACHE || '/var/cache/c2w';
const build = `${root}/emulators/bochs/build`;
const kernel = `${build}/test-guest/vmlinuz`;
const work = `${cache}/bochs-bench`;
mkdirSync(work, { recursive: true });
const cpio = `${work}/bench.cpio`;
execFileSync('bash', [`${here}/guest.sh`, cpio], { stdio: 'inherit' });
for (const f of [kernel, `${build}/wasm/bochs.wasm`, `${build}/native/bochs`]) {
  if (!existsSync(f)) {
    console.error(
      `bench: ${f} missing: tools/nx run-many -p emulator-bochs -t artifact artifact-native`,
    );
    process.exit(1);
  }
}
const args = process.argv.slice(2);
const runs = Number(args.includes('--runs') ? args[args.indexOf('--runs') + 1] : 3);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;
const append = 'console=ttyS0,115200 quiet';
const bochsArgs = (k, i) => ['--kernel', k, '--initrd', i, '--append', append];

const configs = {
  native: () => ({ cmd: `${build}/native/bochs`, args: bochsArgs(kernel, cpio) }),
  'wasm-node': () => ({
    cmd: process.execPath,
    args: [
      '--no-incremental-marking',
      `${root}/test/harness/node-wasi.mjs`,
      '--dir',
      `${build}/test-guest::/k`,
      '--dir',
      `${work}::/b`,
      '--',
      `${build}/wasm/bochs.wasm`,
      ...bochsArgs('/k/vmlinuz', '/b/bench.cpio'),
    ],
  }),
  'wasm-wasmtime': () => ({
    cmd: `${cache}/bin/wasmtime-py`,
    args: [
      '--dir',
      `${build}/test-guest::/k`,
      '--dir',
      `${work}::/b`,
      `${build}/wasm/bochs.wasm`,
      ...bochsArgs('/k/vmlinuz', '/b/bench.cpio'),
    ],
  }),
  qemu: () => ({
    cmd: 'qemu-system-x86_64',
    args: [
      '-M',
      'pc',
      '-accel',
      'tcg',
      '-m',
      '256',
      '-kernel',
      kernel,
      '-initrd',
      cpio,
      '-append',
      append,
      '-nographic',
      '-no-reboot',
      '-device',
      'isa-debug-exit,iobase=0xf4,iosize=0x01',
    ],
  }),
};

function once(name) {
  const { cmd, args: a } = configs[name]();
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const marks = {};
    const p = spawn(cmd, a, { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    p.stdout.on('data', (d) => {
      buf += d.toString('latin1');
      for (const m of buf.matchAll(/MARK (\w+)\r?\n/g)) {
        if (!(m[1] in marks)) marks[m[1]] = Number(process.hrtime.bigint() - t0) / 1e9;
      }
      buf = buf.slice(Math.max(0, buf.length - 16));
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), 30 * 60_000);
    p.on('error', rej);
    p.on('close', () => {
      clearTimeout(timer);
      if (!['init', 'a', 'b0', 'b', 'c'].every((k) => k in marks)) {
        rej(new Error(`${name}: the guest did not finish (marks: ${JSON.stringify(marks)})`));
        return;
      }
      res({
        boot: marks.init,
        a: marks.a - marks.init,
        b: marks.b - marks.b0,
        c: marks.c - marks.b,
      });
    });
  });
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const names = only ?? Object.keys(configs);
const results = {};
for (const name of names) {
  const rs = [];
  for (let r = 0; r < runs; r++) {
    const x = await once(name);
    console.error(
      `${name} run ${r + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(x).map(([k, v]) => [k, +v.toFixed(2)])))}`,
    );
    rs.push(x);
  }
  results[name] = Object.fromEntries(
    ['boot', 'a', 'b', 'c'].map((k) => [k, median(rs.map((x) => x[k]))]),
  );
}
const base = results.native;
console.log(`median of ${runs} run(s), wall seconds (ratio to native Bochs)`);
console.log(
  ['config', 'boot', '(a) sh 100k', '(b) sha256 16M', '(c) gzip 16M']
    .map((s) => s.padEnd(16))
    .join(''),
);
for (const [name, r] of Object.entries(results)) {
  const cell = (k) => `${r[k].toFixed(2)}${base ? ` (${(r[k] / base[k]).toFixed(2)}x)` : ''}`;
  console.log(
    [name, cell('boot'), cell('a'), cell('b'), cell('c')].map((s) => s.padEnd(16)).join(''),
  );
}
