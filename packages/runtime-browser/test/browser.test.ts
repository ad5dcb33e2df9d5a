// The page in a real browser (Debian's Chromium via playwright-core), running the fixture
// test/fixtures/shell.c (a WASI "shell", built by `tools/nx run @c2w/runtime-browser:artifact`).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  contentType,
  type ServedBundle,
  serveBrowserBundle,
  writeBrowserBundle,
} from '@c2w/runtime-browser';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launch } from './chromium.js';
import { childrenNamed, treeCpuSeconds } from './cpu.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const root = join(pkg, '..', '..');
const fixture = join(pkg, 'build', 'fixtures', 'shell.wasm');
const results = join(root, 'test-results', 'runtime-browser');
const ARCH = 'riscv64-fixture';

interface PageState {
  status: string;
  exitCode: number | null;
  error: string | null;
  stdout: string;
  stderr: string;
  firstOutputMs: number | null;
  dirs: { guestPath: string; files: { path: string; data: ArrayBuffer }[] }[];
}

/** Builds what the tests need through nx when it is missing (CI has built it already). */
function ensureBuilt(): void {
  const nx = join(root, 'tools', 'nx');
  if (!existsSync(join(pkg, 'dist', 'page', 'index.html'))) {
    execFileSync(nx, ['run', '@c2w/runtime-browser:build'], { cwd: root, stdio: 'inherit' });
  }
  if (!existsSync(fixture)) {
    execFileSync(nx, ['run', '@c2w/runtime-browser:artifact'], { cwd: root, stdio: 'inherit' });
  }
}

let browser: Browser;
let served: ServedBundle;
let bundleDir: string;

async function state(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const s = (window as unknown as { c2w: PageState }).c2w;
    return {
      status: s.status,
      exitCode: s.exitCode,
      error: s.error,
      stdout: s.stdout,
      stderr: s.stderr,
      firstOutputMs: s.firstOutputMs,
      dirs: s.dirs,
    };
  });
}

function screen(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as { c2w: { screen(): string } }).c2w.screen());
}

async function waitScreen(page: Page, text: string, timeout = 20_000): Promise<string> {
  await page.waitForFunction(
    (t) => (window as unknown as { c2w: { screen(): string } }).c2w.screen().includes(t),
    text,
    { timeout },
  );
  return screen(page);
}

async function waitExit(page: Page, timeout = 20_000): Promise<PageState> {
  await page.waitForFunction(
    () => {
      const s = (window as unknown as { c2w?: PageState }).c2w;
      return s !== undefined && (s.exitCode !== null || s.error !== null);
    },
    null,
    { timeout },
  );
  return state(page);
}

async function open(query = ''): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`${served.url}${query}`);
  return page;
}

beforeAll(async () => {
  ensureBuilt();
  await mkdir(results, { recursive: true });
  bundleDir = await mkdtemp(join(tmpdir(), 'c2w-browser-'));
  await writeBrowserBundle(fixture, bundleDir, { env: [`UNAME_M=${ARCH}`] });
  await writeFile(join(bundleDir, 'greeting.txt'), 'greetings from the page\n');
  served = await serveBrowserBundle(bundleDir, { port: 0 });
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await served?.close();
  if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
});

describe('writeBrowserBundle', () => {
  it('writes the page, the module, the config and the headers file', async () => {
    const names = await readdir(bundleDir);
    for (const f of [
      'index.html',
      'c2w-page.js',
      'c2w-worker.js',
      'xterm.css',
      'out.wasm',
      'c2w-browser.json',
      '_headers',
      'licenses',
    ]) {
      expect(names).toContain(f);
    }
  });

  it('refuses a file that is not a module, naming it, and writes nothing', async () => {
    const bad = join(bundleDir, 'greeting.txt');
    const out = join(tmpdir(), `c2w-browser-bad-${process.pid}`);
    await expect(writeBrowserBundle(bad, out)).rejects.toThrow(
      `${bad}: not a WebAssembly module (no \\0asm version 1 header)`,
    );
    expect(existsSync(out)).toBe(false);
    await expect(writeBrowserBundle(join(bundleDir, 'missing.wasm'), out)).rejects.toThrow(
      'missing.wasm: no such file',
    );
  });
});

describe('serveBrowserBundle', () => {
  it('serves with COOP/COEP headers and Content-Length, and nothing outside the tree', async () => {
    const res = await fetch(`${served.url}out.wasm`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(res.headers.get('content-type')).toBe('application/wasm');
    const body = new Uint8Array(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    const up = await fetch(`${served.url}..%2f..%2fpackage.json`);
    expect(up.status).toBe(404);
  });

  it('serves a module file directly, with the prebuilt page', async () => {
    const s = await serveBrowserBundle(fixture, { port: 0, args: ['hello'] });
    try {
      const page = await browser.context.newPage();
      await page.goto(s.url);
      const st = await waitExit(page);
      expect(st.error).toBeNull();
      expect(st.exitCode).toBe(0);
      expect(st.stdout).toBe('hello\nhello\n');
      await page.close();
    } finally {
      await s.close();
    }
  });
});

describe('the page', () => {
  it('loads, runs the module in a worker, shows stdout and stderr; an interactive session', async () => {
    const t0 = Date.now();
    const page = await open();
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
    let text = await waitScreen(page, '$ ');
    const first = await state(page);
    const promptMs = Date.now() - t0;
    expect(first.stdout.startsWith('hello\n')).toBe(true);
    expect(first.stderr).toBe('fixture: stderr is here\n');
    expect(text).toContain('hello');
    expect(text).toContain('fixture: stderr is here');
    expect(await page.textContent('#status')).toBe('running');
    // Typing into the terminal: keys go to the worker's blocking stdin.
    await page.click('#terminal');
    await page.keyboard.type('uname -m');
    await page.keyboard.press('Enter');
    text = await waitScreen(page, `$ uname -m\n${ARCH}\n$ `);
    // poll_oneoff with a 250 ms timeout while waiting: the count follows the wall clock.
    await page.keyboard.type('ticks');
    await page.keyboard.press('Enter');
    await waitScreen(page, 'ticks=');
    const before = Number(/ticks=(\d+)/.exec(await screen(page))?.[1]);
    const waitStart = Date.now();
    await page.waitForTimeout(1500);
    await page.keyboard.type('ticks');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () =>
        ((window as unknown as { c2w: PageState }).c2w.stdout.match(/ticks=\d+/g) ?? []).length ===
        2,
    );
    const waited = Date.now() - waitStart;
    const after = Number((await state(page)).stdout.match(/ticks=(\d+)/g)?.[1]?.slice(6));
    const ticks = after - before;
    // At least a few timeouts passed (a loaded CI machine may run late), never more than the
    // wall clock allows (a poll that returned early would count thousands).
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(ticks).toBeLessThanOrEqual(Math.ceil(waited / 250) + 1);
    // A clock-only poll_oneoff (nanosleep) sleeps for real.
    await page.keyboard.type('sleep 300');
    await page.keyboard.press('Enter');
    await waitScreen(page, 'slept=');
    const slept = Number(/slept=(\d+)/.exec(await screen(page))?.[1]);
    expect(slept).toBeGreaterThanOrEqual(300);
    expect(slept).toBeLessThan(5000);
    await page.keyboard.type('nonblock');
    await page.keyboard.press('Enter');
    await waitScreen(page, 'nonblock: EAGAIN');
    await page.keyboard.type('err to stderr');
    await page.keyboard.press('Enter');
    await page.keyboard.type('exit 7');
    await page.keyboard.press('Enter');
    const st = await waitExit(page);
    expect(st.exitCode).toBe(7);
    expect(st.stderr).toBe('fixture: stderr is here\nto stderr\n');
    expect(await page.textContent('#status')).toBe('exited with status 7');
    expect(await page.getAttribute('#status', 'data-exit-code')).toBe('7');
    expect(await screen(page)).toContain('[exited with status 7]');
    await page.screenshot({ path: join(results, 'interactive.png') });
    const timing = {
      firstOutputMs: first.firstOutputMs,
      promptMsFromGoto: promptMs,
      ticks,
      waited,
    };
    await writeFile(join(results, 'timing.json'), `${JSON.stringify(timing, null, 2)}\n`);
    console.log(
      `runtime-browser: first output ${first.firstOutputMs?.toFixed(0)} ms after navigation start; prompt on screen ${promptMs} ms after goto`,
    );
    await page.close();
  });

  it('waits for input without using the CPU (Atomics.wait, no busy loop)', async () => {
    const page = await open();
    await waitScreen(page, '$ ');
    const chromium = childrenNamed('chromium');
    expect(chromium.length).toBeGreaterThan(0);
    // The module now sits in poll_oneoff (stdin + 250 ms timeouts): it should sleep.
    await page.waitForTimeout(1000);
    const c0 = treeCpuSeconds(chromium);
    const t0 = Date.now();
    await page.waitForTimeout(3000);
    const used = treeCpuSeconds(chromium) - c0;
    const seconds = (Date.now() - t0) / 1000;
    console.log(
      `runtime-browser: idle page used ${used.toFixed(2)} CPU s in ${seconds.toFixed(1)} s`,
    );
    // A busy-waiting worker takes a CPU second per second (a third of that on a loaded machine);
    // the idle page takes a few hundredths.
    expect(used).toBeLessThan(0.15 * seconds);
    // And it still answers.
    await page.click('#terminal');
    await page.keyboard.type('hello');
    await page.keyboard.press('Enter');
    await waitScreen(page, '$ hello\nhello\n$ ');
    await page.close();
  });

  it('?pty=cooked: the page echoes and edits lines, stdin is not a tty, ^D ends it', async () => {
    const page = await open('?pty=cooked');
    await waitScreen(page, '$ ');
    await page.click('#terminal');
    await page.keyboard.type('uname -mx');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Enter');
    // (the erased x leaves a blank cell behind the line)
    const text = await waitScreen(page, `\n${ARCH}\n$ `);
    expect(text).toMatch(new RegExp(`\\$ uname -m *\\n${ARCH}\\n`));
    await page.keyboard.press('Control+D');
    const st = await waitExit(page);
    expect(st.exitCode).toBe(0);
    // The module saw the edited line once, without echoing it itself.
    expect(st.stdout).toBe(`hello\n$ ${ARCH}\n$ \n`);
    await page.close();
  });

  it('runs a command from the URL query, with env from the query', async () => {
    const page = await open('?arg=uname&arg=-m&env=UNAME_M=from-query');
    const st = await waitExit(page);
    expect(st.error).toBeNull();
    expect(st.stdout).toBe('hello\nfrom-query\n');
    expect(st.exitCode).toBe(0);
    await page.close();
    const echo = await open(`?arg=echo&arg=${encodeURIComponent('two words')}&arg=x%26y`);
    const e = await waitExit(echo);
    expect(e.stdout).toBe('hello\ntwo words x&y\n');
    await echo.close();
    // Arguments are UTF-8 in the module.
    const utf8 = await open(`?arg=echo&arg=${encodeURIComponent('héllo → 世界')}&arg=ok`);
    expect((await waitExit(utf8)).stdout).toBe('hello\nhéllo → 世界 ok\n');
    await utf8.close();
    const sock = await open('?arg=sock');
    expect((await waitExit(sock)).stdout).toBe('hello\nsock=ENOTSOCK\n');
    await sock.close();
    const size = await open(`?arg=argsize&arg=${encodeURIComponent('ünïcödé')}`);
    expect((await waitExit(size)).stdout).toBe('hello\nargsize=ok\n');
    await size.close();
  });

  it('keeps every byte and the order of stdout and stderr when written a byte at a time', async () => {
    const n = 100_000;
    const t0 = Date.now();
    const page = await open(`?arg=bytes&arg=${n}`);
    const st = await waitExit(page, 60_000);
    const ms = Date.now() - t0;
    expect(st.exitCode).toBe(0);
    let out = '';
    let err = '';
    for (let i = 0; i < n; i++) {
      const ch = i % 65 === 64 ? '\n' : String.fromCharCode(97 + (i % 26));
      if (i % 2) err += ch;
      else out += ch;
    }
    expect(st.stdout).toBe(`hello\n${out}\nend\n`);
    expect(st.stderr).toBe(`fixture: stderr is here\n${err}`);
    console.log(
      `runtime-browser: ${n} one-byte writes alternating stdout/stderr shown in ${ms} ms`,
    );
    await page.close();
  });

  it("reports the module's exit status and its stderr", async () => {
    const page = await open('?arg=nosuchcmd');
    const st = await waitExit(page);
    expect(st.exitCode).toBe(127);
    expect(st.stderr).toContain('sh: nosuchcmd: not found');
    expect(await screen(page)).toContain('sh: nosuchcmd: not found');
    expect(await page.textContent('#status')).toBe('exited with status 127');
    await page.close();
  });

  it('maps an in-browser directory: files put there are read, files written come back', async () => {
    const read = await open(
      '?dir=/mnt/share&file=/mnt/share/sub/in.txt=greeting.txt&arg=cat&arg=/mnt/share/sub/in.txt',
    );
    const r = await waitExit(read);
    expect(r.error).toBeNull();
    expect(r.stdout).toBe('hello\ngreetings from the page\n');
    await read.close();
    const write = await open('?dir=/mnt/share&arg=write&arg=/mnt/share/out.txt&arg=from-guest');
    const w = await waitExit(write);
    expect(w.exitCode).toBe(0);
    const files = await write.evaluate(() =>
      (window as unknown as { c2w: PageState }).c2w.dirs.flatMap((d) =>
        d.files.map((f) => [`${d.guestPath}/${f.path}`, new TextDecoder().decode(f.data)]),
      ),
    );
    expect(files).toEqual([['/mnt/share/out.txt', 'from-guest\n']]);
    expect(await write.textContent('#files')).toContain('/mnt/share/out.txt');
    await write.close();
  });

  it('says what is wrong when served without the isolation headers', async () => {
    // A plain static server over the same bundle: no COOP/COEP, so no SharedArrayBuffer.
    const plain = createServer((req, res) => {
      const name = req.url === '/' ? 'index.html' : (req.url ?? '').slice(1);
      readFile(join(bundleDir, basename(name)))
        .then((data) => res.writeHead(200, { 'Content-Type': contentType(name) }).end(data))
        .catch(() => res.writeHead(404).end());
    });
    await new Promise<void>((ok) => plain.listen(0, '127.0.0.1', ok));
    try {
      const page = await browser.context.newPage();
      await page.goto(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
      await page.waitForSelector('#status[data-state="error"]');
      expect(await page.textContent('#status')).toContain(
        'Cross-Origin-Opener-Policy: same-origin',
      );
      await page.close();
    } finally {
      plain.close();
    }
  });
});
