/** resolveImage(ref) -> Image, dispatching on the source kind. */
import type { Image } from './image.js';
import { DEFAULT_PLATFORM, type Platform, parsePlatform } from './platform.js';
import type { Progress } from './progress.js';
import { parseSourceRef } from './ref.js';
import { type Credentials, normalizeKey } from './sources/auth.js';
import { resolveDockerArchive } from './sources/docker-archive.js';
import { resolveDockerDaemon } from './sources/docker-daemon.js';
import { resolveOciLayout } from './sources/oci-layout.js';
import { type RegistryOptions, resolveRegistry } from './sources/registry.js';

export type { Credentials };

export interface ResolveOptions {
  /** Platform object or a `--target-arch` string; default linux/amd64. */
  platform?: Platform | string;
  /**
   * A single-platform image of another platform than `platform` is an error (default: it is
   * returned as it is and `Image.platform` says what it is; indexes always select `platform`).
   */
  requirePlatform?: boolean;
  /** Accepted for callers that pass one; download progress is reported by flattenImage. */
  progress?: Progress;
  /** Registry hosts (host[:port]) that may be reached over plain HTTP. Loopback always may. */
  insecureRegistries?: string[];
  /** Blob cache directory (default $C2W_CACHE/blobs, else ~/.cache/c2w/blobs). */
  cacheDir?: string;
  /** Credentials for the registry of `ref`, or per registry host. Default: Docker's config.json. */
  auth?: Credentials | Record<string, Credentials>;
  /** Path of a Docker config.json (default $DOCKER_CONFIG/config.json or ~/.docker/config.json). */
  dockerConfig?: string;
  /** Docker daemon socket (default from DOCKER_HOST or /var/run/docker.sock). */
  dockerSocket?: string;
  /** Registry request attempts on 5xx/429/network errors (default 5) and first backoff (ms). */
  retries?: number;
  backoffMs?: number;
}

export function platformOf(p: Platform | string | undefined): Platform {
  if (p === undefined) return { ...DEFAULT_PLATFORM };
  return typeof p === 'string' ? parsePlatform(p) : p;
}

function isCredentials(a: unknown): a is Credentials {
  return (
    typeof a === 'object' && a !== null && ('username' in a || 'password' in a || 'token' in a)
  );
}

/**
 * Resolves a reference to one image for the platform. References: `alpine`, `alpine:3.20`,
 * `docker.io/library/alpine@sha256:...`, `localhost:5000/a/b:tag`, `docker://...`,
 * `oci:DIR[:tag|@digest]`, `docker-archive:FILE.tar[:ref|@N]`, `docker-daemon:REF`.
 */
export async function resolveImage(ref: string, opts: ResolveOptions = {}): Promise<Image> {
  const platform = platformOf(opts.platform);
  const src = parseSourceRef(ref);
  switch (src.kind) {
    case 'oci':
      return resolveOciLayout(src.spec, platform, opts.requirePlatform);
    case 'docker-archive':
      return resolveDockerArchive(src.spec, platform, undefined, opts.requirePlatform);
    case 'docker-daemon': {
      const o: { socket?: string; requirePlatform?: boolean } = {};
      if (opts.requirePlatform) o.requirePlatform = true;
      if (opts.dockerSocket) o.socket = opts.dockerSocket;
      return resolveDockerDaemon(src.spec, platform, o);
    }
    case 'registry': {
      const ro: RegistryOptions = {};
      if (opts.insecureRegistries) ro.insecureRegistries = opts.insecureRegistries;
      if (opts.cacheDir) ro.cacheDir = opts.cacheDir;
      if (opts.dockerConfig) ro.dockerConfig = opts.dockerConfig;
      if (opts.retries !== undefined) ro.retries = opts.retries;
      if (opts.backoffMs !== undefined) ro.backoffMs = opts.backoffMs;
      if (opts.auth) {
        const map = opts.auth;
        const c = isCredentials(map)
          ? map
          : Object.entries(map).find(
              ([k]) => normalizeKey(k) === normalizeKey(src.ref.domain),
            )?.[1];
        if (c) ro.credentials = c;
      }
      return resolveRegistry(src.ref, platform, ro, opts.requirePlatform);
    }
  }
}
