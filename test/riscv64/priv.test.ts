// Privileged-architecture tests of the riscv64 CPU: traps, delegation, mode switches, MMU
// (Sv39/Sv48, superpages, faults, A/D, SUM, MXR, sfence.vma), FS tracking, interrupts.
// Bare-metal program emulators/riscv64/test/priv/priv.c on `rv64-user --machine`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const build = `${root}emulators/riscv64/build/native`;

it('privileged ISA tests pass', () => {
  expect(existsSync(`${build}/priv.elf`), 'tools/nx run emulator-riscv64:artifact').toBe(true);
  const r = spawnSync(
    `${build}/rv64-user`,
    ['--machine', '--max-insns', '50000000', `${build}/priv.elf`],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(r.stdout).toContain('priv: ok');
  expect(r.stdout).not.toContain('FAIL');
  expect(r.status).toBe(0);
});

// The same tests with every page compiled at its first entry (the wasm build under Node, whose
// runner serves the page compiler): faults, interrupts and rewritten code through compiled pages.
it('privileged ISA tests pass through compiled pages', () => {
  const wasm = `${root}emulators/riscv64/build/wasm/rv64-user.wasm`;
  expect(existsSync(wasm), 'tools/nx run emulator-riscv64:artifact').toBe(true);
  const r = spawnSync(
    'node',
    [
      `${root}test/harness/node-wasi.mjs`,
      '--dir',
      '/',
      wasm,
      '--machine',
      '--max-insns',
      '50000000',
      '--jit-eager',
      `${build}/priv.elf`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(r.stdout).toContain('priv: ok');
  expect(r.stdout).not.toContain('FAIL');
  expect(r.status).toBe(0);
});
