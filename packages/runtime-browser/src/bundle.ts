import { copyFile, cp, link, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PAGE_FILES, pageAssetsDir } from './assets.js';
import { ISOLATION_HEADERS } from './headers.js';

/** Defaults the page uses when its URL has no query (the query overrides args; env adds). */
export interface BrowserConfig {
  /** Arguments after argv[0], e.g. ['uname', '-m']. */
  args?: string[];
  /** Environment entries `K=V`. */
  env?: string[];
  /** Guest paths of in-browser (in-memory) directories preopened for the module. */
  dirs?: string[];
  /** Files fetched into those directories before start: [guest path, URL relative to the page]. */
  files?: [string, string][];
}

/** The preopen a module packed with `--external-bundle` reads its rootfs from (docs/contract.md). */
export const EXTERNAL_BUNDLE_DIR = '/.c2w-bundle';
export const EXTERNAL_ROOTFS = 'rootfs.erofs';

/** Adds the external-bundle preopen and its rootfs file to a config. */
export function withExternalRootfs(c: BrowserConfig, url = EXTERNAL_ROOTFS): BrowserConfig {
  return {
    ...c,
    dirs: [...(c.dirs ?? []).filter((d) => d !== EXTERNAL_BUNDLE_DIR), EXTERNAL_BUNDLE_DIR],
    files: [...(c.files ?? []), [`${EXTERNAL_BUNDLE_DIR}/${EXTERNAL_ROOTFS}`, url]],
  };
}

export interface WriteBundleOptions extends BrowserConfig {
  /** File name of the module inside the bundle (default `out.wasm`). */
  moduleName?: string;
  /** Hard-link the module instead of copying it when on the same filesystem (default false). */
  link?: boolean;
  /**
   * The rootfs.erofs of a module converted with `--external-bundle`: copied next to the module
   * and preopened at /.c2w-bundle (in memory: the browser holds it whole).
   */
  externalRootfs?: string;
}

export interface WrittenBundle {
  dir: string;
  /** Paths relative to dir, in the order written. */
  files: string[];
}

/** Throws a one-line error naming the file unless it is a readable WebAssembly binary. */
export async function checkWasm(path: string): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch {
    throw new Error(`${path}: no such file`);
  }
  if (!st.isFile()) throw new Error(`${path}: not a file`);
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    if (bytesRead < 8 || head.readUInt32BE(0) !== 0x0061736d || head.readUInt32LE(4) !== 1) {
      throw new Error(`${path}: not a WebAssembly module (no \\0asm version 1 header)`);
    }
  } finally {
    await fh.close();
  }
}

export function configJson(moduleName: string, c: BrowserConfig): string {
  const json = {
    module: moduleName,
    args: c.args ?? [],
    env: c.env ?? [],
    dirs: c.dirs ?? [],
    files: c.files ?? [],
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

async function checkFile(path: string): Promise<void> {
  const st = await stat(path).catch(() => null);
  if (st === null) throw new Error(`${path}: no such file`);
  if (!st.isFile()) throw new Error(`${path}: not a file`);
}

/** Copies src to dest through a temporary name (hard link when asked and possible). */
async function place(src: string, dest: string, hardLink: boolean): Promise<void> {
  const tmp = `${dest}.partial`;
  await rm(tmp, { force: true });
  let linked = false;
  if (hardLink) {
    try {
      await link(resolve(src), tmp);
      linked = true;
    } catch {
      linked = false;
    }
  }
  if (!linked) await copyFile(src, tmp);
  await rename(tmp, dest);
}

/** `_headers` in the format static hosts (Netlify, Cloudflare Pages) read. */
export function headersFile(): string {
  const lines = Object.entries(ISOLATION_HEADERS).map(([k, v]) => `  ${k}: ${v}`);
  return `/*\n${lines.join('\n')}\n`;
}

/**
 * Writes a ready-to-serve directory: the page (index.html, bundled JS, CSS), the module, a
 * config with default args/env/dirs and a `_headers` file. The directory must be served with
 * COOP/COEP headers (serveBrowserBundle does; see ISOLATION_HEADERS).
 * `c2w browser out.wasm DIR` (browserCommand).
 */
export async function writeBrowserBundle(
  wasmPath: string,
  outDir: string,
  opts: WriteBundleOptions = {},
): Promise<WrittenBundle> {
  await checkWasm(wasmPath);
  if (opts.externalRootfs !== undefined) await checkFile(opts.externalRootfs);
  const assets = pageAssetsDir();
  const moduleName = opts.moduleName ?? 'out.wasm';
  if (!/^[A-Za-z0-9._-]+\.wasm$/.test(moduleName)) {
    throw new Error(`${moduleName}: module name must be a plain file name ending in .wasm`);
  }
  const dir = resolve(outDir);
  try {
    if (!(await stat(dir)).isDirectory())
      throw new Error(`${outDir}: exists and is not a directory`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const f of PAGE_FILES) {
    await copyFile(join(assets, f), join(dir, f));
    files.push(f);
  }
  await cp(join(assets, 'licenses'), join(dir, 'licenses'), { recursive: true });
  files.push('licenses/');
  const config = opts.externalRootfs !== undefined ? withExternalRootfs(opts) : opts;
  await writeFile(join(dir, 'c2w-browser.json'), configJson(moduleName, config));
  files.push('c2w-browser.json');
  await writeFile(join(dir, '_headers'), headersFile());
  files.push('_headers');
  if (opts.externalRootfs !== undefined) {
    await place(opts.externalRootfs, join(dir, EXTERNAL_ROOTFS), opts.link === true);
    files.push(EXTERNAL_ROOTFS);
  }
  await place(wasmPath, join(dir, moduleName), opts.link === true);
  files.push(moduleName);
  return { dir, files };
}
