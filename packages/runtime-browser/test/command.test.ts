// `c2w browser` as a command (browserCommand): write mode, serve mode, bad input.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserCommand } from '@c2w/runtime-browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const root = join(pkg, '..', '..');
const fixture = join(pkg, 'build', 'fixtures', 'shell.wasm');
let work: string;

function io(signal?: AbortSignal) {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (s: string) => {
        out.stdout += s;
      },
      stderr: (s: string) => {
        out.stderr += s;
      },
      ...(signal ? { signal } : {}),
    },
  };
}

beforeAll(async () => {
  const nx = join(root, 'tools', 'nx');
  if (!existsSync(join(pkg, 'dist', 'page', 'index.html'))) {
    execFileSync(nx, ['run', '@c2w/runtime-browser:build'], { cwd: root, stdio: 'inherit' });
  }
  if (!existsSync(fixture)) {
    execFileSync(nx, ['run', '@c2w/runtime-browser:artifact'], { cwd: root, stdio: 'inherit' });
  }
  work = await mkdtemp(join(tmpdir(), 'c2w-browser-cmd-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('c2w browser', () => {
  it('MODULE DIR writes the page with default args, env and dirs', async () => {
    const dir = join(work, 'site');
    const { out, io: o } = io();
    const code = await browserCommand(
      [fixture, dir, '--env', 'A=B', '--dir=/mnt/x', '--', 'uname', '-m'],
      o,
    );
    expect(out.stderr).toContain('c2w browser: wrote ');
    expect(code).toBe(0);
    const config = JSON.parse(await readFile(join(dir, 'c2w-browser.json'), 'utf8'));
    expect(config).toEqual({
      module: 'out.wasm',
      args: ['uname', '-m'],
      env: ['A=B'],
      dirs: ['/mnt/x'],
      files: [],
    });
    expect(await readFile(join(dir, 'out.wasm'))).toEqual(await readFile(fixture));
  });

  it('--serve MODULE prints the URL and serves until stopped', async () => {
    const stop = new AbortController();
    const { out, io: o } = io(stop.signal);
    const done = browserCommand(['--serve', '--port', '0', fixture], o);
    for (let i = 0; i < 100 && out.stdout === ''; i++) await new Promise((r) => setTimeout(r, 20));
    const url = out.stdout.trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(await res.text()).toContain('c2w-page.js');
    stop.abort();
    expect(await done).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('is wired into the c2w CLI as `c2w browser`', async () => {
    const bin = join(root, 'packages', 'cli', 'dist', 'bin.js');
    if (!existsSync(bin)) {
      execFileSync(join(root, 'tools', 'nx'), ['run', 'cli:build'], {
        cwd: root,
        stdio: 'inherit',
      });
    }
    const help = spawnSync(process.execPath, [bin, 'browser', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout.startsWith('usage: c2w browser [OPTIONS] MODULE DIR')).toBe(true);
    const dir = join(work, 'via-cli');
    const w = spawnSync(process.execPath, [bin, 'browser', fixture, dir, '--', 'hello'], {
      encoding: 'utf8',
    });
    expect(w.stderr).toContain('c2w browser: wrote');
    expect(w.status).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'c2w-browser.json'), 'utf8')).args).toEqual([
      'hello',
    ]);
    const bad = spawnSync(process.execPath, [bin, 'browser', join(work, 'nope.wasm'), dir], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(`c2w browser: ${join(work, 'nope.wasm')}: no such file\n`);
  });

  it('bad input: one line naming it, status 1 or 2, nothing written', async () => {
    const dir = join(work, 'none');
    let r = io();
    expect(await browserCommand([join(work, 'nope.wasm'), dir], r.io)).toBe(1);
    expect(r.out.stderr).toBe(`c2w browser: ${join(work, 'nope.wasm')}: no such file\n`);
    expect(existsSync(dir)).toBe(false);
    r = io();
    expect(await browserCommand([fixture], r.io)).toBe(2);
    expect(r.out.stderr.split('\n')[0]).toBe('c2w browser: expected MODULE DIR');
    r = io();
    expect(await browserCommand(['--port', 'x', '--serve', fixture], r.io)).toBe(2);
    expect(r.out.stderr).toBe('c2w browser: --port x: not a port number\n');
    r = io();
    expect(await browserCommand(['--bogus', fixture, dir], r.io)).toBe(2);
    expect(r.out.stderr.split('\n')[0]).toBe('c2w browser: unknown option --bogus');
  });
});
