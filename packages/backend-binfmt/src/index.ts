/**
 * Backends for foreign arches (arm64, arm, 386, ppc64le, s390x, mips64le): our riscv64 machine
 * runs the image's binaries through Debian's qemu-user, registered with binfmt_misc inside the
 * guest. One pre-booted VM module per arch (emulators/binfmt/build/<arch>/vm.wasm: the riscv64
 * guest with that arch's qemu-user in its initramfs), so one backend object per arch.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, defineBackend, findWorkspaceRoot } from '@c2w/backend';

const here = dirname(fileURLToPath(import.meta.url));
const root = findWorkspaceRoot(here) ?? join(here, '..', '..', '..');
const project = join(root, 'emulators', 'binfmt');
const buildDir = process.env.C2W_BINFMT_BUILD ?? join(project, 'build');

export interface ForeignArch {
  /** OCI architecture name. */
  arch: string;
  /** qemu-user target name (`qemu-<name>`). */
  qemu: string;
}

/** The arches of emulators/binfmt/arches.txt (the build's list). */
export function foreignArches(): ForeignArch[] {
  const table = join(project, 'arches.txt');
  if (!existsSync(table)) return [];
  return readFileSync(table, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [arch = '', qemu = ''] = l.trim().split(/\s+/);
      return { arch, qemu };
    });
}

export const backends: Backend[] = foreignArches().map(({ arch, qemu }) =>
  defineBackend({
    name: `binfmt-${arch}`,
    description: `riscv64 machine + qemu-${qemu} (Debian qemu-user) via binfmt_misc, pre-booted with Wizer`,
    arches: [arch],
    vmModule: () => join(buildDir, arch, 'vm.wasm'),
    licenses: join(buildDir, 'licenses'),
    buildHint: 'tools/nx run emulator-binfmt:artifact',
  }),
);

export default backends;
