// Patch 0005 (SSE4.2 string compares without the 16x16 comparison matrix) against Bochs' own
// implementation, which the patched cpu/sse_string.cc keeps under C2W_PCMPSTR_REFERENCE: the
// helper part of the patched file is compiled natively in the build root with the driver
// test/pcmpstr/diff.cc (every imm8, every pair of lengths, random operands) and must agree on
// every case.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
const cache = process.env.C2W_CACHE ?? '/var/cache/c2w';
const inRoot = (...cmd: string[]) =>
  execFileSync(join(repo, 'tools/toolchain/run'), ['--', ...cmd], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });

it('PCMPxSTRx: the direct aggregation equals Bochs compare_strings + aggregate', () => {
  const src = inRoot(join(repo, 'emulators/bochs/scripts/source.sh')).trim();
  const file = readFileSync(join(src, 'cpu/sse_string.cc'), 'utf8');
  expect(file).toContain('c2w_pcmpstr_result');
  // the static helpers: after `#if BX_CPU_LEVEL >= 6`, before the first handler
  const start = file.indexOf('#if BX_CPU_LEVEL >= 6\n');
  const end = file.indexOf('/* 66 0F 3A 60 */');
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  mkdirSync(join(cache, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(cache, 'tmp/bochs-pcmpstr-'));
  try {
    writeFileSync(
      join(dir, 'helpers.inc'),
      file.slice(start + '#if BX_CPU_LEVEL >= 6\n'.length, end),
    );
    inRoot(
      'g++',
      '-O2',
      '-DC2W',
      '-DC2W_PCMPSTR_REFERENCE',
      `-I${dir}`,
      join(here, 'pcmpstr/diff.cc'),
      '-o',
      join(dir, 'diff'),
    );
    const out = inRoot(join(dir, 'diff'), '24');
    expect(out).toMatch(/^ok \d+\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
