/**
 * Source: a registry speaking the OCI distribution API (Docker Hub, distribution, ...).
 * Bearer token flow from WWW-Authenticate (anonymous or with credentials), basic auth,
 * plain HTTP for loopback and insecure registries, retries with backoff, blobs verified while
 * streaming into a content-addressed cache on disk.
 */
import { createReadStream, mkdirSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HashTap } from '../decompress.js';
import { describeError, ImageError } from '../errors.js';
import { type BlobStore, type Image, resolveInStore, sha256, verifyBytes } from '../image.js';
import { ACCEPT_MANIFESTS, type Descriptor, MAX_MANIFEST_SIZE } from '../manifest.js';
import type { Platform } from '../platform.js';
import { formatRegistryRef, type RegistryRef } from '../ref.js';
import { type Credentials, credentialsFromDockerConfig, parseChallenge } from './auth.js';

export interface RegistryOptions {
  insecureRegistries?: string[];
  cacheDir?: string;
  credentials?: Credentials;
  dockerConfig?: string;
  /** Attempts per request on 5xx, 429 and network errors (default 5). */
  retries?: number;
  /** First backoff delay in ms (doubles each time; default 250). */
  backoffMs?: number;
  /** Parallel blob downloads (default 3). */
  concurrency?: number;
}

export function defaultCacheDir(): string {
  if (process.env.C2W_CACHE) return join(process.env.C2W_CACHE, 'blobs');
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'c2w', 'blobs');
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return (
    h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h.endsWith('.localhost')
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Semaphore {
  private waiters: (() => void)[] = [];
  constructor(private n: number) {}
  async acquire(): Promise<() => void> {
    if (this.n > 0) this.n--;
    else await new Promise<void>((r) => this.waiters.push(r));
    return () => {
      const w = this.waiters.shift();
      if (w) w();
      else this.n++;
    };
  }
}

export class RegistryClient implements BlobStore {
  readonly source: string;
  readonly host: string;
  private scheme: 'https' | 'http' | null = null;
  private readonly mayUseHttp: boolean;
  private authorization: string | undefined;
  private readonly creds: Credentials | undefined;
  private readonly cacheDir: string;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly verified = new Set<string>();
  private readonly sem: Semaphore;
  /** Requests made, by kind (for tests and diagnostics). */
  readonly stats = { manifests: 0, blobs: 0, tokens: 0, retries: 0, cacheHits: 0 };

  constructor(
    readonly ref: RegistryRef,
    opts: RegistryOptions = {},
  ) {
    this.source = formatRegistryRef(ref);
    this.host = ref.domain === 'docker.io' ? 'registry-1.docker.io' : ref.domain;
    const insecure = (opts.insecureRegistries ?? []).map((h) =>
      h.replace(/^https?:\/\//, '').replace(/\/.*$/, ''),
    );
    this.mayUseHttp =
      isLoopback(this.host) || insecure.includes(ref.domain) || insecure.includes(this.host);
    this.creds = opts.credentials ?? credentialsFromDockerConfig(ref.domain, opts.dockerConfig);
    if (this.creds?.token) this.authorization = `Bearer ${this.creds.token}`;
    this.cacheDir = opts.cacheDir ?? defaultCacheDir();
    this.retries = Math.max(1, opts.retries ?? 5);
    this.backoffMs = opts.backoffMs ?? 250;
    this.sem = new Semaphore(Math.max(1, opts.concurrency ?? 3));
  }

  private url(scheme: string, path: string): string {
    return `${scheme}://${this.host}/v2/${path}`;
  }

  /** One HTTP exchange with scheme fallback (https -> http when allowed). */
  private async rawFetch(path: string, init: RequestInit): Promise<Response> {
    const schemes: ('https' | 'http')[] = this.scheme
      ? [this.scheme]
      : this.mayUseHttp
        ? ['https', 'http']
        : ['https'];
    let lastErr: unknown;
    for (const s of schemes) {
      try {
        const res = await fetch(this.url(s, path), init);
        this.scheme = s;
        return res;
      } catch (e) {
        lastErr = e;
      }
    }
    throw lastErr;
  }

  /** A request with retries and the auth dance. */
  private async request(
    path: string,
    headers: Record<string, string>,
    what: string,
  ): Promise<Response> {
    let authTried = false;
    for (let attempt = 1; ; attempt++) {
      const h: Record<string, string> = { ...headers };
      if (this.authorization) h.authorization = this.authorization;
      let res: Response;
      try {
        res = await this.rawFetch(path, { headers: h, redirect: 'follow' });
      } catch (e) {
        if (attempt < this.retries) {
          this.stats.retries++;
          await sleep(this.backoffMs * 2 ** (attempt - 1));
          continue;
        }
        const hint = this.mayUseHttp ? '' : ' (a plain-HTTP registry must be listed as insecure)';
        throw new ImageError(`${what}: cannot reach ${this.host}: ${describeError(e)}${hint}`);
      }
      if (res.status === 401 && !authTried) {
        authTried = true;
        const challenge = res.headers.get('www-authenticate') ?? '';
        await res.body?.cancel();
        await this.authenticate(challenge, what);
        attempt--; // the auth round trip does not count as a retry
        continue;
      }
      if ((res.status >= 500 || res.status === 429) && attempt < this.retries) {
        await res.body?.cancel();
        this.stats.retries++;
        const ra = Number(res.headers.get('retry-after'));
        await sleep(
          Number.isFinite(ra) && ra > 0
            ? Math.min(ra * 1000, 10_000)
            : this.backoffMs * 2 ** (attempt - 1),
        );
        continue;
      }
      if (!res.ok) {
        let detail = '';
        try {
          const body = (await res.text()).slice(0, 2000);
          const j = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
          detail = (j.errors ?? [])
            .map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim())
            .join('; ');
        } catch {
          // not JSON
        }
        const why =
          res.status === 401
            ? this.creds
              ? 'authentication failed'
              : 'authentication required (no credentials)'
            : res.status === 404
              ? 'not found'
              : `HTTP ${res.status}`;
        throw new ImageError(`${what}: ${why}${detail ? ` (${detail})` : ''}`);
      }
      return res;
    }
  }

  private basic(): string | undefined {
    if (!this.creds || this.creds.username === undefined) return undefined;
    return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password ?? ''}`).toString('base64')}`;
  }

  private async authenticate(header: string, what: string): Promise<void> {
    const { scheme, params } = parseChallenge(header);
    if (scheme === 'basic') {
      const b = this.basic();
      if (!b)
        throw new ImageError(`${what}: ${this.host} requires authentication (no credentials)`);
      this.authorization = b;
      return;
    }
    if (scheme !== 'bearer' || !params.realm) {
      throw new ImageError(
        `${what}: unsupported authentication challenge from ${this.host}: ${header.slice(0, 100) || '(none)'}`,
      );
    }
    const u = new URL(params.realm);
    if (params.service) u.searchParams.set('service', params.service);
    const scope = params.scope ?? `repository:${this.ref.repository}:pull`;
    for (const s of scope.split(' ')) u.searchParams.append('scope', s);
    const h: Record<string, string> = {};
    const b = this.basic();
    if (b) h.authorization = b;
    let tokenRes: Response | undefined;
    for (let attempt = 1; attempt <= this.retries; attempt++) {
      try {
        this.stats.tokens++;
        tokenRes = await fetch(u, { headers: h });
        if (tokenRes.status >= 500 && attempt < this.retries) {
          await tokenRes.body?.cancel();
          await sleep(this.backoffMs * 2 ** (attempt - 1));
          continue;
        }
        break;
      } catch (e) {
        if (attempt === this.retries)
          throw new ImageError(`${what}: token server ${u.host} unreachable: ${describeError(e)}`);
        await sleep(this.backoffMs * 2 ** (attempt - 1));
      }
    }
    if (!tokenRes) throw new ImageError(`${what}: token server ${u.host} unreachable`);
    if (!tokenRes.ok) {
      await tokenRes.body?.cancel();
      throw new ImageError(
        `${what}: token server ${u.host} refused (HTTP ${tokenRes.status}${b ? '' : ', no credentials'})`,
      );
    }
    const text = await tokenRes.text();
    let tok: string | undefined;
    try {
      const j = JSON.parse(text) as { token?: string; access_token?: string };
      tok = j.token ?? j.access_token;
    } catch {
      // handled below
    }
    if (!tok || typeof tok !== 'string')
      throw new ImageError(`${what}: token server ${u.host} sent no token`);
    this.authorization = `Bearer ${tok}`;
  }

  /** Reads a response body up to `limit` bytes. */
  private async readLimited(res: Response, limit: number, what: string): Promise<Buffer> {
    const cl = Number(res.headers.get('content-length'));
    if (Number.isFinite(cl) && cl > limit) {
      await res.body?.cancel();
      throw new ImageError(`${what}: ${cl} bytes exceeds the limit of ${limit}`);
    }
    const chunks: Buffer[] = [];
    let n = 0;
    if (res.body) {
      for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
        n += c.length;
        if (n > limit) {
          await res.body.cancel().catch(() => {});
          throw new ImageError(`${what}: more than ${limit} bytes, over the limit`);
        }
        chunks.push(Buffer.from(c));
      }
    }
    return Buffer.concat(chunks);
  }

  async getManifest(
    refOrDigest: string,
    want?: Descriptor,
  ): Promise<{ bytes: Buffer; mediaType?: string; digest: string }> {
    const ref = refOrDigest || this.ref.digest || this.ref.tag || 'latest';
    const what = `${this.host}/${this.ref.repository}${ref.includes(':') ? '@' : ':'}${ref}`;
    this.stats.manifests++;
    const res = await this.request(
      `${this.ref.repository}/manifests/${ref}`,
      { accept: ACCEPT_MANIFESTS },
      what,
    );
    const bytes = await this.readLimited(res, MAX_MANIFEST_SIZE, what);
    let digest: string;
    if (/^sha(256|512):/.test(ref)) {
      verifyBytes(bytes, { digest: ref, size: want?.size }, what);
      digest = ref;
    } else {
      digest = sha256(bytes);
      const claimed = res.headers.get('docker-content-digest');
      if (claimed?.startsWith('sha256:') && claimed !== digest) {
        throw new ImageError(
          `${what}: digest mismatch (registry says ${claimed}, content is ${digest})`,
        );
      }
    }
    const out: { bytes: Buffer; mediaType?: string; digest: string } = { bytes, digest };
    const ct = res.headers.get('content-type');
    if (ct) out.mediaType = ct;
    return out;
  }

  async getBlob(desc: Descriptor, limit: number): Promise<Buffer> {
    const what = `${this.host}/${this.ref.repository}@${desc.digest}`;
    if (desc.size > limit)
      throw new ImageError(`${what}: ${desc.size} bytes exceeds the limit of ${limit}`);
    this.stats.blobs++;
    const res = await this.request(`${this.ref.repository}/blobs/${desc.digest}`, {}, what);
    const bytes = await this.readLimited(res, limit, what);
    verifyBytes(bytes, desc, what);
    return bytes;
  }

  blobPath(digest: string): string {
    const [algo, hex] = digest.split(':') as [string, string];
    return join(this.cacheDir, algo, hex);
  }

  /** Downloads a blob into the cache (once), verifying size and digest while streaming. */
  prefetchBlob(desc: Descriptor, onBytes?: (n: number) => void): Promise<void> {
    let p = this.inflight.get(desc.digest);
    if (!p) {
      p = this.download(desc, onBytes);
      this.inflight.set(desc.digest, p);
      p.catch(() => this.inflight.delete(desc.digest));
    }
    return p.then(() => {});
  }

  private async download(desc: Descriptor, onBytes?: (n: number) => void): Promise<string> {
    const final = this.blobPath(desc.digest);
    const st = await stat(final).catch(() => null);
    if (st?.isFile() && st.size === desc.size) {
      // content-addressed, but a damaged cache must not wedge pulls: check, else fetch again
      const tap = new HashTap(desc.digest.split(':')[0]);
      for await (const _ of tap.tap(createReadStream(final, { highWaterMark: 1024 * 1024 }))) {
        // hashing
      }
      if (tap.digest() === desc.digest) {
        this.verified.add(desc.digest);
        this.stats.cacheHits++;
        onBytes?.(desc.size);
        return final;
      }
      await rm(final, { force: true });
    }
    const release = await this.sem.acquire();
    try {
      mkdirSync(join(final, '..'), { recursive: true });
      const what = `${this.host}/${this.ref.repository}@${desc.digest}`;
      for (let attempt = 1; ; attempt++) {
        const tmp = `${final}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
        try {
          this.stats.blobs++;
          const res = await this.request(`${this.ref.repository}/blobs/${desc.digest}`, {}, what);
          const cl = Number(res.headers.get('content-length'));
          if (Number.isFinite(cl) && res.headers.has('content-length') && cl !== desc.size) {
            await res.body?.cancel();
            throw new ImageError(
              `${what}: size mismatch (expected ${desc.size} bytes, server sends ${cl})`,
            );
          }
          const tap = new HashTap(desc.digest.split(':')[0], desc.size, what);
          const fh = await open(tmp, 'w');
          try {
            const body = res.body
              ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream)
              : Readable.from([]);
            for await (const c of tap.tap(body)) {
              await fh.write(c);
              onBytes?.(c.length);
            }
          } finally {
            await fh.close();
          }
          if (tap.bytes !== desc.size)
            throw new ImageError(
              `${what}: size mismatch (expected ${desc.size} bytes, got ${tap.bytes})`,
            );
          if (tap.digest() !== desc.digest)
            throw new ImageError(`${what}: digest mismatch (got ${tap.digest()})`);
          await rename(tmp, final);
          this.verified.add(desc.digest);
          return final;
        } catch (e) {
          await rm(tmp, { force: true });
          // a connection reset mid-body: start over (verification errors are final)
          if (!(e instanceof ImageError) && attempt < this.retries) {
            this.stats.retries++;
            await sleep(this.backoffMs * 2 ** (attempt - 1));
            continue;
          }
          if (e instanceof ImageError) throw e;
          throw new ImageError(`${what}: download failed: ${describeError(e)}`);
        }
      }
    } finally {
      release();
    }
  }

  isVerified(digest: string): boolean {
    return this.verified.has(digest);
  }

  async openBlob(desc: Descriptor): Promise<Readable> {
    await this.prefetchBlob(desc);
    return createReadStream(this.blobPath(desc.digest), { highWaterMark: 1024 * 1024 });
  }
}

export async function resolveRegistry(
  ref: RegistryRef,
  platform: Platform,
  opts: RegistryOptions = {},
  requirePlatform = false,
): Promise<Image> {
  const client = new RegistryClient(ref, opts);
  return resolveInStore(client, ref.digest ?? ref.tag ?? 'latest', platform, { requirePlatform });
}
