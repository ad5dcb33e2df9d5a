// Boots Linux on the wasm32-wasi Bochs build (emulators/bochs/build/wasm/bochs.wasm, nx target
// emulator-bochs:artifact) with the test guest (Debian's x86_64 kernel + a busybox initramfs,
// nx target emulator-bochs:test-guest), feeds a shell script on stdin through the serial
// console, and checks output and exit status on two runtimes.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type Runtime,
  runtimeCommand,
  runtimeMissing,
  runWasm,
} from '../../../test/harness/runtimes.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const wasm = `${root}build/wasm/bochs.wasm`;
const guest = `${root}build/test-guest`;

function bootArgs(): string[] {
  const cmdline = readFileSync(`${guest}/cmdline.txt`, 'utf8').trim();
  return ['--kernel', '/g/vmlinuz', '--initrd', '/g/initramfs.cpio', '--append', cmdline];
}

const script = [
  'uname -m',
  'echo "script: $((6*7))"',
  'for i in 1 2 3; do echo "line$i"; done',
  'exit 7',
  '',
].join('\n');

async function runWithFileStdin(
  runtime: Runtime,
  opts: { args: string[]; dirs: { host: string; guest: string }[] },
): Promise<{ stdout: Buffer; status: number; timedOut: boolean }> {
  const dir = mkdtempSync(`${tmpdir()}/bochs-test-`);
  writeFileSync(`${dir}/script.sh`, script);
  const fd = openSync(`${dir}/script.sh`, 'r');
  const { command, args } = runtimeCommand(runtime, wasm, opts);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [fd, 'pipe', 'pipe'] });
    closeSync(fd);
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.resume();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, 25 * 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), status: code ?? 128, timedOut });
    });
  });
}

describe('bochs wasm', () => {
  it('has its artifacts and licence texts', () => {
    expect(existsSync(wasm), `${wasm}: run tools/nx run emulator-bochs:artifact`).toBe(true);
    expect(existsSync(`${guest}/vmlinuz`)).toBe(true);
    const source = readFileSync(`${root}build/wasm/licenses/bochs-SOURCE.txt`, 'utf8');
    expect(source).toContain(readFileSync(`${root}DEBIAN_VERSION`, 'utf8').trim());
    expect(readFileSync(`${root}build/wasm/licenses/bochs-COPYING`, 'utf8')).toContain('LESSER');
  });

  it('fails with one line naming a missing kernel', async () => {
    const r = await runWasm('wasmtime', wasm, {
      args: ['--kernel', '/g/no-such-kernel'],
      dirs: [{ host: guest, guest: '/g' }],
      timeoutMs: 120_000,
    });
    expect(r.status).toBe(125);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr.toString()).toMatch(/^bochs: cannot open \/g\/no-such-kernel$/m);
  });

  for (const runtime of ['wasmtime', 'node'] as Runtime[]) {
    it.skipIf(runtimeMissing(runtime) !== undefined)(
      `boots Linux and runs a shell script on ${runtime}`,
      async () => {
        const opts = { args: bootArgs(), dirs: [{ host: guest, guest: '/g' }] };
        // Node's WASI cannot poll a pipe on stdin (poll_oneoff never reports it readable), so
        // there the script comes from a file; wasmtime gets it through a pipe.
        const r =
          runtime === 'node'
            ? await runWithFileStdin(runtime, opts)
            : await runWasm(runtime, wasm, { ...opts, stdin: script, timeoutMs: 25 * 60_000 });
        const out = r.stdout.toString();
        expect(r.timedOut).toBe(false);
        expect(out).toContain('c2w-guest: ready');
        expect(out).toMatch(/^x86_64\r?$/m);
        expect(out).toContain('script: 42');
        expect(out).toMatch(/line1\r?\nline2\r?\nline3/);
        expect(out).not.toContain('Bochs x86 Emulator');
        expect(r.status).toBe(7);
      },
      26 * 60_000,
    );
  }
});
