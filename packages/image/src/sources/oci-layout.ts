/** Source: an OCI image layout directory (`oci:DIR[:tag|@digest]`). */
import { open, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { describeError, ImageError } from '../errors.js';
import { type BlobStore, type Image, resolveInStore, verifyBytes } from '../image.js';
import {
  checkDigest,
  type Descriptor,
  MAX_MANIFEST_SIZE,
  parseManifestOrIndex,
} from '../manifest.js';
import type { Platform } from '../platform.js';

export interface OciLayoutRef {
  dir: string;
  tag?: string;
  digest?: string;
}

/** Parses the part after `oci:`: `DIR`, `DIR:tag` or `DIR@sha256:...`. */
export function parseOciLayoutRef(s: string): OciLayoutRef {
  const at = s.lastIndexOf('@');
  if (at > 0 && /^sha(256|512):/.test(s.slice(at + 1))) {
    return { dir: s.slice(0, at), digest: checkDigest(s.slice(at + 1), `oci:${s}`) };
  }
  const colon = s.lastIndexOf(':');
  if (colon > 0 && colon > s.lastIndexOf('/'))
    return { dir: s.slice(0, colon), tag: s.slice(colon + 1) };
  return { dir: s };
}

async function readLimited(path: string, limit: number, what: string): Promise<Buffer> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    throw new ImageError(`${what}: cannot read ${path}: ${describeError(e)}`);
  }
  if (!st.isFile()) throw new ImageError(`${what}: ${path} is not a file`);
  if (st.size > limit)
    throw new ImageError(`${what}: ${path} is ${st.size} bytes, over the limit of ${limit}`);
  return readFile(path);
}

export class OciLayoutStore implements BlobStore {
  readonly source: string;
  private indexJson: Buffer | null = null;

  constructor(readonly dir: string) {
    this.source = `oci:${dir}`;
  }

  blobPath(digest: string): string {
    const [algo, hex] = checkDigest(digest, this.source).split(':') as [string, string];
    return join(this.dir, 'blobs', algo, hex);
  }

  private async index(): Promise<Buffer> {
    if (this.indexJson) return this.indexJson;
    const layout = await readLimited(join(this.dir, 'oci-layout'), 4096, this.source).catch((e) => {
      throw new ImageError(
        `${this.source}: not an OCI layout (${describeError(e).replace(`${this.source}: `, '')})`,
      );
    });
    let ver: unknown;
    try {
      ver = JSON.parse(layout.toString('utf8')).imageLayoutVersion;
    } catch {
      ver = undefined;
    }
    if (typeof ver !== 'string' || !ver.startsWith('1.')) {
      throw new ImageError(`${this.source}: unsupported oci-layout version ${JSON.stringify(ver)}`);
    }
    this.indexJson = await readLimited(
      join(this.dir, 'index.json'),
      MAX_MANIFEST_SIZE,
      this.source,
    );
    return this.indexJson;
  }

  async getManifest(
    ref: string,
    want?: Descriptor,
  ): Promise<{ bytes: Buffer; mediaType?: string; digest: string }> {
    if (/^sha(256|512):/.test(ref)) {
      const bytes = await readLimited(this.blobPath(ref), MAX_MANIFEST_SIZE, this.source);
      verifyBytes(bytes, { digest: ref, size: want?.size }, `${this.source}@${ref}`);
      const r: { bytes: Buffer; mediaType?: string; digest: string } = { bytes, digest: ref };
      if (want) r.mediaType = want.mediaType;
      return r;
    }
    const idxBytes = await this.index();
    const idx = parseManifestOrIndex(idxBytes, undefined, `${this.source} index.json`);
    if (idx.kind !== 'index')
      throw new ImageError(`${this.source}: index.json is not an image index`);
    let chosen: Descriptor | undefined;
    if (ref) {
      const hits = idx.manifests.filter(
        (m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref,
      );
      if (hits.length === 0) {
        const tags = idx.manifests
          .map((m) => m.annotations?.['org.opencontainers.image.ref.name'])
          .filter(Boolean);
        throw new ImageError(
          `${this.source}: no tag ${JSON.stringify(ref)} (tags: ${tags.join(', ') || 'none'})`,
        );
      }
      if (hits.length === 1) chosen = hits[0];
      else
        return {
          bytes: Buffer.from(
            JSON.stringify({ schemaVersion: 2, mediaType: idx.mediaType, manifests: hits }),
          ),
          digest: `index.json:${ref}`,
        };
    } else if (idx.manifests.length === 1) {
      chosen = idx.manifests[0];
    } else if (idx.manifests.some((m) => m.platform)) {
      return { bytes: idxBytes, mediaType: idx.mediaType, digest: 'index.json' };
    } else {
      const tags = idx.manifests
        .map((m) => m.annotations?.['org.opencontainers.image.ref.name'])
        .filter(Boolean);
      throw new ImageError(
        `${this.source}: the layout holds ${idx.manifests.length} images; name one as oci:DIR:tag (tags: ${tags.join(', ') || 'none'})`,
      );
    }
    return this.getManifest((chosen as Descriptor).digest, chosen);
  }

  async getBlob(desc: Descriptor, limit: number): Promise<Buffer> {
    const bytes = await readLimited(
      this.blobPath(desc.digest),
      Math.min(limit, desc.size),
      `${this.source}@${desc.digest}`,
    );
    verifyBytes(bytes, desc, `${this.source}@${desc.digest}`);
    return bytes;
  }

  async openBlob(desc: Descriptor): Promise<Readable> {
    const p = this.blobPath(desc.digest);
    // open first so that a missing blob is a clean error rather than a stream error
    const fh = await open(p, 'r').catch((e) => {
      throw new ImageError(`${this.source}: missing blob ${desc.digest} (${describeError(e)})`);
    });
    return fh.createReadStream({ highWaterMark: 1024 * 1024 });
  }
}

export async function resolveOciLayout(
  spec: string,
  platform: Platform,
  requirePlatform = false,
): Promise<Image> {
  const r = parseOciLayoutRef(spec);
  const store = new OciLayoutStore(resolve(r.dir));
  return resolveInStore(store, r.digest ?? r.tag ?? '', platform, { requirePlatform });
}
