/** resolveImage(ref) -> Image, dispatching on the source kind. */
import { ImageError } from './errors.js';
import type { Image } from './image.js';
import { DEFAULT_PLATFORM, type Platform, parsePlatform } from './platform.js';
import { parseSourceRef } from './ref.js';
import { resolveOciLayout } from './sources/oci-layout.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** A registry token used as Bearer directly. */
  token?: string;
}

export interface ResolveOptions {
  /** Platform object or a `--target-arch` string; default linux/amd64. */
  platform?: Platform | string;
  /** Registry hosts (host[:port]) that may be reached over plain HTTP. */
  insecureRegistries?: string[];
  /** Blob cache directory (default $C2W_CACHE/blobs or ~/.cache/c2w/blobs). */
  cacheDir?: string;
  /** Credentials per registry host, or one set for the registry of `ref`. */
  auth?: Credentials | Record<string, Credentials>;
  /** Path of a Docker config.json (default ~/.docker/config.json, $DOCKER_CONFIG/config.json). */
  dockerConfig?: string;
  /** Docker daemon socket (default from DOCKER_HOST or /var/run/docker.sock). */
  dockerSocket?: string;
}

export function platformOf(p: Platform | string | undefined): Platform {
  if (p === undefined) return { ...DEFAULT_PLATFORM };
  return typeof p === 'string' ? parsePlatform(p) : p;
}

export async function resolveImage(ref: string, opts: ResolveOptions = {}): Promise<Image> {
  const platform = platformOf(opts.platform);
  const src = parseSourceRef(ref);
  switch (src.kind) {
    case 'oci':
      return resolveOciLayout(src.spec, platform);
    default:
      throw new ImageError(`${ref}: source not supported yet`);
  }
}
