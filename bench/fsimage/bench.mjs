#!/usr/bin/env node
// Benchmark: @c2w/fsimage's EROFS writer against mkfs.erofs (Debian erofs-utils) on the same tree,
// in the same run, uncompressed and LZ4. Runs alternate (ours, mkfs, ours, ...) so machine load
// hits both alike; reports medians of wall time and of CPU time (user+sys, children included),
// and image sizes.
//   node bench/fsimage/bench.mjs [TREE_DIR] [--runs N]
// Default tree: the debootstrapped Debian bookworm minbase fixture (~200 MB), built if missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 3;
const tree =
  args[0] ??
  execFileSync('bash', [join(repo, 'packages/fsimage/test/fixtures/minbase.sh')], {
    encoding: 'utf8',
  }).trim();

execFileSync('npx', ['tsc', '-b', 'packages/fsimage'], { cwd: repo, stdio: 'inherit' });
const work = mkdtempSync(join(process.env.C2W_BENCH_TMP ?? tmpdir(), 'fsimage-bench-'));
const treeBytes = Number(execFileSync('du', ['-sb', tree], { encoding: 'utf8' }).split('\t')[0]);

function timed(cmd, argv) {
  const tf = join(work, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', '-o', tf, cmd, ...argv], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [wall, user, sys] = readFileSync(tf, 'utf8').trim().split(/\s+/).slice(-3).map(Number);
  return { wall, cpu: user + sys };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const mode of ['none', 'lz4']) {
  const ours = { wall: [], cpu: [], size: 0 };
  const ref = { wall: [], cpu: [], size: 0 };
  for (let i = 0; i < runs; i++) {
    const a = join(work, 'ours.erofs');
    const b = join(work, 'mkfs.erofs');
    const o = timed('node', [join(here, 'write.mjs'), tree, a, ...(mode === 'lz4' ? ['lz4'] : [])]);
    ours.wall.push(o.wall);
    ours.cpu.push(o.cpu);
    ours.size = statSync(a).size;
    const m = timed('mkfs.erofs', ['--quiet', ...(mode === 'lz4' ? ['-zlz4'] : []), b, tree]);
    ref.wall.push(m.wall);
    ref.cpu.push(m.cpu);
    ref.size = statSync(b).size;
    rmSync(a);
    rmSync(b);
  }
  results.push({ mode, ours, ref });
}
rmSync(work, { recursive: true, force: true });

const mb = (n) => (n / 1e6).toFixed(1);
console.log(
  `tree: ${tree} (${mb(treeBytes)} MB), ${runs} alternating runs each, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
);
console.log(
  'mode  | ours wall s | mkfs wall s | wall ratio | ours cpu s | mkfs cpu s | cpu ratio | ours MB | mkfs MB | size ratio',
);
for (const { mode, ours, ref } of results) {
  const w = median(ours.wall) / median(ref.wall);
  const c = median(ours.cpu) / median(ref.cpu);
  const s = ours.size / ref.size;
  console.log(
    `${mode.padEnd(5)} | ${median(ours.wall).toFixed(2).padStart(11)} | ${median(ref.wall).toFixed(2).padStart(11)} | ${w.toFixed(2).padStart(10)} | ${median(ours.cpu).toFixed(2).padStart(10)} | ${median(ref.cpu).toFixed(2).padStart(10)} | ${c.toFixed(2).padStart(9)} | ${mb(ours.size).padStart(7)} | ${mb(ref.size).padStart(7)} | ${s.toFixed(4)}`,
  );
}
const none = results[0];
const lz4 = results[1];
console.log(
  `goals: time <= 1.2x mkfs.erofs (uncompressed): ${median(none.ours.wall) / median(none.ref.wall) <= 1.2 ? 'met' : 'NOT met'}; ` +
    `size within 2%: ${Math.abs(none.ours.size / none.ref.size - 1) <= 0.02 ? 'met' : 'NOT met'}; ` +
    `LZ4 size within 5%: ${Math.abs(lz4.ours.size / lz4.ref.size - 1) <= 0.05 ? 'met' : 'NOT met'}`,
);
