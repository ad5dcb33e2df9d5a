/** Validating parsers for OCI / Docker schema 2 manifests, indexes and image configs. */
import { ImageError } from './errors.js';
import type { Platform } from './platform.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const INDEX_TYPES: string[] = [MEDIA.ociIndex, MEDIA.dockerList];
export const MANIFEST_TYPES: string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];
export const ACCEPT_MANIFESTS = [
  MEDIA.ociIndex,
  MEDIA.dockerList,
  MEDIA.ociManifest,
  MEDIA.dockerManifest,
].join(', ');

/** Limits on JSON documents (bytes). */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;
export const MAX_CONFIG_SIZE = 8 * 1024 * 1024;
/** Largest blob accepted (bytes). */
export const MAX_BLOB_SIZE = 64 * 1024 ** 3;
const MAX_LAYERS = 1000;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[]; features?: string[] };
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageIndexDoc {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

export interface ManifestDoc {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** The parts of the OCI image config this package uses. */
export interface ImageConfigFile {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, unknown>;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
  rootfs: { type: string; diff_ids: string[] };
  history?: unknown[];
}

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function checkDigest(d: unknown, what: string): string {
  if (typeof d !== 'string' || !DIGEST_RE.test(d)) {
    throw new ImageError(`${what}: invalid digest ${JSON.stringify(d)?.slice(0, 80)}`);
  }
  return d;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strMap(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new ImageError(`${what}: annotations must be an object`);
  for (const x of Object.values(v))
    if (typeof x !== 'string') throw new ImageError(`${what}: annotation values must be strings`);
  return v as Record<string, string>;
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObj(v)) throw new ImageError(`${what}: descriptor is not an object`);
  if (typeof v.mediaType !== 'string' || v.mediaType.length > 255)
    throw new ImageError(`${what}: descriptor has no mediaType`);
  const digest = checkDigest(v.digest, what);
  const size = v.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ImageError(
      `${what}: descriptor size ${JSON.stringify(size)} is not a non-negative integer`,
    );
  }
  if (size > MAX_BLOB_SIZE)
    throw new ImageError(
      `${what}: descriptor size ${size} exceeds the limit of ${MAX_BLOB_SIZE} bytes`,
    );
  const d: Descriptor = { mediaType: v.mediaType, digest, size };
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isObj(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      throw new ImageError(`${what}: descriptor platform must have os and architecture`);
    }
    d.platform = { os: p.os, architecture: p.architecture };
    if (typeof p.variant === 'string') d.platform.variant = p.variant;
  }
  const ann = strMap(v.annotations, what);
  if (ann) d.annotations = ann;
  if (Array.isArray(v.urls)) d.urls = v.urls.filter((u): u is string => typeof u === 'string');
  return d;
}

export function parseJsonDoc(
  bytes: Uint8Array,
  limit: number,
  what: string,
): Record<string, unknown> {
  if (bytes.length > limit)
    throw new ImageError(`${what}: ${bytes.length} bytes exceeds the limit of ${limit}`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new ImageError(`${what}: invalid JSON (${(e as Error).message})`);
  }
  if (!isObj(v)) throw new ImageError(`${what}: not a JSON object`);
  return v;
}

/** Parses an index or manifest; `mediaType` is the transport's Content-Type when known. */
export function parseManifestOrIndex(
  bytes: Uint8Array,
  mediaType: string | undefined,
  what: string,
): ImageIndexDoc | ManifestDoc {
  const v = parseJsonDoc(bytes, MAX_MANIFEST_SIZE, what);
  let mt = typeof v.mediaType === 'string' ? v.mediaType : undefined;
  const transport = mediaType?.split(';')[0]?.trim();
  if (
    !mt &&
    transport &&
    transport !== 'application/json' &&
    transport !== 'application/octet-stream'
  )
    mt = transport;
  if (v.schemaVersion === 1 || mt === MEDIA.dockerSchema1 || mt === MEDIA.dockerSchema1Signed) {
    throw new ImageError(`${what}: Docker schema 1 manifests are not supported`);
  }
  if (v.schemaVersion !== 2)
    throw new ImageError(`${what}: unsupported schemaVersion ${JSON.stringify(v.schemaVersion)}`);
  if (!mt) mt = Array.isArray(v.manifests) ? MEDIA.ociIndex : MEDIA.ociManifest;
  if (INDEX_TYPES.includes(mt)) {
    if (!Array.isArray(v.manifests)) throw new ImageError(`${what}: index has no manifests array`);
    if (v.manifests.length > 10000) throw new ImageError(`${what}: too many manifests`);
    return {
      kind: 'index',
      mediaType: mt,
      manifests: v.manifests.map((d, i) => parseDescriptor(d, `${what} manifests[${i}]`)),
    };
  }
  if (MANIFEST_TYPES.includes(mt)) {
    if (!Array.isArray(v.layers)) throw new ImageError(`${what}: manifest has no layers array`);
    if (v.layers.length > MAX_LAYERS)
      throw new ImageError(`${what}: ${v.layers.length} layers exceeds the limit of ${MAX_LAYERS}`);
    const doc: ManifestDoc = {
      kind: 'manifest',
      mediaType: mt,
      config: parseDescriptor(v.config, `${what} config`),
      layers: v.layers.map((d, i) => parseDescriptor(d, `${what} layers[${i}]`)),
    };
    const ann = strMap(v.annotations, what);
    if (ann) doc.annotations = ann;
    return doc;
  }
  throw new ImageError(`${what}: unsupported manifest media type ${JSON.stringify(mt)}`);
}

function strArr(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new ImageError(`${what} must be an array of strings`);
  return v as string[];
}

export function parseImageConfig(bytes: Uint8Array, what: string): ImageConfigFile {
  const v = parseJsonDoc(bytes, MAX_CONFIG_SIZE, what);
  if (typeof v.architecture !== 'string' || typeof v.os !== 'string') {
    throw new ImageError(`${what}: image config has no architecture/os`);
  }
  const rootfs = v.rootfs;
  if (!isObj(rootfs) || !Array.isArray(rootfs.diff_ids))
    throw new ImageError(`${what}: image config has no rootfs.diff_ids`);
  const diffIds = rootfs.diff_ids.map((d, i) => checkDigest(d, `${what} rootfs.diff_ids[${i}]`));
  const out: ImageConfigFile = {
    architecture: v.architecture,
    os: v.os,
    rootfs: { type: String(rootfs.type ?? 'layers'), diff_ids: diffIds },
  };
  if (typeof v.variant === 'string') out.variant = v.variant;
  if (typeof v.created === 'string') out.created = v.created;
  const c = v.config;
  if (c !== undefined && c !== null) {
    if (!isObj(c)) throw new ImageError(`${what}: config.config must be an object`);
    const cfg: NonNullable<ImageConfigFile['config']> = {};
    if (typeof c.User === 'string') cfg.User = c.User;
    if (typeof c.WorkingDir === 'string') cfg.WorkingDir = c.WorkingDir;
    if (typeof c.StopSignal === 'string') cfg.StopSignal = c.StopSignal;
    const env = strArr(c.Env, `${what} config.Env`);
    if (env) cfg.Env = env;
    const ep = strArr(c.Entrypoint, `${what} config.Entrypoint`);
    if (ep) cfg.Entrypoint = ep;
    const cmd = strArr(c.Cmd, `${what} config.Cmd`);
    if (cmd) cfg.Cmd = cmd;
    if (isObj(c.ExposedPorts)) cfg.ExposedPorts = c.ExposedPorts;
    if (isObj(c.Volumes)) cfg.Volumes = c.Volumes;
    const labels = strMap(c.Labels, `${what} config.Labels`);
    if (labels) cfg.Labels = labels;
    out.config = cfg;
  }
  return out;
}
