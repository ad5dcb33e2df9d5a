/** The small interfaces every source implements, and the shared manifest-walking logic. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ImageError } from './errors.js';
import {
  type Descriptor,
  type ImageConfigFile,
  type ImageIndexDoc,
  MAX_CONFIG_SIZE,
  MAX_MANIFEST_SIZE,
  type ManifestDoc,
  parseImageConfig,
  parseManifestOrIndex,
} from './manifest.js';
import { formatPlatform, type Platform, platformScore } from './platform.js';

/** One filesystem layer: a (possibly compressed) tar stream. */
export interface Layer {
  /** Digest of the stored blob (compressed bytes), verified while reading when set. */
  digest?: string;
  /** Digest of the uncompressed tar (the config's diff_id), verified while reading when set. */
  diffId?: string;
  /** Size of the stored blob, verified while reading when set. */
  size?: number;
  mediaType: string;
  /** Opens the stored blob bytes (compressed as stored; the flattener detects the format). */
  open(): Promise<Readable>;
  /** Makes the blob local (e.g. downloads it into the cache) ahead of `open()`; optional. */
  prefetch?(onBytes?: (n: number) => void): Promise<void>;
  /** True when the source already verified the stored blob's digest (e.g. while downloading). */
  isVerified?(): boolean;
}

export interface Image {
  /** Human-readable name of where it came from (for messages). */
  source: string;
  /** Digest of the manifest, when the source has one. */
  manifestDigest?: string;
  platform: Platform;
  config: ImageConfigFile;
  /** Bottom to top. */
  layers: Layer[];
}

/** A multi-platform image. */
export interface ImageIndex {
  source: string;
  manifests: Descriptor[];
  /** Loads the image for one entry of `manifests`. */
  image(desc: Descriptor): Promise<Image>;
}

/** Content by digest: what the OCI layout and registry sources have in common. */
export interface BlobStore {
  source: string;
  /** Fetches a manifest/index by digest or tag; returns bytes, media type and digest. */
  getManifest(
    refOrDigest: string,
    want?: Descriptor,
  ): Promise<{ bytes: Buffer; mediaType?: string; digest: string }>;
  /** Reads a small blob whole (configs), verified. */
  getBlob(desc: Descriptor, limit: number): Promise<Buffer>;
  /** Opens a blob as a stream (layers). */
  openBlob(desc: Descriptor): Promise<Readable>;
  prefetchBlob?(desc: Descriptor, onBytes?: (n: number) => void): Promise<void>;
  /** Whether this process verified the blob's digest already. */
  isVerified?(digest: string): boolean;
}

export function sha256(b: Uint8Array): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export function verifyBytes(
  b: Buffer,
  desc: { digest: string; size?: number },
  what: string,
): void {
  if (desc.size !== undefined && b.length !== desc.size) {
    throw new ImageError(`${what}: size mismatch (expected ${desc.size} bytes, got ${b.length})`);
  }
  const algo = desc.digest.split(':')[0] as string;
  const got = `${algo}:${createHash(algo).update(b).digest('hex')}`;
  if (got !== desc.digest)
    throw new ImageError(`${what}: digest mismatch (expected ${desc.digest}, got ${got})`);
}

/** Chooses the best manifest for a platform from an index; throws listing what exists. */
export function selectPlatform(
  index: ImageIndexDoc | { manifests: Descriptor[] },
  want: Platform,
  what: string,
): Descriptor {
  let best: Descriptor | undefined;
  let bestScore = -1;
  for (const m of index.manifests) {
    if (m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
    const s = platformScore(want, m.platform);
    if (s > bestScore) {
      best = m;
      bestScore = s;
    }
  }
  if (!best) {
    const have = index.manifests
      .filter((m) => m.platform)
      .map((m) => formatPlatform(m.platform as Platform))
      .join(', ');
    throw new ImageError(
      `${what}: no image for platform ${formatPlatform(want)} (available: ${have || 'none'})`,
    );
  }
  return best;
}

/** Builds an Image from a manifest document in a blob store. */
export async function imageFromManifest(
  store: BlobStore,
  manifest: ManifestDoc,
  manifestDigest: string,
  want: Platform,
  strictPlatform: boolean,
): Promise<Image> {
  const what = `${store.source}@${manifestDigest}`;
  const cfgBytes = await store.getBlob(manifest.config, MAX_CONFIG_SIZE);
  const config = parseImageConfig(cfgBytes, `${what} config`);
  const platform: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) platform.variant = config.variant;
  if (strictPlatform && platformScore(want, platform) < 0) {
    throw new ImageError(
      `${what}: image is ${formatPlatform(platform)}, not ${formatPlatform(want)}`,
    );
  }
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new ImageError(
      `${what}: manifest has ${manifest.layers.length} layers but config lists ${config.rootfs.diff_ids.length} diff_ids`,
    );
  }
  const layers: Layer[] = manifest.layers.map((d, i) => {
    const l: Layer = {
      digest: d.digest,
      diffId: config.rootfs.diff_ids[i] as string,
      size: d.size,
      mediaType: d.mediaType,
      open: () => store.openBlob(d),
    };
    if (store.prefetchBlob) {
      const pf = store.prefetchBlob.bind(store);
      l.prefetch = (onBytes) => pf(d, onBytes);
    }
    if (store.isVerified) {
      const iv = store.isVerified.bind(store);
      l.isVerified = () => iv(d.digest);
    }
    return l;
  });
  return { source: store.source, manifestDigest, platform, config, layers };
}

/**
 * Resolves a tag or digest in a blob store to one image for `want`: follows an index to the
 * platform's manifest. A single-platform manifest of another platform is returned as it is
 * (`Image.platform` says what it is) unless `requirePlatform` is set, then it is an error.
 */
export async function resolveInStore(
  store: BlobStore,
  ref: string,
  want: Platform,
  opts: { requirePlatform?: boolean } = {},
): Promise<Image> {
  const top = await store.getManifest(ref);
  if (top.bytes.length > MAX_MANIFEST_SIZE)
    throw new ImageError(`${store.source}: manifest too large`);
  const doc = parseManifestOrIndex(top.bytes, top.mediaType, `${store.source} manifest`);
  if (doc.kind === 'manifest')
    return imageFromManifest(store, doc, top.digest, want, opts.requirePlatform === true);
  const chosen = selectPlatform(doc, want, store.source);
  const sub = await store.getManifest(chosen.digest, chosen);
  const subDoc = parseManifestOrIndex(
    sub.bytes,
    sub.mediaType ?? chosen.mediaType,
    `${store.source}@${chosen.digest}`,
  );
  if (subDoc.kind !== 'manifest')
    throw new ImageError(`${store.source}@${chosen.digest}: nested indexes are not supported`);
  return imageFromManifest(store, subDoc, chosen.digest, want, false);
}
