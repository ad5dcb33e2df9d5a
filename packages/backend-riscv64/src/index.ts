/**
 * The riscv64 backend: our TinyEMU-class riscv64 machine (emulators/riscv64), built for
 * wasm32-wasi and snapshotted by Wizer at the contract's ready point. Serves riscv64 images.
 * (Other arches through qemu-user + binfmt_misc in this guest arrive as their own backend.)
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineBackend, findWorkspaceRoot } from '@c2w/backend';

const here = dirname(fileURLToPath(import.meta.url));
const root = findWorkspaceRoot(here) ?? join(here, '..', '..', '..');
const buildDir = process.env.C2W_RISCV64_BUILD ?? join(root, 'emulators', 'riscv64', 'build');

export const backend = defineBackend({
  name: 'riscv64',
  description: 'riscv64 machine (own TinyEMU-class emulator), Linux guest pre-booted with Wizer',
  arches: ['riscv64'],
  vmModule: () => process.env.C2W_RISCV64_VM ?? join(buildDir, 'vm.wasm'),
  licenses: join(buildDir, 'licenses'),
  buildHint: 'tools/nx run emulator-riscv64:artifact',
});

export default backend;
