// The same wasm32-wasi program (probe.c, built by the build root's clang-19 + wasi-libc) must
// behave identically on wasmtime, wazero and Node's WASI: args, env, preopened dirs (read and
// write), stdin (whole and streamed), stdout apart from stderr, exact exit statuses.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { writeBigModule } from '../harness/big-module.js';
import {
  RUNTIMES,
  type RunResult,
  type Runtime,
  runtimeMissing,
  runWasm,
  selectedRuntimes,
  spawnWasm,
} from '../harness/runtimes.js';
import { smokeArtifact } from './artifacts.js';

const runtimes = selectedRuntimes();
const tmp = mkdtempSync(join(tmpdir(), 'c2w-smoke-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function need(runtime: Runtime): void {
  const missing = runtimeMissing(runtime);
  if (missing) throw new Error(missing);
}

describe('harness', () => {
  it('knows the three runtimes', () => {
    expect(RUNTIMES).toEqual(['wasmtime', 'wazero', 'node']);
  });
});

const probe = () => smokeArtifact('probe.wasm');

let big: string | undefined;
function bigModule(): string {
  if (!big) {
    big = join(tmp, 'big.wasm');
    writeBigModule(big, 300 << 20, 40, 2); // exits with (40 + 2) & 0x7f
  }
  return big;
}

async function exitWith(runtime: Runtime, code: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmp, `${runtime}-exit-`));
  writeFileSync(join(dir, 'input.txt'), '');
  return runWasm(runtime, probe(), {
    args: ['/d'],
    env: { PROBE_EXIT: String(code) },
    dirs: [{ host: dir, guest: '/d' }],
  });
}

describe.each(runtimes)('probe.wasm on %s', (runtime) => {
  it('passes args and env, reads and writes a preopened dir, echoes stdin, exits 3', async () => {
    need(runtime);
    const dir = mkdtempSync(join(tmp, `${runtime}-`));
    writeFileSync(join(dir, 'input.txt'), 'from the host\n');
    const r = await runWasm(runtime, probe(), {
      args: ['/mnt/data', 'two words', '--not-a-flag', 'ünïcode'],
      env: { PROBE_VAR: 'value with = and spaces', OTHER: 'x' },
      dirs: [{ host: dir, guest: '/mnt/data' }],
      stdin: 'line one\nline two\n',
      timeoutMs: 60_000,
    });
    expect(r.stderr.toString()).toBe('probe: this goes to stderr\n');
    expect(r.stdout.toString()).toBe(
      [
        'argc=4',
        'arg[1]=/mnt/data',
        'arg[2]=two words',
        'arg[3]=--not-a-flag',
        'arg[4]=ünïcode',
        'PROBE_VAR=value with = and spaces',
        'input.txt=from the host\n',
        'stdin:',
        'line one',
        'line two',
        'end of stdin',
        '',
      ].join('\n'),
    );
    expect(r.status).toBe(3);
    expect(r.timedOut).toBe(false);
    expect(readFileSync(join(dir, 'output.txt'), 'utf8')).toBe(
      'written by probe: 14 bytes read, last arg ünïcode\n',
    );
  });

  it.each([0, 1, 7, 125])('propagates exit status %i', async (code) => {
    need(runtime);
    const r = await exitWith(runtime, code);
    expect(r.stderr.toString()).toBe('probe: this goes to stderr\n');
    expect(r.status).toBe(code);
  });

  it('exit status 255: exact on wazero and node, refused by wasmtime WASI', async () => {
    need(runtime);
    const r = await exitWith(runtime, 255);
    if (runtime === 'wasmtime') {
      // wasmtime's proc_exit only accepts [0, 126): like its CLI, the runner fails with 1.
      expect(r.stderr.toString()).toContain('invalid exit status');
      expect(r.status).toBe(1);
    } else {
      expect(r.stderr.toString()).toBe('probe: this goes to stderr\n');
      expect(r.status).toBe(255);
    }
  });

  it('fails on a trap, after flushing what was written', async () => {
    need(runtime);
    const r = await runWasm(runtime, probe(), { args: ['--trap'] });
    expect(r.stdout.toString()).toBe('trapping\n');
    expect(r.stderr.toString()).toMatch(/unreachable/i);
    expect(r.status).toBe(runtime === 'wazero' ? 1 : 134);
  });

  it('fails with the file name when the preopen is missing', async () => {
    need(runtime);
    const r = await runWasm(runtime, probe(), { args: ['/nowhere'] });
    expect(r.status).toBe(4);
    expect(r.stderr.toString()).toMatch(/^\/nowhere\/input.txt: .+\n$/);
    expect(r.stdout.toString()).toBe('argc=1\narg[1]=/nowhere\nPROBE_VAR=(unset)\n');
  });

  it('streams stdin: each line is answered before the next is sent', async () => {
    need(runtime);
    const child = spawnWasm(runtime, probe(), { args: ['--interactive'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    let exited = false;
    void closed.then(() => {
      exited = true;
    });
    const waitFor = async (text: string) => {
      while (!out.includes(text)) {
        if (exited) throw new Error(`exited before '${text}': ${out}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    for (const word of ['alpha', 'beta', 'gamma']) {
      child.stdin.write(`${word}\n`);
      await waitFor(`got: ${word}\n`);
    }
    child.stdin.write('quit\n');
    expect(await closed).toBe(0);
    expect(out).toBe('got: alpha\ngot: beta\ngot: gamma\nbye\n');
  });

  it('echoes 8 MiB of binary stdin to stdout without loss', async () => {
    need(runtime);
    const dir = mkdtempSync(join(tmp, `${runtime}-bulk-`));
    writeFileSync(join(dir, 'input.txt'), 'x');
    const data = Buffer.alloc(8 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) >>> 5;
    const r = await runWasm(runtime, probe(), {
      args: ['/d'],
      dirs: [{ host: dir, guest: '/d' }],
      stdin: data,
      timeoutMs: 60_000,
    });
    expect(r.status).toBe(3);
    const start = r.stdout.indexOf('stdin:\n') + 'stdin:\n'.length;
    const echoed = r.stdout.subarray(start, r.stdout.length - 'end of stdin\n'.length);
    expect(echoed.equals(data)).toBe(true);
  });

  it('pipes a stream into stdin and kills on timeout', async () => {
    need(runtime);
    const input = new PassThrough();
    input.write('first\n');
    const r = await runWasm(runtime, probe(), {
      args: ['--interactive'],
      stdin: input, // never ended: the module waits for more until the timeout kills it
      timeoutMs: 6_000, // long enough for the first answer on a loaded machine
    });
    expect(r.timedOut).toBe(true);
    expect(r.status).toBe(128 + 9);
    expect(r.stdout.toString()).toBe('got: first\n');
  });

  it('runs a module that grows its memory to 600 MiB', async () => {
    need(runtime);
    const mb = 600;
    let sum = 0;
    for (let i = 0; i < mb * 256; i++) sum += i & 0xff;
    const r = await runWasm(runtime, probe(), { args: ['--alloc', String(mb)], timeoutMs: 60_000 });
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString()).toBe(`allocated ${mb} MiB, checksum ${sum}\n`);
    expect(r.status).toBe(0);
  });

  it('runs a 300 MiB module (one data segment, memory sized up front)', async () => {
    need(runtime);
    const r = await runWasm(runtime, bigModule(), { timeoutMs: 110_000 });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(42);
  });

  it('reports a module that does not exist, naming it', async () => {
    need(runtime);
    const r = await runWasm(runtime, join(tmp, 'missing.wasm'));
    expect(r.status).not.toBe(0);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr.toString()).toContain('missing.wasm');
  });
});

describe('probe.wasm', () => {
  it('gives identical results on every runtime', async () => {
    const results: Record<string, RunResult & { written: string }> = {};
    for (const runtime of runtimes) {
      need(runtime);
      const dir = mkdtempSync(join(tmp, `same-${runtime}-`));
      writeFileSync(join(dir, 'input.txt'), 'same input');
      const r = await runWasm(runtime, smokeArtifact('probe.wasm'), {
        args: ['/x', 'a', 'b'],
        env: { PROBE_VAR: 'v' },
        dirs: [{ host: dir, guest: '/x' }],
        stdin: Buffer.from('bytes\x00\x01\xff\n'),
      });
      results[runtime] = { ...r, written: readFileSync(join(dir, 'output.txt'), 'utf8') };
    }
    const [first, ...rest] = Object.values(results);
    expect(first?.status).toBe(3);
    expect(first?.stdout.includes(Buffer.from('bytes\x00\x01\xff\n'))).toBe(true);
    for (const r of rest) expect(r).toEqual(first);
  });
});
