// Modules written by the c2w CLI (packages/cli) from a real image (busybox-static OCI layout,
// test/fixtures/images), run in the browser page:
// - with the packing-contract fixture as the VM module (packages/pack's footer.wasm: prints what
//   the bundle holds), always;
// - with the real backends' pre-booted VM modules (a Linux guest) when they are built by their nx
//   artifact targets; otherwise those cases are reported as skipped, with the build command.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBundle } from '@c2w/pack';
import { type ServedBundle, serveBrowserBundle, writeBrowserBundle } from '@c2w/runtime-browser';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../test/fixtures/images/index.js';
import { foreignBusyboxLayout } from '../../cli/test/images.js';
import { type Browser, launch } from './chromium.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const root = join(pkg, '..', '..');
const nx = join(root, 'tools', 'nx');
const bin = join(root, 'packages', 'cli', 'dist', 'bin.js');
const fixtureVm = join(root, 'packages', 'pack', 'build', 'fixtures', 'footer.wasm');
const results = join(root, 'test-results', 'runtime-browser');

let work: string;
let browser: Browser;
let layout: string;

function build(target: string, file: string): void {
  if (!existsSync(file)) execFileSync(nx, ['run', target], { cwd: root, stdio: 'inherit' });
}

/** `c2w --target-arch ARCH REF OUT` with the given VM modules. */
function c2w(ref: string, arch: string, out: string, env: Record<string, string> = {}): void {
  const r = spawnSync(process.execPath, [bin, '-q', '--target-arch', arch, ref, out], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`c2w ${ref} failed (${r.status}): ${r.stderr}`);
}

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  error: string | null;
  firstOutputMs: number | null;
}

function pageState(page: Page): Promise<Run> {
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

async function waitExit(page: Page, timeout: number): Promise<Run> {
  await page.waitForFunction(
    () => {
      const s = (window as unknown as { c2w?: Run }).c2w;
      return s !== undefined && (s.exitCode !== null || s.error !== null);
    },
    null,
    { timeout },
  );
  return pageState(page);
}

function screen(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as { c2w: { screen(): string } }).c2w.screen());
}

async function serveModule(out: string, name: string): Promise<ServedBundle> {
  const dir = join(work, `site-${name}`);
  await writeBrowserBundle(out, dir, { link: true });
  return serveBrowserBundle(dir, { port: 0 });
}

beforeAll(async () => {
  build('@c2w/runtime-browser:build', join(pkg, 'dist', 'page', 'index.html'));
  build('cli:build', bin);
  build('pack:artifact', fixtureVm);
  await mkdir(results, { recursive: true });
  layout = ensureFixtures().layout;
  work = await mkdtemp(join(tmpdir(), 'c2w-browser-cli-'));
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a module converted by c2w (fixture VM)', () => {
  it('has the image rootfs and config in its bundle, as seen from the page', async () => {
    const out = join(work, 'fixture.wasm');
    c2w(`oci:${layout}:riscv64`, 'riscv64', out, { C2W_RISCV64_VM: fixtureVm });
    const bundle = await readBundle(out);
    expect(bundle.rootfs).toBeTruthy();
    const sha = createHash('sha256')
      .update(bundle.rootfs as Uint8Array)
      .digest('hex');
    const served = await serveModule(out, 'fixture');
    try {
      const page = await browser.context.newPage();
      await page.goto(`${served.url}?arg=uname&arg=-m`);
      const run = await waitExit(page, 60_000);
      expect(run.error).toBeNull();
      expect(run.exitCode).toBe(0);
      const lines = run.stdout.split('\n');
      expect(lines).toContain(`rootfs_sha256=${sha}`);
      expect(lines).toContain('arg=uname');
      expect(lines).toContain('arg=-m');
      await page.close();
    } finally {
      await served.close();
    }
  });
});

// The real backends: a Linux guest booted on the emulator, inside the page's worker. Whether a
// backend's VM module is built is what the CLI itself says (`c2w --version`).
function notBuilt(name: string): string | undefined {
  if (!existsSync(bin)) return `the c2w CLI is not built (${bin}): tools/nx run cli:build`;
  const v = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).stdout;
  const line = v.split('\n').find((l) => l.startsWith(`backend ${name} `));
  if (line?.endsWith(': built')) return undefined;
  return `${line ?? `no backend ${name}`} (its VM module: see its nx artifact target)`;
}

const real: { name: string; tag: string; arch: string; uname: string; image?: () => string }[] = [
  { name: 'riscv64', tag: 'riscv64', arch: 'riscv64', uname: 'riscv64' },
  { name: 'bochs', tag: 'amd64', arch: 'amd64', uname: 'x86_64' },
  {
    name: 'binfmt-arm64',
    tag: 'arm64',
    arch: 'arm64',
    uname: 'aarch64',
    image: () => `oci:${foreignBusyboxLayout('arm64')}:arm64`,
  },
];

describe.each(real)('a real $name module', (c) => {
  const why = notBuilt(c.name);
  if (why !== undefined) {
    // Not silent: the skipped case says why and how to build it.
    console.warn(`runtime-browser: ${why}`);
    it.skip(`runs in the page (skipped: ${why})`, () => {});
  }

  describe.skipIf(why !== undefined)('in the page', () => {
    let served: ServedBundle;
    beforeAll(async () => {
      const out = join(work, `${c.name}.wasm`);
      c2w(c.image ? c.image() : `oci:${layout}:${c.tag}`, c.arch, out);
      served = await serveModule(out, c.name);
    }, 600_000);
    afterAll(async () => {
      await served?.close();
    });

    it('runs a command from the URL query: uname -m', async () => {
      const page = await browser.context.newPage();
      await page.goto(`${served.url}?arg=uname&arg=-m`);
      const run = await waitExit(page, 170_000);
      expect(run.error).toBeNull();
      expect(run.stdout.replace(/\r/g, '')).toBe(`${c.uname}\n`);
      expect(run.exitCode).toBe(0);
      console.log(
        `runtime-browser: ${c.name}: first output ${run.firstOutputMs?.toFixed(0)} ms after navigation start`,
      );
      await page.close();
    }, 180_000);

    it('interactive sh: prompt, typed uname -m, exit status', async () => {
      const page = await browser.context.newPage();
      await page.goto(`${served.url}?arg=sh`);
      await page.waitForFunction(
        () => /#\s*$/.test((window as unknown as { c2w: { screen(): string } }).c2w.screen()),
        null,
        { timeout: 170_000 },
      );
      await page.click('#terminal');
      await page.keyboard.type('uname -m');
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        (u) => (window as unknown as { c2w: { screen(): string } }).c2w.screen().includes(`\n${u}`),
        c.uname,
        { timeout: 60_000 },
      );
      await page.keyboard.type('echo err >&2; exit 3');
      await page.keyboard.press('Enter');
      const run = await waitExit(page, 60_000);
      expect(run.exitCode).toBe(3);
      expect(run.stderr.replace(/\r/g, '')).toContain('err\n');
      expect(await screen(page)).toContain('[exited with status 3]');
      await page.screenshot({ path: join(results, `real-${c.name}.png`) });
      await page.close();
    }, 300_000);
  });
});
