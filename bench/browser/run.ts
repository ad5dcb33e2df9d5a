// Time from page load (navigation start) to the module's first output in Chromium, against the
// same module's first output on Node's WASI (node:wasi, a fresh process) in the same run.
//   npx tsx bench/browser/run.ts [--runs N] [--module FILE]...
// Default modules: the runtime-browser fixture (a tiny WASI shell) and the packing-contract
// fixture packed with a 40 MB rootfs (a module the size of a small converted image).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRunConfig, packModule } from '../../packages/pack/src/index.js';
import { serveBrowserBundle } from '../../packages/runtime-browser/src/index.js';
import { launch } from '../../packages/runtime-browser/test/chromium.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1] || 5) || 5;
const given = argv.flatMap((a, i) => (argv[i - 1] === '--module' ? [a] : []));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Node's WASI: ms from process spawn to the first byte on stdout. */
function nodeFirstOutput(module: string): Promise<number> {
  const code = `const{WASI}=require('node:wasi');const fs=require('fs');const w=new WASI({version:'preview1',args:['m','hello'],env:{},returnOnExit:false});WebAssembly.instantiate(fs.readFileSync(${JSON.stringify(module)}),w.getImportObject()).then(({instance})=>w.start(instance))`;
  return new Promise((ok, fail) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, ['--no-warnings', '-e', code], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let t: number | null = null;
    p.stdout.on('data', () => {
      t ??= performance.now() - t0;
    });
    p.on('exit', () => (t === null ? fail(new Error(`${module}: no output on Node`)) : ok(t)));
  });
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'c2w-bench-browser-'));
  const modules: [string, string][] = given.map((m) => [m, m]);
  if (modules.length === 0) {
    const shell = join(root, 'packages/runtime-browser/build/fixtures/shell.wasm');
    const footer = join(root, 'packages/pack/build/fixtures/footer.wasm');
    for (const [f, target] of [
      [shell, '@c2w/runtime-browser:artifact'],
      [footer, 'pack:artifact'],
    ] as const) {
      if (!existsSync(f))
        execFileSync(join(root, 'tools/nx'), ['run', target], { stdio: 'inherit' });
    }
    const blob = join(work, 'rootfs');
    await writeFile(blob, randomBytes(40 << 20));
    const packed = join(work, 'packed.wasm');
    await packModule({
      module: footer,
      output: packed,
      rootfs: { path: blob },
      config: encodeRunConfig({}, {}),
    });
    modules.push(['fixture shell', shell], ['packed, 40 MB rootfs', packed]);
  }
  const browser = await launch();
  console.log(`runs: ${runs} (median ms)`);
  console.log('module                         size MB   browser  node-wasi  ratio');
  try {
    for (const [name, file] of modules) {
      const served = await serveBrowserBundle(file, { port: 0, args: ['hello'] });
      const b: number[] = [];
      const n: number[] = [];
      for (let i = 0; i < runs; i++) {
        const page = await browser.context.newPage();
        await page.goto(served.url);
        await page.waitForFunction(
          () =>
            (window as unknown as { c2w?: { firstOutputMs: number | null } }).c2w?.firstOutputMs !=
            null,
          null,
          { timeout: 120_000 },
        );
        b.push(
          await page.evaluate(
            () => (window as unknown as { c2w: { firstOutputMs: number } }).c2w.firstOutputMs,
          ),
        );
        await page.close();
        n.push(await nodeFirstOutput(file));
      }
      await served.close();
      const size = (await stat(file)).size / 1e6;
      const mb = median(b);
      const mn = median(n);
      console.log(
        `${name.padEnd(30)} ${size.toFixed(1).padStart(7)} ${mb.toFixed(0).padStart(9)} ${mn.toFixed(0).padStart(10)} ${(mb / mn).toFixed(2).padStart(6)}`,
      );
    }
  } finally {
    await browser.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
