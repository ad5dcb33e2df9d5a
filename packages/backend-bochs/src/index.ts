/**
 * The Bochs backend: Bochs x86_64 (emulators/bochs) built for wasm32-wasi with the contract's
 * virtio devices, snapshotted by Wizer at the guest's ready point. Serves amd64 images.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineBackend, findWorkspaceRoot } from '@c2w/backend';

const here = dirname(fileURLToPath(import.meta.url));
const root = findWorkspaceRoot(here) ?? join(here, '..', '..', '..');
const buildDir = process.env.C2W_BOCHS_BUILD ?? join(root, 'emulators', 'bochs', 'build');

export const backend = defineBackend({
  name: 'bochs',
  description: 'Bochs x86_64, Linux guest pre-booted with Wizer',
  arches: ['amd64'],
  vmModule: () => process.env.C2W_BOCHS_VM ?? join(buildDir, 'vm.wasm'),
  licenses: join(buildDir, 'licenses'),
  buildHint: 'tools/nx run emulator-bochs:artifact',
});

export default backend;
