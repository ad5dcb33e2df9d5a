// Builds the browser page into dist/page/: esbuild bundles of the page and the worker, the HTML,
// the CSS, and the licence texts of the bundled libraries.
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(pkg, 'dist', 'page');
const require = createRequire(join(pkg, 'package.json'));
// The installed package's directory (some packages do not export ./package.json).
const modDir = (name) => {
  for (let d = dirname(require.resolve(name)); d !== dirname(d); d = dirname(d)) {
    const pj = join(d, 'package.json');
    if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name === name) return d;
  }
  throw new Error(`bundle-page: cannot find the directory of ${name}`);
};

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'licenses'), { recursive: true });
const common = {
  bundle: true,
  minify: true,
  sourcemap: true,
  target: 'chrome110',
  logLevel: 'warning',
  legalComments: 'linked',
};
await build({
  ...common,
  entryPoints: [join(pkg, 'page', 'main.ts')],
  outfile: join(out, 'c2w-page.js'),
  format: 'esm',
});
await build({
  ...common,
  entryPoints: [join(pkg, 'page', 'worker.ts')],
  outfile: join(out, 'c2w-worker.js'),
  format: 'iife',
});
await copyFile(join(pkg, 'page', 'index.html'), join(out, 'index.html'));
await copyFile(join(pkg, 'page', 'c2w.css'), join(out, 'c2w.css'));
await copyFile(join(modDir('@xterm/xterm'), 'css', 'xterm.css'), join(out, 'xterm.css'));
const licences = [
  ['@xterm/xterm', 'LICENSE', 'xterm.LICENSE.txt'],
  ['xterm-pty', 'LICENSE.txt', 'xterm-pty.LICENSE.txt'],
  ['@bjorn3/browser_wasi_shim', 'LICENSE-MIT', 'browser_wasi_shim.LICENSE-MIT.txt'],
  ['@bjorn3/browser_wasi_shim', 'LICENSE-APACHE', 'browser_wasi_shim.LICENSE-APACHE.txt'],
];
const index = [];
for (const [name, file, as] of licences) {
  await copyFile(join(modDir(name), file), join(out, 'licenses', as));
  index.push(`<li><a href="${as}">${name}</a></li>`);
}
await writeFile(
  join(out, 'licenses', 'index.html'),
  `<!doctype html><meta charset="utf-8"><title>Licences</title><ul>${index.join('')}</ul>\n`,
);
