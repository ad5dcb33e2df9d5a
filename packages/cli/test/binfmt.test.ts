// Every foreign arch of the binfmt backend (emulators/binfmt/arches.txt) runs its Debian
// busybox-static: `uname -m` answers the image's machine and a shell computes, on wasmtime.
// (arm64 passes the whole acceptance suite: acceptance.test.ts.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backends } from '@c2w/backend-binfmt';
import { describe, expect, it } from 'vitest';
import { runtimeMissing, runWasm } from '../../../test/harness/runtimes.js';
import { foreignBusyboxLayout } from './images.js';

const bin = join(fileURLToPath(new URL('../../../', import.meta.url)), 'packages/cli/dist/bin.js');
const UNAME: Record<string, string> = {
  arm: 'armv7l',
  '386': 'i686',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  mips64le: 'mips64',
};

describe
  .skipIf(runtimeMissing('wasmtime') !== undefined)
  .each(backends.filter((b) => b.arches[0] !== 'arm64'))('$name', (b) => {
  const arch = b.arches[0] as string;
  it.skipIf(b.missing() !== undefined)(
    `runs ${arch} busybox: uname -m is ${UNAME[arch]}`,
    async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'c2w-binfmt-')), `${arch}.wasm`);
      const c = spawnSync(
        process.execPath,
        [bin, '-q', '--target-arch', arch, `oci:${foreignBusyboxLayout(arch)}:${arch}`, out],
        { encoding: 'utf8' },
      );
      expect(c.stderr).toBe('');
      expect(c.status).toBe(0);
      const r = await runWasm('wasmtime', out, {
        args: ['sh', '-c', 'uname -m; echo $((6*7)); exit 5'],
        timeoutMs: 170_000,
      });
      expect(r.stdout.toString()).toBe(`${UNAME[arch]}\n42\n`);
      expect(r.status).toBe(5);
    },
    180_000,
  );
});
