/** Source: the local Docker daemon (`docker-daemon:REF`), via its socket's image export. */
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describeError, ImageError } from '../errors.js';
import type { Image } from '../image.js';
import type { Platform } from '../platform.js';
import { resolveDockerArchive } from './docker-archive.js';
import { defaultCacheDir } from './registry.js';

export function dockerSocketPath(explicit?: string): string {
  if (explicit) return explicit;
  const h = process.env.DOCKER_HOST;
  if (h?.startsWith('unix://')) return h.slice(7);
  return '/var/run/docker.sock';
}

/**
 * Exports REF from the daemon (`GET /images/{name}/get`) into a temporary docker-archive and
 * reads it. The archive is deleted by `image.dispose()`.
 */
export async function resolveDockerDaemon(
  ref: string,
  platform: Platform,
  opts: { socket?: string; tmpDir?: string; requirePlatform?: boolean } = {},
): Promise<Image & { dispose(): Promise<void> }> {
  const src = `docker-daemon:${ref}`;
  if (process.env.DOCKER_HOST && !process.env.DOCKER_HOST.startsWith('unix://') && !opts.socket) {
    throw new ImageError(
      `${src}: only unix:// DOCKER_HOST sockets are supported (DOCKER_HOST=${process.env.DOCKER_HOST})`,
    );
  }
  const socket = dockerSocketPath(opts.socket);
  if (!existsSync(socket)) {
    throw new ImageError(
      `${src}: no Docker daemon socket at ${socket} (is Docker running? set DOCKER_HOST or use another source)`,
    );
  }
  const dir = opts.tmpDir ?? join(defaultCacheDir(), '..', 'tmp');
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `daemon-${process.pid}-${Date.now()}.tar`);
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { socketPath: socket, path: `/images/${encodeURIComponent(ref)}/get`, method: 'GET' },
        (res) => {
          if (res.statusCode !== 200) {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c) => {
              if (body.length < 2000) body += c;
            });
            res.on('end', () => {
              let msg = body.trim();
              try {
                msg = (JSON.parse(body) as { message?: string }).message ?? msg;
              } catch {
                // plain text
              }
              reject(
                new ImageError(
                  `${src}: daemon answered HTTP ${res.statusCode}: ${msg.slice(0, 200)}`,
                ),
              );
            });
            return;
          }
          pipeline(res, createWriteStream(tmp)).then(resolve, reject);
        },
      );
      req.on('error', (e) =>
        reject(
          new ImageError(`${src}: cannot talk to the daemon at ${socket}: ${describeError(e)}`),
        ),
      );
      req.end();
    });
    const img = await resolveDockerArchive(
      `${tmp}:${ref}`,
      platform,
      src,
      opts.requirePlatform,
    ).catch(async (e) => {
      // `docker save` of an ID has no RepoTags: fall back to the only image
      if (e instanceof ImageError && /no image tagged/.test(e.message))
        return resolveDockerArchive(tmp, platform, src, opts.requirePlatform);
      throw e;
    });
    return { ...img, dispose: () => rm(tmp, { force: true }) };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
