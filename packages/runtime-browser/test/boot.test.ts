// A real Linux guest in the page: the riscv64 machine (emulators/riscv64) packed by the c2w CLI
// with the busybox riscv64 image, two ways:
// - its wasm32-wasi build before the Wizer snapshot (build/wasm/c2w-rv64.wasm): it boots at start
//   from /boot (kernel Image, initramfs, cmdline: kernel/build/riscv64), which the page maps as an
//   in-browser directory;
// - the pre-booted VM module (build/vm.wasm, Wizer's snapshot at the contract's ready point).
// They are built by their nx artifact targets; this test builds them through nx when they are
// missing (CI has built them already). A target that does not produce vm.wasm (yet) shows as a
// skipped case with the reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServedBundle, serveBrowserBundle, writeBrowserBundle } from '@c2w/runtime-browser';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../test/fixtures/images/index.js';
import { type Browser, launch } from './chromium.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const root = join(pkg, '..', '..');
const nx = join(root, 'tools', 'nx');
const bin = join(root, 'packages', 'cli', 'dist', 'bin.js');
const vm = join(root, 'emulators', 'riscv64', 'build', 'wasm', 'c2w-rv64.wasm');
const snapshot = join(root, 'emulators', 'riscv64', 'build', 'vm.wasm');
const kernelDir = join(root, 'kernel', 'build', 'riscv64');
const BOOT = ['Image', 'initramfs.cpio', 'cmdline.txt'];
const results = join(root, 'test-results', 'runtime-browser');
const T = 150_000;

let work: string;
let browser: Browser;
let served: ServedBundle;
let servedSnapshot: ServedBundle | undefined;

function ensure(target: string, files: string[]): void {
  if (files.every((f) => existsSync(f))) return;
  execFileSync(nx, ['run', target], { cwd: root, stdio: 'inherit' });
  for (const f of files) if (!existsSync(f)) throw new Error(`${f}: not built by ${target}`);
}

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  error: string | null;
  firstOutputMs: number | null;
}

async function waitExit(page: Page, timeout: number): Promise<Run> {
  await page.waitForFunction(
    () => {
      const s = (window as unknown as { c2w?: Run }).c2w;
      return s !== undefined && (s.exitCode !== null || s.error !== null);
    },
    null,
    { timeout },
  );
  return page.evaluate(() => {
    const s = (window as unknown as { c2w: Run }).c2w;
    return {
      stdout: s.stdout,
      stderr: s.stderr,
      exitCode: s.exitCode,
      error: s.error,
      firstOutputMs: s.firstOutputMs,
    };
  });
}

const screen = (page: Page) =>
  page.evaluate(() => (window as unknown as { c2w: { screen(): string } }).c2w.screen());

beforeAll(async () => {
  if (!existsSync(join(pkg, 'dist', 'page', 'index.html'))) {
    execFileSync(nx, ['run', '@c2w/runtime-browser:build'], { cwd: root, stdio: 'inherit' });
  }
  ensure('cli:build', [bin]);
  ensure('emulator-riscv64:artifact', [vm]);
  ensure(
    'kernel:artifact-riscv64',
    BOOT.map((f) => join(kernelDir, f)),
  );
  await mkdir(results, { recursive: true });
  work = await mkdtemp(join(tmpdir(), 'c2w-browser-boot-'));
  const layout = ensureFixtures().layout;
  const convert = (vmModule: string, out: string) => {
    const r = spawnSync(
      process.execPath,
      [bin, '-q', '--target-arch', 'riscv64', `oci:${layout}:riscv64`, out],
      { encoding: 'utf8', env: { ...process.env, C2W_RISCV64_VM: vmModule } },
    );
    if (r.status !== 0) throw new Error(`c2w failed (${r.status}): ${r.stderr}`);
  };
  const out = join(work, 'out.wasm');
  convert(vm, out);
  const site = join(work, 'site');
  await writeBrowserBundle(out, site, {
    dirs: ['/boot'],
    files: BOOT.map((f): [string, string] => [`/boot/${f}`, f]),
  });
  for (const f of BOOT) await copyFile(join(kernelDir, f), join(site, f));
  served = await serveBrowserBundle(site, { port: 0 });
  if (existsSync(snapshot)) {
    const outSnap = join(work, 'out-snapshot.wasm');
    convert(snapshot, outSnap);
    servedSnapshot = await serveBrowserBundle(outSnap, { port: 0 });
  }
  browser = await launch();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await served?.close();
  await servedSnapshot?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('Linux on the riscv64 machine, in the page', () => {
  it(
    'runs the command from the URL query: uname -m',
    async () => {
      const page = await browser.context.newPage();
      await page.goto(`${served.url}?arg=uname&arg=-m`);
      const run = await waitExit(page, T);
      expect(run.error).toBeNull();
      expect(run.stdout.replace(/\r/g, '')).toBe('riscv64\n');
      expect(run.exitCode).toBe(0);
      console.log(
        `runtime-browser: Linux riscv64 booted (no snapshot) and ran uname -m: first output ${run.firstOutputMs?.toFixed(0)} ms after navigation start`,
      );
      await page.close();
    },
    T + 10_000,
  );

  it(
    'env from the URL query reaches the container',
    async () => {
      const page = await browser.context.newPage();
      const cmd = encodeURIComponent('echo -n $AAA $BBB');
      await page.goto(`${served.url}?arg=sh&arg=-c&arg=${cmd}&env=AAA=hello&env=BBB=world`);
      const run = await waitExit(page, T);
      expect(run.error).toBeNull();
      expect(run.stdout).toBe('hello world');
      expect(run.exitCode).toBe(0);
      await page.close();
    },
    T + 10_000,
  );

  it(
    'hot guest code runs as compiled pages (the page compiler in the worker)',
    async () => {
      const page = await browser.context.newPage();
      const cmd = encodeURIComponent('i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; echo $i');
      await page.goto(`${served.url}?arg=sh&arg=-c&arg=${cmd}&env=C2W_STATS=1`);
      const run = await waitExit(page, T);
      expect(run.error).toBeNull();
      expect(run.stdout.replace(/\r/g, '')).toBe('3000\n');
      expect(run.exitCode).toBe(0);
      const compiled = /(\d+) pages compiled/.exec(run.stderr);
      expect(compiled, run.stderr).not.toBeNull();
      expect(Number(compiled?.[1])).toBeGreaterThan(0);
      await page.close();
    },
    T + 10_000,
  );

  it(
    'an in-browser directory mapped into the container (virtio-9p): read, write, mkdir, rename',
    async () => {
      const page = await browser.context.newPage();
      const script = [
        'cat /mnt/share/in/greet.txt',
        'echo written > /mnt/share/out.txt',
        'mkdir /mnt/share/d',
        'echo x > /mnt/share/d/y',
        'mv /mnt/share/in/greet.txt /mnt/share/moved.txt',
      ].join('; ');
      await page.goto(
        `${served.url}?dir=/mnt/share&file=/mnt/share/in/greet.txt=cmdline.txt&arg=sh&arg=-c&arg=${encodeURIComponent(script)}`,
      );
      const run = await waitExit(page, T);
      expect(run.error).toBeNull();
      expect(run.stderr).toBe('');
      expect(run.exitCode).toBe(0);
      const cmdline = await readFile(join(kernelDir, 'cmdline.txt'), 'utf8');
      expect(run.stdout.replace(/\r/g, '')).toBe(cmdline);
      const files = await page.evaluate(() =>
        (
          window as unknown as {
            c2w: { dirs: { guestPath: string; files: { path: string; data: ArrayBuffer }[] }[] };
          }
        ).c2w.dirs
          .filter((d) => d.guestPath === '/mnt/share')
          .flatMap((d) => d.files.map((f) => [f.path, new TextDecoder().decode(f.data)]))
          .sort(),
      );
      expect(files).toEqual([
        ['d/y', 'x\n'],
        ['moved.txt', cmdline],
        ['out.txt', 'written\n'],
      ]);
      await page.close();
    },
    T + 10_000,
  );

  it(
    'interactive sh: prompt, typed commands, stderr, exit status',
    async () => {
      const page = await browser.context.newPage();
      const t0 = Date.now();
      await page.goto(`${served.url}?arg=sh`);
      await page.waitForFunction(
        () => /#\s*$/.test((window as unknown as { c2w: { screen(): string } }).c2w.screen()),
        null,
        { timeout: T },
      );
      const promptMs = Date.now() - t0;
      await page.click('#terminal');
      await page.keyboard.type('uname -m');
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        () =>
          (window as unknown as { c2w: { screen(): string } }).c2w.screen().includes('\nriscv64\n'),
        null,
        { timeout: 60_000 },
      );
      await page.keyboard.type('echo from-stderr >&2; exit 3');
      await page.keyboard.press('Enter');
      const run = await waitExit(page, 60_000);
      expect(run.exitCode).toBe(3);
      expect(run.stderr.replace(/\r/g, '')).toContain('from-stderr\n');
      expect(await screen(page)).toContain('[exited with status 3]');
      await page.screenshot({ path: join(results, 'riscv64-linux.png') });
      console.log(`runtime-browser: Linux riscv64 shell prompt ${promptMs} ms after goto`);
      await page.close();
    },
    T + 130_000,
  );
});

describe('Linux on the riscv64 machine from its Wizer snapshot, in the page', () => {
  // Decided when the tests run (beforeAll has built what nx builds).
  it(
    'runs uname -m, then an interactive sh',
    async (ctx) => {
      if (servedSnapshot === undefined) {
        console.warn(`runtime-browser: ${snapshot} not built by emulator-riscv64:artifact`);
        ctx.skip();
        return;
      }
      const page = await browser.context.newPage();
      await page.goto(`${servedSnapshot.url}?arg=uname&arg=-m`);
      const run = await waitExit(page, T);
      expect(run.error).toBeNull();
      expect(run.stdout.replace(/\r/g, '')).toBe('riscv64\n');
      expect(run.exitCode).toBe(0);
      console.log(
        `runtime-browser: Linux riscv64 from the snapshot ran uname -m: first output ${run.firstOutputMs?.toFixed(0)} ms after navigation start`,
      );
      await page.goto(`${servedSnapshot.url}?arg=sh`);
      await page.waitForFunction(
        () => /#\s*$/.test((window as unknown as { c2w: { screen(): string } }).c2w.screen()),
        null,
        { timeout: T },
      );
      await page.click('#terminal');
      await page.keyboard.type('cat /etc/hostname; exit 5');
      await page.keyboard.press('Enter');
      const sh = await waitExit(page, 60_000);
      expect(sh.exitCode).toBe(5);
      expect(sh.stdout.replace(/\r/g, '')).toContain('c2w\n');
      await page.screenshot({ path: join(results, 'riscv64-linux-snapshot.png') });
      await page.close();
    },
    2 * T + 70_000,
  );
});
