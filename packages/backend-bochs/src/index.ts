/**
 * The Bochs backend: Bochs x86_64 (emulators/bochs) built for wasm32-wasi and snapshotted by
 * Wizer at the contract's ready point. Serves amd64 images.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineBackend, findWorkspaceRoot } from '@c2w/backend';

const here = dirname(fileURLToPath(import.meta.url));
const root = findWorkspaceRoot(here) ?? join(here, '..', '..', '..');
const base = join(root, 'emulators', 'bochs', 'build');
/** build/vm.wasm, or build/wasm/vm.wasm (where emulator-bochs:artifact-wasm writes). */
const buildDir = () =>
  process.env.C2W_BOCHS_BUILD ??
  (!existsSync(join(base, 'vm.wasm')) && existsSync(join(base, 'wasm', 'vm.wasm'))
    ? join(base, 'wasm')
    : base);

export const backend = defineBackend({
  name: 'bochs',
  description: 'Bochs x86_64, Linux guest pre-booted with Wizer',
  arches: ['amd64'],
  vmModule: () => process.env.C2W_BOCHS_VM ?? join(buildDir(), 'vm.wasm'),
  licenses: () => {
    const d = join(buildDir(), 'licenses');
    return existsSync(d)
      ? readdirSync(d)
          .sort()
          .map((f) => join(d, f))
      : [];
  },
  buildHint: 'tools/nx run emulator-bochs:artifact',
});

export default backend;
