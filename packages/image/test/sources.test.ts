import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FlattenResult,
  flattenImage,
  formatPlatform,
  parsePlatform,
  parseRegistryRef,
  parseSourceRef,
  resolveImage,
  unameMachine,
} from '@c2w/image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../test/fixtures/images/index.js';
import { diffNorm, normalizeTree } from './helpers.js';

const fx = ensureFixtures();
const work = mkdtempSync(join(tmpdir(), 'c2w-image-src-'));
const results: FlattenResult[] = [];
afterAll(async () => {
  for (const r of results) await r.dispose();
  rmSync(work, { recursive: true, force: true });
});
async function flat(ref: string, o: Parameters<typeof resolveImage>[1] = {}) {
  const r = await flattenImage(await resolveImage(ref, o));
  results.push(r);
  return r;
}

describe('references', () => {
  it.each([
    ['alpine', 'docker.io', 'library/alpine', 'latest', undefined],
    ['alpine:3.20', 'docker.io', 'library/alpine', '3.20', undefined],
    [
      `docker.io/library/alpine@sha256:${'a'.repeat(64)}`,
      'docker.io',
      'library/alpine',
      undefined,
      `sha256:${'a'.repeat(64)}`,
    ],
    ['localhost:5000/a/b:tag', 'localhost:5000', 'a/b', 'tag', undefined],
    ['riscv64/alpine', 'docker.io', 'riscv64/alpine', 'latest', undefined],
    ['ghcr.io/o/r', 'ghcr.io', 'o/r', 'latest', undefined],
    ['index.docker.io/library/busybox:1', 'docker.io', 'library/busybox', '1', undefined],
  ])('%s', (s, domain, repository, tag, digest) => {
    const r = parseRegistryRef(s);
    expect(r).toEqual({
      domain,
      repository,
      ...(tag ? { tag } : {}),
      ...(digest ? { digest } : {}),
    });
  });

  it('rejects bad references in one line', () => {
    expect(() => parseRegistryRef('library/Alpine')).toThrow(
      /invalid image reference "library\/Alpine"/,
    );
    expect(() => parseRegistryRef('a/../b')).toThrow(/bad repository name component/);
    expect(() => parseRegistryRef('a@sha256:xyz')).toThrow(/invalid digest/);
    expect(() => parseRegistryRef('')).toThrow(/invalid image reference/);
  });

  it('source prefixes', () => {
    expect(parseSourceRef('oci:/x/y:tag')).toEqual({ kind: 'oci', spec: '/x/y:tag' });
    expect(parseSourceRef('docker-archive:/a.tar:b:c')).toEqual({
      kind: 'docker-archive',
      spec: '/a.tar:b:c',
    });
    expect(parseSourceRef('docker-daemon:alpine')).toEqual({
      kind: 'docker-daemon',
      spec: 'alpine',
    });
    expect(parseSourceRef('docker://alpine').kind).toBe('registry');
  });
});

describe('platforms', () => {
  it.each([
    ['amd64', 'linux/amd64', 'x86_64'],
    ['x86_64', 'linux/amd64', 'x86_64'],
    ['riscv64', 'linux/riscv64', 'riscv64'],
    ['arm64', 'linux/arm64', 'aarch64'],
    ['aarch64', 'linux/arm64', 'aarch64'],
    ['arm', 'linux/arm/v7', 'armv7l'],
    ['arm/v6', 'linux/arm/v6', 'armv6l'],
    ['linux/arm/v7', 'linux/arm/v7', 'armv7l'],
    ['386', 'linux/386', 'i686'],
    ['i386', 'linux/386', 'i686'],
    ['ppc64le', 'linux/ppc64le', 'ppc64le'],
    ['s390x', 'linux/s390x', 's390x'],
    ['mips64le', 'linux/mips64le', 'mips64'],
  ])('%s', (s, want, uname) => {
    const p = parsePlatform(s);
    expect(formatPlatform(p)).toBe(want);
    expect(unameMachine(p)).toBe(uname);
  });
  it('rejects unknown', () => {
    expect(() => parsePlatform('sparc')).toThrow(/unsupported target architecture "sparc"/);
  });
});

describe('docker-archive and docker-daemon', () => {
  let archive: string;
  let layoutTree: Awaited<ReturnType<typeof normalizeTree>>;
  beforeAll(async () => {
    archive = join(work, 'saved.tar');
    // written by skopeo, an independent implementation of `docker save`'s format
    execFileSync('skopeo', [
      'copy',
      '-q',
      `oci:${fx.layout}:multilayer`,
      `docker-archive:${archive}:c2w/multi:v1`,
    ]);
    layoutTree = await normalizeTree((await flat(`oci:${fx.layout}:multilayer`)).tree);
  });

  it('docker-archive:FILE and FILE:ref flatten like the OCI layout', async () => {
    const a = await flat(`docker-archive:${archive}`);
    expect(diffNorm(await normalizeTree(a.tree), layoutTree)).toEqual([]);
    expect(a.runConfig.user).toBe('1000:1000');
    const b = await flat(`docker-archive:${archive}:c2w/multi:v1`);
    expect(diffNorm(await normalizeTree(b.tree), layoutTree)).toEqual([]);
    await expect(resolveImage(`docker-archive:${archive}:other:v2`)).rejects.toThrow(
      /no image tagged other:v2 \(tags: .*c2w\/multi:v1\)/,
    );
    await expect(resolveImage(`docker-archive:${join(work, 'missing.tar')}`)).rejects.toThrow(
      /cannot read/,
    );
  });

  it('docker-daemon: clear error without a socket', async () => {
    await expect(
      resolveImage('docker-daemon:alpine', { dockerSocket: join(work, 'no.sock') }),
    ).rejects.toThrow(/^docker-daemon:alpine: no Docker daemon socket at .*no\.sock/);
  });

  it('docker-daemon: reads the image export of a daemon API socket', async () => {
    // Docker is not installed here: a socket serving the Engine API's GET /images/{name}/get
    const sock = join(work, 'docker.sock');
    const server = createServer((req, res) => {
      if (req.url === `/images/${encodeURIComponent('c2w/multi:v1')}/get`) {
        res.writeHead(200, { 'content-type': 'application/x-tar' });
        createReadStream(archive).pipe(res);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"message":"No such image: nope:latest"}');
      }
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const img = await resolveImage('docker-daemon:c2w/multi:v1', { dockerSocket: sock });
      const r = await flattenImage(img);
      results.push(r);
      expect(diffNorm(await normalizeTree(r.tree), layoutTree)).toEqual([]);
      await (img as { dispose?: () => Promise<void> }).dispose?.();
      await expect(resolveImage('docker-daemon:nope', { dockerSocket: sock })).rejects.toThrow(
        /^docker-daemon:nope: daemon answered HTTP 404: No such image: nope:latest$/,
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
