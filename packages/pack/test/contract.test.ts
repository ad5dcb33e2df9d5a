// End-to-end check of the packing contract on real WASI runtimes, without the emulators:
// test/fixtures/footer.c (built by `tools/nx run pack:artifact`) reads the footer at
// memory.size * 65536 - 64 at start and prints the rootfs bytes' SHA-256 and the config records.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRunConfig, packModule, readBundle } from '@c2w/pack';
import { describe, expect, it } from 'vitest';
import { installedRuntimes, runWasm } from '../../../test/harness/runtimes.js';

const fixtures = fileURLToPath(new URL('../build/fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'c2w-contract-'));

/** A real EROFS image of a small tree (mkfs.erofs from erofs-utils). */
function erofsImage(name: string): string {
  const tree = join(dir, `tree-${name}`);
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'etc', 'hostname'), 'c2w\n');
  writeFileSync(join(tree, 'blob'), randomBytes(200_000));
  const img = join(dir, `${name}.erofs`);
  execFileSync('mkfs.erofs', ['--quiet', '-T0', img, tree]);
  return img;
}

function parse(stdout: string) {
  const lines = stdout.trim().split('\n');
  const kv = new Map<string, string>();
  const records: string[] = [];
  for (const l of lines) {
    const eq = l.indexOf('=');
    const k = l.slice(0, eq);
    if (k === 'record') records.push(l.slice(eq + 1));
    else kv.set(k, l.slice(eq + 1));
  }
  return { kv, records };
}

const runtimes = installedRuntimes();
const config = encodeRunConfig(
  {
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['echo "a b"'],
    Env: ['PATH=/usr/bin:/bin', 'X=y=z'],
    WorkingDir: '/srv',
    User: 'nobody',
  },
  { debug: true },
);
const expectedRecords = [
  'entrypoint=/bin/sh',
  'entrypoint=-c',
  'cmd=echo "a b"',
  'env=PATH=/usr/bin:/bin',
  'env=X=y=z',
  'workdir=/srv',
  'user=nobody',
  'debug=1',
];

describe.each([
  ['footer.wasm', false],
  ['footer-wizer.wasm', true],
])('packed %s', (name, wizer) => {
  const module = join(fixtures, name);
  it('fixture is built (tools/nx run pack:artifact)', () => {
    expect(existsSync(module), `${module} missing: run tools/nx run pack:artifact`).toBe(true);
  });
  const rootfs = erofsImage(name);
  const out = join(dir, `packed-${name}`);
  const rootfsSha = createHash('sha256').update(readFileSync(rootfs)).digest('hex');

  it.each(runtimes)('%s reads the footer, the rootfs and the records', async (rt) => {
    if (!existsSync(out)) {
      const r = await packModule({ module, output: out, rootfs: { path: rootfs }, config });
      expect((await readBundle(out)).footer?.rootfsOffset).toBe(r.oldPages * 65536);
    }
    const r = await runWasm(rt, out, { timeoutMs: 60_000 });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    const { kv, records } = parse(r.stdout.toString());
    const b = await readBundle(out);
    expect(Number(kv.get('pages'))).toBe(b.pages);
    expect(kv.get('version')).toBe('1');
    expect(kv.get('flags')).toBe('0');
    expect(kv.get('rootfs_sha256')).toBe(rootfsSha);
    expect(records).toEqual(expectedRecords);
    if (wizer) {
      expect(kv.get('wizer')).toBe('ok');
      expect(kv.get('heap_after_bundle')).toBe('ok');
    }
  });

  it.each(runtimes)('%s: an unpacked module has no bundle', async (rt) => {
    const r = await runWasm(rt, module, { timeoutMs: 60_000 });
    expect(r.stdout.toString()).toContain('bundle=none');
    expect(r.status).toBe(3);
  });
});
