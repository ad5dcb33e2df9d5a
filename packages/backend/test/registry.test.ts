import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BackendError,
  BackendNotBuiltError,
  BackendRegistry,
  defineBackend,
  LICENSES_SECTION,
  normalizeArch,
} from '@c2w/backend';
import { backend as bochs } from '@c2w/backend-bochs';
import { backend as riscv64 } from '@c2w/backend-riscv64';
import { readBundle } from '@c2w/pack';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'c2w-backend-'));
// The smallest module with a memory: (module (memory 1))
const tiny = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 1);

describe('backend registry', () => {
  it('selects by target architecture, in any spelling', () => {
    const reg = new BackendRegistry().register(bochs).register(riscv64);
    expect(reg.forArch('amd64').name).toBe('bochs');
    expect(reg.forArch('x86_64').name).toBe('bochs');
    expect(reg.forArch('riscv64').name).toBe('riscv64');
    expect(normalizeArch('aarch64')).toBe('arm64');
    expect(() => reg.forArch('s390x')).toThrow(
      new BackendError('no backend for target architecture s390x (supported: amd64, riscv64)'),
    );
    expect(() => reg.register(bochs)).toThrow(/registered twice/);
  });

  it('says clearly when a backend artifact is not built', async () => {
    const b = defineBackend({
      name: 'demo',
      description: 'test',
      arches: ['arm64'],
      vmModule: join(dir, 'missing.wasm'),
      buildHint: 'make demo',
    });
    const reg = new BackendRegistry().register(b);
    expect(() => reg.readyForArch('arm64')).toThrow(BackendNotBuiltError);
    expect(b.missing()).toBe(
      `the demo backend's VM module is not built (${join(dir, 'missing.wasm')}); build it with \`make demo\``,
    );
    await expect(
      b.pack({ output: join(dir, 'o.wasm'), rootfs: null, runConfig: {}, arch: 'arm64' }),
    ).rejects.toThrow(BackendNotBuiltError);
  });

  it('packs with the standard packer, adding the backend records', async () => {
    const vm = join(dir, 'vm.wasm');
    writeFileSync(vm, tiny);
    const b = defineBackend({
      name: 'demo',
      description: 'test',
      arches: ['arm64'],
      vmModule: vm,
      licenses: [join(dir, 'COPYING'), join(dir, 'nope')],
      buildHint: 'x',
      extraRecords: (req) => [['binfmt', req.arch]],
    });
    writeFileSync(join(dir, 'COPYING'), 'GPL text\n');
    expect(b.licenseFiles()).toEqual([join(dir, 'COPYING')]);
    const out = join(dir, 'out.wasm');
    await b.pack({
      output: out,
      rootfs: { bytes: Uint8Array.of(1, 2) },
      runConfig: { entrypoint: ['/bin/sh'], cmd: [], env: ['A=1'], workingDir: '/', user: '' },
      arch: 'arm64',
      debug: true,
    });
    const bundle = await readBundle(out);
    expect(bundle.records).toEqual([
      ['entrypoint', '/bin/sh'],
      ['env', 'A=1'],
      ['workdir', '/'],
      ['debug', '1'],
      ['binfmt', 'arm64'],
    ]);
    // The licence texts travel in the module, as a custom section.
    const mod = await WebAssembly.compile(readFileSync(out));
    const [sec] = WebAssembly.Module.customSections(mod, LICENSES_SECTION);
    expect(new TextDecoder().decode(sec)).toBe('==> COPYING <==\nGPL text\n\n');
  });
});
