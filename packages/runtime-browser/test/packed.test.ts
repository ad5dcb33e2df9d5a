// A packed module in the browser: @c2w/pack's contract fixture (packages/pack/test/fixtures/
// footer.c, built by `tools/nx run pack:artifact`) packed with a real EROFS rootfs by packModule.
// At start it reads the bundle footer at the end of its initial memory and prints the rootfs's
// SHA-256 and the packed run-config records, then what the host gave: args, env, preopens.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRunConfig, packModule } from '@c2w/pack';
import { serveBrowserBundle, writeBrowserBundle } from '@c2w/runtime-browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launch } from './chromium.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const root = join(pkg, '..', '..');
const footerWasm = join(root, 'packages', 'pack', 'build', 'fixtures', 'footer.wasm');
const results = join(root, 'test-results', 'runtime-browser');
const ROOTFS_BLOB = 40 * 1024 * 1024;

let work: string;
let browser: Browser;
let rootfs: string;
let rootfsSha: string;

function ensureBuilt(): void {
  const nx = join(root, 'tools', 'nx');
  if (!existsSync(join(pkg, 'dist', 'page', 'index.html'))) {
    execFileSync(nx, ['run', '@c2w/runtime-browser:build'], { cwd: root, stdio: 'inherit' });
  }
  if (!existsSync(footerWasm)) {
    execFileSync(nx, ['run', 'pack:artifact'], { cwd: root, stdio: 'inherit' });
  }
}

const config = encodeRunConfig(
  { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'], Env: ['PATH=/bin'], WorkingDir: '/w' },
  {},
);
const expectedRecords = [
  'entrypoint=/bin/sh',
  'entrypoint=-c',
  'cmd=echo hi',
  'env=PATH=/bin',
  'workdir=/w',
];

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  error: string | null;
  firstOutputMs: number | null;
  downloadMs: number | null;
  compiledMs: number | null;
  downloadedBytes: number;
}

async function runPage(
  url: string,
  shot: string,
): Promise<{ run: Run; progress: [number, number] }> {
  const page = await browser.context.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(
      () => {
        const s = (window as unknown as { c2w?: Run }).c2w;
        return s !== undefined && (s.exitCode !== null || s.error !== null);
      },
      null,
      { timeout: 60_000 },
    );
    const run = await page.evaluate(() => {
      const s = (window as unknown as { c2w: Run }).c2w;
      return {
        stdout: s.stdout,
        stderr: s.stderr,
        exitCode: s.exitCode,
        error: s.error,
        firstOutputMs: s.firstOutputMs,
        downloadMs: s.downloadMs,
        compiledMs: s.compiledMs,
        downloadedBytes: s.downloadedBytes,
      };
    });
    const progress = await page.evaluate(() => {
      const p = document.getElementById('progress') as HTMLProgressElement;
      return [p.value, p.max] as [number, number];
    });
    await page.screenshot({ path: join(results, shot) });
    return { run, progress };
  } finally {
    await page.close();
  }
}

function lines(stdout: string, key: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

beforeAll(async () => {
  ensureBuilt();
  await mkdir(results, { recursive: true });
  work = await mkdtemp(join(tmpdir(), 'c2w-browser-packed-'));
  const tree = join(work, 'tree');
  await mkdir(join(tree, 'etc'), { recursive: true });
  await writeFile(join(tree, 'etc', 'hostname'), 'c2w\n');
  await writeFile(join(tree, 'blob'), randomBytes(ROOTFS_BLOB));
  rootfs = join(work, 'rootfs.erofs');
  execFileSync('mkfs.erofs', ['--quiet', '-T0', rootfs, tree]);
  rootfsSha = createHash('sha256')
    .update(await readFile(rootfs))
    .digest('hex');
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a packed module in the browser', () => {
  it('finds its bundle (rootfs and run config) and gets args and env from the query', async () => {
    const out = join(work, 'out.wasm');
    await packModule({ module: footerWasm, output: out, rootfs: { path: rootfs }, config });
    const size = (await stat(out)).size;
    expect(size).toBeGreaterThan(ROOTFS_BLOB);
    const dir = join(work, 'site');
    await writeBrowserBundle(out, dir, { env: ['FROM_CONFIG=1'] });
    const served = await serveBrowserBundle(dir, { port: 0 });
    try {
      const { run, progress } = await runPage(
        `${served.url}?arg=one&arg=two%20words&env=K=V`,
        'packed.png',
      );
      expect(run.error).toBeNull();
      expect(run.stderr).toBe('');
      expect(run.exitCode).toBe(0);
      expect(lines(run.stdout, 'rootfs_sha256')).toEqual([rootfsSha]);
      expect(lines(run.stdout, 'record')).toEqual(expectedRecords);
      expect(lines(run.stdout, 'arg')).toEqual(['one', 'two words']);
      expect(lines(run.stdout, 'envv')).toEqual(['FROM_CONFIG=1', 'K=V']);
      // The download was counted to the last byte and the bar is full.
      expect(run.downloadedBytes).toBe(size);
      expect(progress).toEqual([size, size]);
      console.log(
        `runtime-browser: packed module of ${(size / 1e6).toFixed(1)} MB: downloaded in ${run.downloadMs?.toFixed(0)} ms, compiled ${run.compiledMs?.toFixed(0)} ms after the download started, first output ${run.firstOutputMs?.toFixed(0)} ms after navigation start`,
      );
    } finally {
      await served.close();
    }
  });

  it('--external-bundle: the rootfs is preopened at /.c2w-bundle', async () => {
    const out = join(work, 'out-ext.wasm');
    const length = (await stat(rootfs)).size;
    await packModule({
      module: footerWasm,
      output: out,
      rootfs: { external: true, length },
      config,
    });
    const served = await serveBrowserBundle(out, { port: 0, externalRootfs: rootfs });
    try {
      const { run } = await runPage(served.url, 'packed-external.png');
      expect(run.error).toBeNull();
      expect(run.exitCode).toBe(0);
      expect(lines(run.stdout, 'flags')).toEqual(['1']);
      expect(lines(run.stdout, 'preopen')).toEqual(['/.c2w-bundle']);
      expect(lines(run.stdout, 'external_rootfs_size')).toEqual([String(length)]);
    } finally {
      await served.close();
    }
  });
});
