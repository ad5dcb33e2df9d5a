// A/B of bare Bochs modules under Node (issue 7's dispatch experiments): a short version of
// guest.sh ((a) sh loop 40k, (b) sha256 of 8 MiB, (c) gzip -1 of 8 MiB), the variants
// interleaved run by run so that a change of load on the shared machine hits all of them.
//   npx tsx bench/bochs/ab.ts [--runs N] [--paired] A.wasm B.wasm ...
// --paired: the variants of a run at the same time, one core each (this machine has two), so
// that both see the same load; on the shared machine single runs of one build vary by +-15%,
// the ratio of a pair by a few percent. The paired figures are slower than single runs (the
// engines' compiler threads share the cores) and compare only with each other.
// Needs the rootfs of a bench run ($C2W_CACHE/bochs-bench/ext/rootfs.erofs: run run.ts once).
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Fig, figures, timeMarks } from './marks.js';

const root = join(import.meta.dirname, '../..');
const cache = process.env.C2W_CACHE ?? '/var/cache/c2w';
const kernel = join(root, 'kernel/build/x86_64');
const ext = join(cache, 'bochs-bench/ext');
const argv = process.argv.slice(2);
const ri = argv.indexOf('--runs');
const runs = ri >= 0 ? Number(argv[ri + 1]) : 3;
const paired = argv.includes('--paired');
const mods = argv.filter((a, k) => a !== '--runs' && a !== '--paired' && (ri < 0 || k !== ri + 1));
if (mods.length === 0) throw new Error('usage: ab.ts [--runs N] A.wasm B.wasm ...');
for (const f of [...mods, join(ext, 'rootfs.erofs')])
  if (!existsSync(f)) throw new Error(`ab: ${f} missing`);

// guest.sh, shortened: 40k iterations, 8 MiB
const script = readFileSync(join(import.meta.dirname, 'guest.sh'), 'utf8')
  .replace('-lt 100000', '-lt 40000')
  .replaceAll('count=16', 'count=8');
if (!script.includes('-lt 40000') || script.includes('count=16'))
  throw new Error('ab: guest.sh no longer has the loop and sizes this script shortens');

async function once(mod: string): Promise<Fig> {
  const marks = await timeMarks(basename(mod), process.execPath, [
    '--no-incremental-marking',
    join(root, 'test/harness/node-wasi.mjs'),
    ...['--dir', `${kernel}::/k`, '--dir', `${ext}::/b`, mod],
    ...['--boot', '/k', '--disk', '/b/rootfs.erofs', '--env', 'PATH=/bin', '--'],
    ...['sh', '-c', script],
  ]);
  return figures(marks, mod);
}

const results = new Map<string, Fig[]>(mods.map((m) => [m, []]));
const report = (m: string, r: number, f: Fig) => {
  console.error(
    `${basename(m)} run ${r + 1}: ${f.a.toFixed(2)} ${f.b.toFixed(2)} ${f.c.toFixed(2)}`,
  );
  results.get(m)?.push(f);
};
for (let r = 0; r < runs; r++) {
  if (paired) {
    const figs = await Promise.all(mods.map((m) => once(m)));
    for (const [k, m] of mods.entries()) report(m, r, figs[k]);
  } else {
    for (const m of mods) report(m, r, await once(m));
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
console.log(`median of ${runs}, wall s: (a) sh 40k, (b) sha256 8M, (c) gzip 8M`);
for (const [m, fs] of results) {
  const cells = (['a', 'b', 'c'] as const).map((k) => median(fs.map((f) => f[k])).toFixed(2));
  console.log(`${basename(m).padEnd(24)} ${cells.join('  ')}`);
}
if (paired) {
  // the ratio to the first variant within each pair, then the median over the runs
  const first = results.get(mods[0]) ?? [];
  console.log(`ratio to ${basename(mods[0])} within each run, median of ${runs}:`);
  for (const [m, fs] of results) {
    const cells = (['a', 'b', 'c'] as const).map((k) =>
      median(fs.map((f, r) => f[k] / first[r][k])).toFixed(3),
    );
    console.log(`${basename(m).padEnd(24)} ${cells.join('  ')}`);
  }
}
