import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Files of the prebuilt page (built by `tools/nx build @c2w/runtime-browser` into dist/page). */
export const PAGE_FILES = [
  'index.html',
  'c2w-page.js',
  'c2w-worker.js',
  'c2w.css',
  'xterm.css',
] as const;

/** The directory holding the prebuilt page: dist/page, from dist/ or from src/ (tests). */
export function pageAssetsDir(): string {
  for (const rel of ['./page/', '../dist/page/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error(
    'runtime-browser: the page is not built (no dist/page/index.html); run `tools/nx build @c2w/runtime-browser`',
  );
}
