// Wizer (npm @bytecodealliance/wizer 10.0.0) snapshots a wasm32-wasi C program whose
// `wizer.initialize` computes a table (and calls WASI); the snapshot runs on every runtime
// without recomputing. These are the flags the pre-booted emulators use.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeMissing, runWasm, selectedRuntimes } from '../harness/runtimes.js';
import { repoRoot, smokeArtifact } from './artifacts.js';

export const WIZER_FLAGS = [
  '--allow-wasi',
  '--wasm-bulk-memory',
  'true',
  '--init-func',
  'wizer.initialize',
];

const tmp = mkdtempSync(join(tmpdir(), 'c2w-wizer-'));
const snapshot = join(tmp, 'snapshot.wizer.wasm');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function primes(limit: number): { count: number; sum: number; last: number } {
  const composite = new Uint8Array(limit + 1);
  let count = 0;
  let sum = 0;
  let last = 0;
  for (let i = 2; i <= limit; i++) {
    if (composite[i]) continue;
    count++;
    sum += i;
    last = i;
    for (let j = i * i; j <= limit; j += i) composite[j] = 1;
  }
  return { count, sum, last };
}
const p = primes(200_000);
const result = `primes below 200000: ${p.count}, sum ${p.sum}, last ${p.last}\n`;

describe('wizer', () => {
  let wizerStderr = '';
  beforeAll(() => {
    const wizer = join(repoRoot, 'node_modules/.bin/wizer');
    const r = spawnSync(wizer, [...WIZER_FLAGS, '-o', snapshot, smokeArtifact('snapshot.wasm')], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`wizer failed (${r.status}): ${r.stderr}`);
    wizerStderr = r.stderr;
  });

  it('runs the initializer (with WASI) at snapshot time', () => {
    expect(wizerStderr).toContain(`snapshot: initialized, ${p.count} primes\n`);
  });

  it.each(selectedRuntimes())('snapshot runs on %s without recomputing', async (runtime) => {
    const missing = runtimeMissing(runtime);
    if (missing) throw new Error(missing);
    const snap = await runWasm(runtime, snapshot, { args: ['a', 'b'], timeoutMs: 60_000 });
    expect(snap.stderr.toString()).toBe('');
    expect(snap.stdout.toString()).toBe(`${result}state: snapshot\nargs: 2\n`);
    expect(snap.status).toBe(0);
    const plain = await runWasm(runtime, smokeArtifact('snapshot.wasm'), { timeoutMs: 60_000 });
    expect(plain.stdout.toString()).toBe(`${result}state: computed at run time\nargs: 0\n`);
    expect(plain.status).toBe(0);
  });
});
