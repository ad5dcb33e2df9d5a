/** Source: a `docker save` tarball (`docker-archive:FILE.tar[:ref|@N]`). */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { describeError, ImageError } from '../errors.js';
import type { Image, Layer } from '../image.js';
import { sha256 } from '../image.js';
import { MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE, parseImageConfig } from '../manifest.js';
import { formatPlatform, type Platform, platformScore } from '../platform.js';
import { parseRegistryRef } from '../ref.js';
import { readTar } from '../tar.js';

interface Member {
  offset: number;
  size: number;
}

/** Parses `FILE[:ref|@N]`: the first ':' whose prefix is an existing file splits off the ref. */
export function parseDockerArchiveRef(spec: string): {
  file: string;
  ref?: string;
  index?: number;
} {
  const m = /^(.*)@(\d+)$/.exec(spec);
  if (m && existsSync(m[1] as string)) return { file: m[1] as string, index: Number(m[2]) };
  for (let i = spec.indexOf(':'); i > 0; i = spec.indexOf(':', i + 1)) {
    const f = spec.slice(0, i);
    if (existsSync(f) && statSync(f).isFile()) return { file: f, ref: spec.slice(i + 1) };
  }
  return { file: spec };
}

async function readMember(file: string, m: Member, limit: number, what: string): Promise<Buffer> {
  if (m.size > limit)
    throw new ImageError(`${what}: ${m.size} bytes exceeds the limit of ${limit}`);
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(m.size);
    const { bytesRead } = await fh.read(b, 0, m.size, m.offset);
    if (bytesRead !== m.size) throw new ImageError(`${what}: truncated archive`);
    return b;
  } finally {
    await fh.close();
  }
}

function normName(n: string): string {
  return n.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

export async function resolveDockerArchive(
  spec: string,
  platform: Platform,
  sourceName?: string,
  requirePlatform = false,
): Promise<Image> {
  const { file: f, ref, index } = parseDockerArchiveRef(spec);
  const file = resolvePath(f);
  const src = sourceName ?? `docker-archive:${f}`;
  const st = await stat(file).catch((e) => {
    throw new ImageError(`${src}: cannot read ${f}: ${describeError(e)}`);
  });
  if (!st.isFile()) throw new ImageError(`${src}: not a file`);
  const head = Buffer.alloc(4);
  const fh = await open(file, 'r');
  await fh.read(head, 0, 4, 0);
  await fh.close();
  if (head[0] === 0x1f && head[1] === 0x8b)
    throw new ImageError(`${src}: compressed archives are not supported, decompress it first`);
  const members = new Map<string, Member>();
  try {
    for await (const e of readTar(createReadStream(file, { highWaterMark: 1024 * 1024 }))) {
      if (e.header.type === 'file')
        members.set(normName(e.header.name), { offset: e.offset, size: e.header.size });
      else if (e.header.type === 'symlink' || e.header.type === 'hardlink') {
        // docker save links duplicate layers; resolve them against what came before
        const raw =
          e.header.type === 'symlink'
            ? `${normName(e.header.name).split('/').slice(0, -1).join('/')}/${e.header.linkName}`
            : e.header.linkName;
        const parts: string[] = [];
        for (const seg of normName(raw).split('/')) {
          if (seg === '..') parts.pop();
          else if (seg !== '.' && seg !== '') parts.push(seg);
        }
        const target = parts.join('/');
        const t = members.get(target);
        if (t) members.set(normName(e.header.name), t);
      }
    }
  } catch (e) {
    throw new ImageError(`${src}: ${describeError(e)}`);
  }
  const mf = members.get('manifest.json');
  if (!mf) throw new ImageError(`${src}: not a docker-archive (no manifest.json)`);
  let doc: unknown;
  try {
    doc = JSON.parse(
      (await readMember(file, mf, MAX_MANIFEST_SIZE, `${src} manifest.json`)).toString('utf8'),
    );
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(`${src}: manifest.json is not valid JSON`);
  }
  if (!Array.isArray(doc) || doc.length === 0)
    throw new ImageError(`${src}: manifest.json lists no images`);
  type Entry = { Config: string; RepoTags?: string[] | null; Layers: string[] };
  const entries = doc as Entry[];
  for (const [i, e] of entries.entries()) {
    if (
      typeof e?.Config !== 'string' ||
      !Array.isArray(e.Layers) ||
      e.Layers.some((l) => typeof l !== 'string')
    ) {
      throw new ImageError(`${src}: manifest.json entry ${i} is malformed`);
    }
  }
  let chosen: Entry | undefined;
  if (index !== undefined) {
    chosen = entries[index];
    if (!chosen) throw new ImageError(`${src}: no image @${index} (${entries.length} in archive)`);
  } else if (ref) {
    const want = parseRegistryRef(ref);
    const wantStr = `${want.domain}/${want.repository}:${want.tag}`;
    chosen = entries.find((e) =>
      (e.RepoTags ?? []).some((t) => {
        try {
          const r = parseRegistryRef(t);
          return `${r.domain}/${r.repository}:${r.tag}` === wantStr;
        } catch {
          return false;
        }
      }),
    );
    if (!chosen) {
      const all = entries.flatMap((e) => e.RepoTags ?? []);
      throw new ImageError(`${src}: no image tagged ${ref} (tags: ${all.join(', ') || 'none'})`);
    }
  } else {
    if (entries.length > 1)
      throw new ImageError(
        `${src}: archive has ${entries.length} images; name one (FILE:ref or FILE@N)`,
      );
    chosen = entries[0] as Entry;
  }
  const cfgMember = members.get(normName(chosen.Config));
  if (!cfgMember) throw new ImageError(`${src}: missing config ${chosen.Config}`);
  const cfgBytes = await readMember(file, cfgMember, MAX_CONFIG_SIZE, `${src} config`);
  const config = parseImageConfig(cfgBytes, `${src} config`);
  const p: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) p.variant = config.variant;
  if (requirePlatform && platformScore(platform, p) < 0)
    throw new ImageError(`${src}: image is ${formatPlatform(p)}, not ${formatPlatform(platform)}`);
  if (config.rootfs.diff_ids.length !== chosen.Layers.length) {
    throw new ImageError(
      `${src}: manifest.json lists ${chosen.Layers.length} layers, config ${config.rootfs.diff_ids.length}`,
    );
  }
  const layers: Layer[] = chosen.Layers.map((name, i) => {
    const m = members.get(normName(name));
    if (!m) throw new ImageError(`${src}: missing layer ${name}`);
    return {
      diffId: config.rootfs.diff_ids[i] as string,
      size: m.size,
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      open: async () =>
        m.size === 0
          ? (await import('node:stream')).Readable.from([])
          : createReadStream(file, {
              start: m.offset,
              end: m.offset + m.size - 1,
              highWaterMark: 1024 * 1024,
            }),
    };
  });
  return { source: src, manifestDigest: sha256(cfgBytes), platform: p, config, layers };
}
