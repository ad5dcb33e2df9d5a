import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FlattenResult, flattenImage, resolveImage, treeFromDirectory } from '@c2w/image';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureFixtures, umociUnpack } from '../../../test/fixtures/images/index.js';
import { diffNorm, normalizeTree } from './helpers.js';

const fx = ensureFixtures();
const work = mkdtempSync(join(tmpdir(), 'c2w-image-test-'));
const results: FlattenResult[] = [];
afterAll(async () => {
  for (const r of results) await r.dispose();
  rmSync(work, { recursive: true, force: true });
});

async function flatten(ref: string, platform?: string): Promise<FlattenResult> {
  const img = await resolveImage(ref, platform ? { platform } : {});
  const r = await flattenImage(img);
  results.push(r);
  return r;
}

async function compareWithUmoci(tag: string, flattenTag = tag) {
  const rootfs = umociUnpack(fx.layout, tag, join(work, `bundle-${tag}`));
  const ref = await normalizeTree(treeFromDirectory(rootfs, { xattrs: true }), { mtimes: true });
  const r = await flatten(`oci:${fx.layout}:${flattenTag}`);
  const ours = await normalizeTree(r.tree, { mtimes: true });
  // umoci creates the bundle's rootfs dir itself; compare the root's owner only
  const diffs = diffNorm(ours, ref, (p) => p === '/');
  return { diffs, r, ours };
}

describe('OCI layout source + flatten vs umoci unpack', () => {
  it('busybox amd64', async () => {
    const { diffs, r, ours } = await compareWithUmoci('amd64');
    expect(diffs).toEqual([]);
    expect(ours.get('/bin/busybox')?.type).toBe('file');
    expect(ours.get('/bin/sh')?.link).toBe('busybox');
    expect(r.runConfig.cmd).toEqual(['/bin/sh']);
    expect(r.runConfig.workingDir).toBe('/tmp');
    expect(r.runConfig.env).toContain('ARCH=amd64');
    expect(r.runConfig.exposedPorts).toEqual(['8080/tcp']);
    expect(r.runConfig.stopSignal).toBe('SIGINT');
    expect(r.runConfig.labels['org.c2w.fixture']).toBe('busybox');
    expect(r.runConfig.platform.architecture).toBe('amd64');
  });

  it('multilayer: whiteouts, opaque, hardlinks, devices, xattrs', async () => {
    const { diffs, ours, r } = await compareWithUmoci('multilayer');
    expect(diffs).toEqual([]);
    expect(ours.has('/data/sub/deep')).toBe(false);
    expect(ours.has('/data/fifo')).toBe(false);
    expect(ours.get('/data/file.txt')?.type).toBe('dir');
    expect(ours.get('/data/sticky')?.type).toBe('file');
    expect([...r.tree.keys()].filter((p) => p.startsWith('/etc/'))).toEqual(['/etc/hostname']);
    expect(ours.get('/data/null')?.rdev).toBe('1:3');
    expect(ours.get('/data/loop9')?.type).toBe('block');
    expect(ours.get('/data/suid')?.mode).toBe('4755');
    expect(ours.get('/data/cap')?.xattrs).toMatch(/^security\.capability=01000002/);
    expect(ours.get('/data/hard1')?.names).toBe('/data/hard1|/data/sub/hard2');
    expect(r.runConfig.user).toBe('1000:1000');
    expect(r.runConfig.entrypoint).toEqual(['/bin/sh']);
  });

  it('zstd and uncompressed layers flatten to the same tree', async () => {
    const a = await normalizeTree((await flatten(`oci:${fx.layout}:multilayer`)).tree, {
      mtimes: true,
    });
    const b = await normalizeTree((await flatten(`oci:${fx.layout}:multilayer-mixed`)).tree, {
      mtimes: true,
    });
    expect(diffNorm(a, b)).toEqual([]);
  });

  it('multi-arch index: platform selection', async () => {
    const rv = await flatten(`oci:${fx.layout}:multi`, 'riscv64');
    expect(rv.runConfig.platform.architecture).toBe('riscv64');
    expect(rv.runConfig.env).toContain('ARCH=riscv64');
    const amd = await flatten(`oci:${fx.layout}:multi`, 'x86_64');
    expect(amd.runConfig.platform.architecture).toBe('amd64');
    await expect(resolveImage(`oci:${fx.layout}:multi`, { platform: 'arm64' })).rejects.toThrow(
      /no image for platform linux\/arm64 \(available: linux\/amd64, linux\/riscv64\)/,
    );
    await expect(
      resolveImage(`oci:${fx.layout}:riscv64`, { platform: 'amd64', requirePlatform: true }),
    ).rejects.toThrow(/is linux\/riscv64, not linux\/amd64/);
    await expect(resolveImage(`oci:${fx.layout}`)).rejects.toThrow(
      /holds \d+ images; name one as oci:DIR:tag \(tags: amd64, riscv64, multi, multilayer, multilayer-mixed\)$/,
    );
    await expect(resolveImage(`oci:${fx.layout}:nope`)).rejects.toThrow(/no tag "nope"/);
    // by default a single-platform image is taken as it is: the caller reads Image.platform
    const single = await resolveImage(`oci:${fx.layout}:riscv64`, { platform: 'amd64' });
    expect(single.platform).toEqual({ os: 'linux', architecture: 'riscv64' });
  });

  it('file contents are readable through the spool', async () => {
    const r = await flatten(`oci:${fx.layout}:multilayer`);
    const e = r.tree.get('/data/sub/hard2');
    expect(e?.type).toBe('hardlink');
    const primary = r.tree.get(e?.linkTarget as string);
    const chunks: Buffer[] = [];
    for await (const c of primary?.content?.open() ?? []) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello from a layer\n');
  });
});

describe('progress', () => {
  it('reports per-layer bytes to a Progress and draws on a TTY stream', async () => {
    const { TtyProgress } = await import('@c2w/image');
    let out = '';
    const fakeTty = {
      write: (s: string) => {
        out += s;
        return true;
      },
      isTTY: true,
    } as unknown as NodeJS.WriteStream;
    const tty = new TtyProgress(fakeTty);
    const img = await resolveImage(`oci:${fx.layout}:multilayer`);
    const r = await flattenImage(img, { progress: tty });
    results.push(r);
    const total = img.layers.reduce((a, l) => a + (l.size ?? 0), 0);
    expect(r.stats.bytes).toBe(total);
    expect(out).toMatch(/layer 1 \(sha256:[0-9a-f]{12}\): done /);
    expect(out.match(/done/g)?.length).toBeGreaterThanOrEqual(img.layers.length);
    // quiet by default and when stderr is not a TTY
    const r2 = await flattenImage(img, { progress: true });
    results.push(r2);
  });
});
