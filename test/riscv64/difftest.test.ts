// Differential test of the riscv64 CPU against qemu-riscv64 (Debian qemu-user-static):
// random RV64IMAFDC instruction streams (RVC, AMOs, LR/SC, F/D with every rounding mode, NaNs,
// subnormals, fflags) compared register by register. Needs `tools/nx run emulator-riscv64:artifact`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const user = `${root}emulators/riscv64/build/native/rv64-user`;
const userWasm = `${root}emulators/riscv64/build/wasm/rv64-user.wasm`;
const nodeWasi = `${root}test/harness/node-wasi.mjs`;

function difftest(seed: number, runner?: string) {
  const r = spawnSync(
    'python3',
    [
      `${root}emulators/riscv64/test/difftest.py`,
      '--seed',
      String(seed),
      '--programs',
      '3',
      '--blocks',
      '200',
      '--insns',
      '40',
      ...(runner ? ['--runner', runner] : []),
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  expect(r.stdout + r.stderr).toContain(': ok');
  expect(r.status).toBe(0);
}

describe('riscv64 CPU vs qemu-riscv64', () => {
  for (const seed of [11, 12]) {
    it(`random instruction streams, seed ${seed}`, () => {
      expect(existsSync(user), `${user} missing: tools/nx run emulator-riscv64:artifact`).toBe(
        true,
      );
      difftest(seed);
    }, 300_000);
  }
});

// The wasm build under Node, where the page compiler (emulators/riscv64/src/jit.c) runs every
// page from its first entry: the same streams through compiled code, leaving it for the
// interpreter at F/D, AMOs, ecalls and TLB misses.
describe('riscv64 page compiler vs qemu-riscv64', () => {
  for (const seed of [11, 13]) {
    it(`random instruction streams, seed ${seed}`, () => {
      expect(
        existsSync(userWasm),
        `${userWasm} missing: tools/nx run emulator-riscv64:artifact`,
      ).toBe(true);
      difftest(seed, `node ${nodeWasi} --dir / ${userWasm} --jit-eager`);
    }, 300_000);
  }
});
