import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeFooter,
  decodeRecords,
  encodeRecords,
  encodeRunConfig,
  FOOTER_SIZE,
  PackError,
  packModule,
  readBundle,
  runConfigRecords,
  WASM_PAGE,
} from '@c2w/pack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModule } from './wasm-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'c2w-pack-'));
let n = 0;
function file(bytes: Uint8Array) {
  const p = join(dir, `m${n++}.wasm`);
  writeFileSync(p, bytes);
  return p;
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function instantiate(path: string, imports: WebAssembly.Imports = {}) {
  const { instance } = await WebAssembly.instantiate(readFileSync(path), imports);
  return instance.exports as { memory: WebAssembly.Memory; size: () => number };
}

/** Checks the packed module on V8: footer at the end of the initial memory, bytes where it says. */
function checkMemory(mem: WebAssembly.Memory, rootfs: Uint8Array, config: Uint8Array) {
  const m = new Uint8Array(mem.buffer);
  const footer = decodeFooter(m.subarray(m.length - FOOTER_SIZE));
  expect(footer).not.toBeNull();
  if (!footer) return;
  expect(footer.version).toBe(1);
  expect(footer.rootfsLength).toBe(rootfs.length);
  if (!footer.external)
    expect(sha(m.subarray(footer.rootfsOffset, footer.rootfsOffset + footer.rootfsLength))).toBe(
      sha(rootfs),
    );
  expect([...m.subarray(footer.configOffset, footer.configOffset + footer.configLength)]).toEqual([
    ...config,
  ]);
  return footer;
}

describe('packModule', () => {
  it('adds a data section to a module without one; V8 sees the footer at the end of memory', async () => {
    const mod = file(buildModule({ minPages: 2, custom: true }));
    const rootfs = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
    const config = encodeRunConfig({ Cmd: ['echo', 'hi'], Env: ['A=b'] }, { debug: true });
    const out = join(dir, 'a.wasm');
    const r = await packModule({ module: mod, output: out, rootfs: { bytes: rootfs }, config });
    expect(WebAssembly.validate(readFileSync(out))).toBe(true);
    expect(r.oldPages).toBe(2);
    expect(r.rootfsOffset).toBe(2 * WASM_PAGE);
    expect(r.newPages).toBe(
      Math.ceil((2 * WASM_PAGE + rootfs.length + config.length + 64 + 7) / WASM_PAGE),
    );
    const ex = await instantiate(out);
    expect(ex.size()).toBe(r.newPages);
    checkMemory(ex.memory, rootfs, config);
    const b = await readBundle(out);
    expect(b.records).toEqual([
      ['cmd', 'echo'],
      ['cmd', 'hi'],
      ['env', 'A=b'],
      ['workdir', '/'],
      ['debug', '1'],
    ]);
    expect(sha(b.rootfs ?? new Uint8Array())).toBe(sha(rootfs));
  });

  it('keeps existing segments, updates DataCount and raises the maximum', async () => {
    const mod = file(
      buildModule({
        minPages: 1,
        maxPages: 10,
        segments: [
          { offset: 16, bytes: [1, 2, 3, 4] },
          { offset: 65530, bytes: [9, 9, 9, 9, 9, 9] },
        ],
        passive: [[7, 7]],
        dataCount: true,
        custom: true,
      }),
    );
    const rootfs = new Uint8Array(3 * WASM_PAGE).fill(0xab);
    const config = encodeRecords([['cmd', 'x']]);
    const out = join(dir, 'b.wasm');
    const r = await packModule({
      module: mod,
      output: out,
      rootfs: { path: file(rootfs) },
      config,
    });
    expect(WebAssembly.validate(readFileSync(out))).toBe(true);
    expect(r.newPages).toBe(5);
    expect(r.newMaxPages).toBe(14);
    const ex = await instantiate(out);
    const m = new Uint8Array(ex.memory.buffer);
    expect([...m.subarray(16, 20)]).toEqual([1, 2, 3, 4]);
    expect([...m.subarray(65530, 65536)]).toEqual([9, 9, 9, 9, 9, 9]);
    checkMemory(ex.memory, rootfs, config);
    expect(ex.memory.grow(0)).toBe(5);
    expect(() => ex.memory.grow(10)).toThrow();
    expect((await readBundle(out)).maxPages).toBe(14);
  });

  it('raises an imported memory in the import section', async () => {
    const mod = file(buildModule({ minPages: 1, importMemory: true, dataCount: true }));
    const config = encodeRecords([['workdir', '/w']]);
    const rootfs = new Uint8Array(10).fill(1);
    const out = join(dir, 'c.wasm');
    const r = await packModule({ module: mod, output: out, rootfs: { bytes: rootfs }, config });
    expect(r.newPages).toBe(2);
    const bytes = readFileSync(out);
    const memory = new WebAssembly.Memory({ initial: 1 });
    await expect(WebAssembly.instantiate(bytes, { env: { memory } })).rejects.toThrow();
    const ok = new WebAssembly.Memory({ initial: r.newPages });
    await WebAssembly.instantiate(bytes, { env: { memory: ok } });
    checkMemory(ok, rootfs, config);
  });

  it('external bundle: flag set, rootfs offset 0, nothing but config in memory', async () => {
    const mod = file(buildModule({ minPages: 3 }));
    const config = encodeRecords([['cmd', 'sh']]);
    const out = join(dir, 'd.wasm');
    const r = await packModule({
      module: mod,
      output: out,
      rootfs: { external: true, length: 5 << 30 },
      config,
    });
    expect(r.newPages).toBe(4);
    const ex = await instantiate(out);
    const m = new Uint8Array(ex.memory.buffer);
    const f = decodeFooter(m.subarray(m.length - 64));
    expect(f).toMatchObject({
      external: true,
      flags: 1,
      rootfsOffset: 0,
      rootfsLength: 5 << 30,
      configOffset: 3 * WASM_PAGE,
    });
  });

  it('encodes addresses past 2 GiB as negative i32 offsets', async () => {
    const mod = file(
      buildModule({ minPages: 40000, maxPages: 50000, segments: [{ offset: 0, bytes: [5] }] }),
    );
    const config = encodeRecords([['cmd', 'big']]);
    const out = join(dir, 'e.wasm');
    const r = await packModule({
      module: mod,
      output: out,
      rootfs: { bytes: Uint8Array.of(1, 2, 3) },
      config,
    });
    expect(WebAssembly.validate(readFileSync(out))).toBe(true);
    expect(r.rootfsOffset).toBe(40000 * WASM_PAGE);
    const b = await readBundle(out);
    expect(b.footer?.rootfsOffset).toBe(40000 * WASM_PAGE);
    expect([...(b.rootfs ?? [])]).toEqual([1, 2, 3]);
    expect(b.records).toEqual([['cmd', 'big']]);
  });

  it('refuses images larger than wasm32 memory, pointing to --external-bundle, leaving no output', async () => {
    const mod = file(buildModule({ minPages: 65000 }));
    const out = join(dir, 'toolarge.wasm');
    const before = readdirSync(dir).length;
    const err = await packModule({
      module: mod,
      output: out,
      rootfs: { bytes: new Uint8Array(600 * WASM_PAGE) },
      config: new Uint8Array(),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(PackError);
    expect(err.message).toMatch(/--external-bundle/);
    expect(readdirSync(dir).length).toBe(before);
  });

  it('rejects a file that is not wasm, naming it', async () => {
    const p = join(dir, 'not.wasm');
    writeFileSync(p, 'hello world, not wasm');
    await expect(
      packModule({ module: p, output: join(dir, 'x.wasm'), config: new Uint8Array() }),
    ).rejects.toThrow(`${p}: not a wasm module`);
    await expect(
      packModule({
        module: join(dir, 'missing.wasm'),
        output: join(dir, 'x.wasm'),
        config: new Uint8Array(),
      }),
    ).rejects.toThrow(/missing\.wasm: cannot open/);
  });

  it('a bare module reads back as no bundle', async () => {
    const b = await readBundle(buildModule({ minPages: 1 }));
    expect(b.footer).toBeNull();
  });

  it('round-trips any rootfs and config (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.uint8Array({ maxLength: 70_000 }),
        fc.array(
          fc.tuple(
            fc.constantFrom('cmd', 'env', 'entrypoint', 'user'),
            fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')),
          ),
        ),
        fc.boolean(),
        async (pages, rootfs, recs, withData) => {
          const mod = file(
            buildModule({
              minPages: pages,
              segments: withData ? [{ offset: 0, bytes: [1] }] : [],
              dataCount: withData,
            }),
          );
          const config = encodeRecords(recs);
          const out = join(dir, 'p.wasm');
          await packModule({ module: mod, output: out, rootfs: { bytes: rootfs }, config });
          const ex = await instantiate(out);
          checkMemory(ex.memory, rootfs, config);
          const b = await readBundle(out);
          expect(b.records).toEqual(recs);
          expect(sha(b.rootfs ?? new Uint8Array())).toBe(sha(rootfs));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('run config records', () => {
  it('encodes an OCI run config in contract order', () => {
    const recs = runConfigRecords({
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo $A'],
      Env: ['PATH=/bin', 'A=x=y'],
      WorkingDir: '/srv',
      User: '1000:1000',
    });
    expect(recs).toEqual([
      ['entrypoint', '/bin/sh'],
      ['entrypoint', '-c'],
      ['cmd', 'echo $A'],
      ['env', 'PATH=/bin'],
      ['env', 'A=x=y'],
      ['workdir', '/srv'],
      ['user', '1000:1000'],
    ]);
    expect(decodeRecords(encodeRecords(recs))).toEqual(recs);
    expect(new TextDecoder().decode(encodeRecords([['cmd', 'a']]))).toBe('cmd=a\0');
  });
  it('rejects values with NUL', () => {
    expect(() => encodeRecords([['cmd', 'a\0b']])).toThrow(/NUL/);
  });
});
