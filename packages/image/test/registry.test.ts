import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FlattenResult,
  flattenImage,
  parseRegistryRef,
  RegistryClient,
  resolveImage,
  resolveRegistry,
} from '@c2w/image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../test/fixtures/images/index.js';
import {
  pushWithSkopeoAsync,
  type RunningRegistry,
  startFaultyProxy,
  startRegistry,
} from '../../../test/fixtures/images/registry.js';
import { diffNorm, normalizeTree } from './helpers.js';

const fx = ensureFixtures();
const work = mkdtempSync(join(tmpdir(), 'c2w-image-reg-'));
const results: FlattenResult[] = [];
const cacheDir = (n: string) => join(work, `cache-${n}`);

async function flat(ref: string, o: Parameters<typeof resolveImage>[1] = {}) {
  const r = await flattenImage(await resolveImage(ref, o));
  results.push(r);
  return r;
}

const layoutTrees = new Map<string, Awaited<ReturnType<typeof normalizeTree>>>();
async function layoutTree(tag: string, platform?: string) {
  const k = `${tag}/${platform}`;
  let t = layoutTrees.get(k);
  if (!t) {
    t = await normalizeTree(
      (await flat(`oci:${fx.layout}:${tag}`, platform ? { platform } : {})).tree,
    );
    layoutTrees.set(k, t);
  }
  return t;
}

afterAll(async () => {
  for (const r of results) await r.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('registry with htpasswd basic auth', () => {
  let reg: RunningRegistry;
  const creds = { username: 'alice', password: 'wonderland' };
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
    await pushWithSkopeoAsync(
      fx.layout,
      'multi',
      `${reg.host}/c2w/busybox:multi`,
      'alice:wonderland',
      true,
    );
    await pushWithSkopeoAsync(
      fx.layout,
      'multilayer',
      `${reg.host}/c2w/multi-layer:latest`,
      'alice:wonderland',
    );
    await pushWithSkopeoAsync(
      fx.layout,
      'multi',
      `${reg.host}/c2w/docker:multi`,
      'alice:wonderland',
      true,
      'v2s2',
    );
    await pushWithSkopeoAsync(
      fx.layout,
      'multilayer',
      `${reg.host}/c2w/docker:ml`,
      'alice:wonderland',
      false,
      'v2s2',
    );
    await pushWithSkopeoAsync(
      fx.layout,
      'multilayer-mixed',
      `${reg.host}/c2w/multi-layer:mixed`,
      'alice:wonderland',
    );
  });
  afterAll(() => reg?.stop());

  it('pulls and flattens the same tree as the OCI layout', async () => {
    const r = await flat(`${reg.host}/c2w/multi-layer`, { auth: creds, cacheDir: cacheDir('a') });
    expect(diffNorm(await normalizeTree(r.tree), await layoutTree('multilayer'))).toEqual([]);
    expect(r.runConfig.user).toBe('1000:1000');
    const m = await flat(`${reg.host}/c2w/multi-layer:mixed`, {
      auth: creds,
      cacheDir: cacheDir('a'),
    });
    expect(diffNorm(await normalizeTree(m.tree), await layoutTree('multilayer'))).toEqual([]);
  });

  it('selects the platform from a multi-arch index; digest references work', async () => {
    const rv = await resolveImage(`${reg.host}/c2w/busybox:multi`, {
      auth: creds,
      platform: 'riscv64',
      cacheDir: cacheDir('a'),
    });
    expect(rv.platform.architecture).toBe('riscv64');
    const r = await flat(`docker://${reg.host}/c2w/busybox@${rv.manifestDigest}`, {
      auth: creds,
      cacheDir: cacheDir('a'),
      platform: 'riscv64',
    });
    expect(diffNorm(await normalizeTree(r.tree), await layoutTree('riscv64', 'riscv64'))).toEqual(
      [],
    );
    expect(r.runConfig.env).toContain('ARCH=riscv64');
  });

  it('Docker schema 2 manifests and manifest lists', async () => {
    const c = new RegistryClient(parseRegistryRef(`${reg.host}/c2w/docker:multi`), {
      credentials: creds,
      cacheDir: cacheDir('a'),
    });
    const top = await c.getManifest('multi');
    expect(top.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    const rv = await flat(`${reg.host}/c2w/docker:multi`, {
      auth: creds,
      platform: 'riscv64',
      cacheDir: cacheDir('a'),
    });
    expect(diffNorm(await normalizeTree(rv.tree), await layoutTree('riscv64', 'riscv64'))).toEqual(
      [],
    );
    const ml = await resolveImage(`${reg.host}/c2w/docker:ml`, {
      auth: creds,
      cacheDir: cacheDir('a'),
    });
    expect(ml.layers[0]?.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    const r = await flattenImage(ml);
    results.push(r);
    expect(diffNorm(await normalizeTree(r.tree), await layoutTree('multilayer'))).toEqual([]);
  });

  it('reads credentials from a Docker config.json', async () => {
    const cfg = join(work, 'docker-config.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        auths: {
          [`http://${reg.host}`]: { auth: Buffer.from('alice:wonderland').toString('base64') },
        },
      }),
    );
    const img = await resolveImage(`${reg.host}/c2w/busybox:multi`, {
      dockerConfig: cfg,
      cacheDir: cacheDir('b'),
    });
    expect(img.platform.architecture).toBe('amd64');
  });

  it('fails with one line without or with wrong credentials', async () => {
    const none = join(work, 'none.json');
    await expect(
      resolveImage(`${reg.host}/c2w/busybox:multi`, { dockerConfig: none }),
    ).rejects.toThrow(
      /^127\.0\.0\.1:\d+\/c2w\/busybox:multi: .*requires authentication \(no credentials\)$/,
    );
    await expect(
      resolveImage(`${reg.host}/c2w/busybox:multi`, {
        auth: { username: 'alice', password: 'nope' },
        dockerConfig: none,
      }),
    ).rejects.toThrow(/authentication failed/);
    await expect(resolveImage(`${reg.host}/c2w/nothing:here`, { auth: creds })).rejects.toThrow(
      /not found|MANIFEST_UNKNOWN|NAME_UNKNOWN/,
    );
  });

  it('caches blobs by digest: a second pull downloads no layer', async () => {
    const dir = cacheDir('c');
    const ref = parseRegistryRef(`${reg.host}/c2w/multi-layer:latest`);
    const c1 = new RegistryClient(ref, { credentials: creds, cacheDir: dir });
    const img1 = await resolveRegistryWith(c1);
    const r1 = await flattenImage(img1);
    await r1.dispose();
    const blobs1 = c1.stats.blobs;
    expect(blobs1).toBeGreaterThanOrEqual(img1.layers.length);
    expect(readdirSync(join(dir, 'sha256')).length).toBeGreaterThanOrEqual(img1.layers.length);
    const c2 = new RegistryClient(ref, { credentials: creds, cacheDir: dir });
    const r2 = await flattenImage(await resolveRegistryWith(c2));
    await r2.dispose();
    expect(c2.stats.cacheHits).toBe(img1.layers.length);
    expect(c2.stats.blobs).toBe(1); // the config only
    // a damaged cache entry is detected and fetched again
    const firstDigest = img1.layers[0]?.digest ?? '';
    const victim = join(dir, 'sha256', firstDigest.slice(7));
    const bytes = readFileSync(victim);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    writeFileSync(victim, bytes);
    const c3 = new RegistryClient(ref, { credentials: creds, cacheDir: dir });
    const r3 = await flattenImage(await resolveRegistryWith(c3));
    await r3.dispose();
    expect(c3.stats.cacheHits).toBe(img1.layers.length - 1);
    expect(c3.stats.blobs).toBe(2);
  });

  it('retries 5xx answers and a connection reset mid-blob', async () => {
    const proxy = await startFaultyProxy(reg.host, {
      fail503: /\/(manifests|blobs)\//,
      resetBlob: true,
    });
    try {
      const r = await flat(`${proxy.host}/c2w/multi-layer:latest`, {
        auth: creds,
        cacheDir: cacheDir('d'),
        backoffMs: 10,
      });
      expect(diffNorm(await normalizeTree(r.tree), await layoutTree('multilayer'))).toEqual([]);
      const blobGets = proxy.seen.filter((s) => /GET .*\/blobs\//.test(s));
      expect(blobGets.length).toBeGreaterThan(new Set(blobGets).size); // some were repeated
    } finally {
      await proxy.stop();
    }
  });
});

async function resolveRegistryWith(c: RegistryClient) {
  const { resolveInStore } = await import('@c2w/image');
  return resolveInStore(c, c.ref.tag ?? 'latest', { os: 'linux', architecture: 'amd64' });
}

describe('plain HTTP only for loopback and --insecure-registry hosts', () => {
  let reg: RunningRegistry;
  const ip = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4')?.address;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'none', bindAll: true });
    await pushWithSkopeoAsync(fx.layout, 'amd64', `${reg.host}/c2w/busybox:1`);
    await pushWithSkopeoAsync(fx.layout, 'multilayer', `${reg.host}/c2w/multi-layer:1`);
  });
  afterAll(() => reg?.stop());

  it.skipIf(!ip)('a non-loopback address needs insecureRegistries', async () => {
    const host = `${ip}:${reg.host.split(':')[1]}`;
    await expect(resolveImage(`${host}/c2w/busybox:1`, { retries: 1 })).rejects.toThrow(
      /cannot reach .* \(a plain-HTTP registry must be listed as insecure\)$/,
    );
    const r = await flat(`${host}/c2w/busybox:1`, {
      insecureRegistries: [host],
      cacheDir: cacheDir('i'),
    });
    expect(diffNorm(await normalizeTree(r.tree), await layoutTree('amd64'))).toEqual([]);
  });

  it('downloads layers in parallel (at most 3 at once)', async () => {
    const proxy = await startFaultyProxy(reg.host, { blobDelayMs: 150 });
    try {
      const r = await flat(`${proxy.host}/c2w/multi-layer:1`, { cacheDir: cacheDir('p') });
      expect(diffNorm(await normalizeTree(r.tree), await layoutTree('multilayer'))).toEqual([]);
      expect(proxy.maxBlobsInFlight).toBeGreaterThanOrEqual(2);
      expect(proxy.maxBlobsInFlight).toBeLessThanOrEqual(3);
    } finally {
      await proxy.stop();
    }
  });

  it('follows blob redirects', async () => {
    const proxy = await startFaultyProxy(reg.host, { redirectBlobs: true, blobDelayMs: 100 });
    try {
      const r = await flat(`${proxy.host}/c2w/busybox:1`, { cacheDir: cacheDir('r') });
      expect(diffNorm(await normalizeTree(r.tree), await layoutTree('amd64'))).toEqual([]);
      expect(proxy.seen.some((s) => s.includes('/_redirected/'))).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});

describe('registry behind token auth', () => {
  let reg: RunningRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'token', publicPrefix: 'public/' });
    await pushWithSkopeoAsync(
      fx.layout,
      'multi',
      `${reg.host}/public/busybox:latest`,
      'alice:wonderland',
      true,
    );
    await pushWithSkopeoAsync(
      fx.layout,
      'multilayer',
      `${reg.host}/private/multi-layer:v1`,
      'alice:wonderland',
    );
  });
  afterAll(() => reg?.stop());

  it('anonymous bearer token for a public repository', async () => {
    const before = reg.tokens.anonymous;
    const r = await flat(`${reg.host}/public/busybox`, {
      cacheDir: cacheDir('t'),
      dockerConfig: join(work, 'none.json'),
    });
    expect(diffNorm(await normalizeTree(r.tree), await layoutTree('amd64'))).toEqual([]);
    expect(reg.tokens.anonymous).toBeGreaterThan(before);
  });

  it('bearer token with credentials for a private repository', async () => {
    const none = join(work, 'none.json');
    await expect(
      resolveImage(`${reg.host}/private/multi-layer:v1`, { dockerConfig: none }),
    ).rejects.toThrow(/authentication required/);
    await expect(
      resolveImage(`${reg.host}/private/multi-layer:v1`, {
        auth: { username: 'alice', password: 'x' },
        dockerConfig: none,
      }),
    ).rejects.toThrow(/token server .* refused \(HTTP 401\)/);
    const r = await flat(`${reg.host}/private/multi-layer:v1`, {
      auth: { [reg.host]: { username: 'alice', password: 'wonderland' } },
      cacheDir: cacheDir('t'),
    });
    expect(diffNorm(await normalizeTree(r.tree), await layoutTree('multilayer'))).toEqual([]);
  });
});

describe('resolveRegistry', () => {
  it('reports an unreachable registry in one line', async () => {
    await expect(
      resolveRegistry(
        parseRegistryRef('127.0.0.1:9/x/y:z'),
        { os: 'linux', architecture: 'amd64' },
        { retries: 2, backoffMs: 5 },
      ),
    ).rejects.toThrow(/^127\.0\.0\.1:9\/x\/y:z: cannot reach 127\.0\.0\.1:9: /);
  });
});
