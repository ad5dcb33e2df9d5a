/**
 * Start-up: `out.wasm sh -c true` (busybox image, each built backend) against a hello-world wasm, both
 * on the same runtime in the same run (hyperfine: warm-up, then --runs N). Figures in a table.
 *
 *   npx tsx bench/startup/run.ts [--runs N]
 *
 * Needs `tools/nx run-many -t build artifact`. A backend whose VM module is not built is listed
 * as such. Runtimes: every installed one (test/harness/runtimes.ts); wasmtime caches compiled
 * code, so its figures are warm starts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backend as bochs } from '../../packages/backend-bochs/src/index.ts';
import { backend as riscv64 } from '../../packages/backend-riscv64/src/index.ts';
import { busyboxLayout } from '../../packages/cli/test/images.ts';
import { installedRuntimes, runtimeCommand } from '../../test/harness/runtimes.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/cli/dist/bin.js');
const hello = join(root, 'packages/pack/build/fixtures/hello.wasm');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function hyperfine(cmds: string[]): { mean: number; stddev: number }[] {
  const dir = mkdtempSync(join(tmpdir(), 'c2w-startup-'));
  try {
    const json = join(dir, 'h.json');
    execFileSync(
      'hyperfine',
      ['-N', '--warmup', '2', '--runs', String(RUNS), '--export-json', json, ...cmds],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    return JSON.parse(readFileSync(json, 'utf8')).results.map(
      (r: { mean: number; stddev: number }) => ({
        mean: r.mean,
        stddev: r.stddev,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: string[][] = [];
const dir = mkdtempSync(join(tmpdir(), 'c2w-startup-mod-'));
for (const [b, arch] of [
  [bochs, 'amd64'],
  [riscv64, 'riscv64'],
] as const) {
  if (b.missing()) {
    rows.push([`busybox ${arch} (${b.name})`, '-', 'VM module not built', '', '', '']);
    continue;
  }
  const out = join(dir, `${arch}.wasm`);
  const c = spawnSync(
    process.execPath,
    [bin, '-q', '--target-arch', arch, `oci:${busyboxLayout()}:${arch}`, out],
    {
      encoding: 'utf8',
    },
  );
  if (c.status !== 0) throw new Error(`c2w failed: ${c.stderr}`);
  for (const rt of installedRuntimes()) {
    const cmd = (m: string, args: string[]) => {
      const { command, args: a } = runtimeCommand(rt, m, { args });
      return [command, ...a].map(q).join(' ');
    };
    const [mod, base] = hyperfine([cmd(out, ['sh', '-c', 'true']), cmd(hello, [])]) as [
      { mean: number; stddev: number },
      { mean: number; stddev: number },
    ];
    rows.push([
      `busybox ${arch} (${b.name})`,
      rt,
      `${(statSync(out).size / 1e6).toFixed(1)}`,
      `${mod.mean.toFixed(3)} ± ${mod.stddev.toFixed(3)}`,
      `${base.mean.toFixed(3)}`,
      `${(mod.mean / base.mean).toFixed(1)}x`,
    ]);
  }
}
rmSync(dir, { recursive: true, force: true });
const head = [
  'module',
  'runtime',
  'out.wasm MB',
  '`out.wasm sh -c true` s',
  'hello.wasm s',
  'ratio',
];
console.log(`start-up, hyperfine ${RUNS} runs (means); node ${process.version}`);
console.log(`| ${head.join(' | ')} |`);
console.log(`|${head.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
