/** Image -> one rootfs tree + run config. */
import { RootfsBuilder } from './apply.js';
import { decompress, HashTap } from './decompress.js';
import { describeError, ImageError } from './errors.js';
import type { Image, Layer } from './image.js';
import { type Progress, type ProgressTask, progressFor } from './progress.js';
import { type RunConfig, runConfigFromImageConfig } from './runconfig.js';
import { ContentSpool } from './spool.js';
import { ByteReader, DEFAULT_TAR_LIMITS, readTar, type TarLimits } from './tar.js';
import type { RootfsTree } from './tree.js';

export interface FlattenOptions {
  /** Parent directory of the content spool (default: the OS temp dir). */
  spoolDir?: string;
  /** true: show progress on a TTY (stderr); or a custom reporter. Default: quiet. */
  progress?: boolean | Progress;
  /** Layers fetched ahead of the one being applied (default 3). */
  concurrency?: number;
  limits?: Partial<TarLimits>;
}

export interface FlattenResult {
  tree: RootfsTree;
  runConfig: RunConfig;
  /** Holds the file contents the tree refers to; call dispose() when done with the tree. */
  spool: ContentSpool;
  stats: { layers: number; entries: number; files: number; bytes: number; spoolBytes: number };
  dispose(): Promise<void>;
}

function layerName(l: Layer, i: number): string {
  return `layer ${i + 1}${l.digest ? ` (${l.digest.slice(0, 19)})` : ''}`;
}

/** Applies one layer blob stream to the builder, verifying digest, size and diff_id. */
export async function applyLayerStream(
  builder: RootfsBuilder,
  src: AsyncIterable<Uint8Array>,
  layer: Pick<Layer, 'digest' | 'diffId' | 'size'>,
  name: string,
  limits: TarLimits = DEFAULT_TAR_LIMITS,
  onBytes?: (n: number) => void,
): Promise<void> {
  const raw = new HashTap(
    layer.digest ? (layer.digest.split(':')[0] as string) : null,
    layer.size ?? Number.POSITIVE_INFINITY,
    name,
  );
  const counted = async function* () {
    for await (const c of raw.tap(src)) {
      onBytes?.(c.length);
      yield c;
    }
  };
  const un = new HashTap(layer.diffId ? (layer.diffId.split(':')[0] as string) : null);
  const reader = new ByteReader(un.tap(decompress(counted())));
  try {
    await builder.applyLayer(readTar(reader, limits), { label: name });
    await reader.drain();
  } catch (e) {
    if (e instanceof ImageError)
      throw e.message.startsWith(name) ? e : new ImageError(`${name}: ${e.message}`);
    throw new ImageError(`${name}: ${describeError(e)}`, { cause: e });
  }
  if (layer.size !== undefined && raw.bytes !== layer.size) {
    throw new ImageError(`${name}: size mismatch (expected ${layer.size} bytes, got ${raw.bytes})`);
  }
  if (layer.digest && raw.digest() !== layer.digest) {
    throw new ImageError(
      `${name}: digest mismatch (expected ${layer.digest}, got ${raw.digest()})`,
    );
  }
  if (layer.diffId && un.digest() !== layer.diffId) {
    throw new ImageError(
      `${name}: diff_id mismatch (expected ${layer.diffId}, got ${un.digest()})`,
    );
  }
}

export async function flattenImage(
  image: Image,
  opts: FlattenOptions = {},
): Promise<FlattenResult> {
  const limits = { ...DEFAULT_TAR_LIMITS, ...opts.limits };
  const progress = progressFor(opts.progress);
  const spool = await ContentSpool.create(opts.spoolDir);
  const builder = new RootfsBuilder(spool);
  let bytes = 0;
  try {
    const runConfig = runConfigFromImageConfig(image.config);
    const conc = Math.max(1, opts.concurrency ?? 3);
    const prefetches: (Promise<void> | undefined)[] = [];
    const tasks = image.layers.map((l, i) => progress.task(layerName(l, i), l.size));
    let next = 0;
    let applied = 0;
    const startPrefetch = () => {
      while (next < image.layers.length && next < applied + conc) {
        const l = image.layers[next] as Layer;
        const task = tasks[next] as ProgressTask;
        const p = l.prefetch ? l.prefetch((n) => task.update(n)) : undefined;
        p?.catch(() => {}); // reported when awaited
        prefetches[next] = p;
        next++;
      }
    };
    for (let i = 0; i < image.layers.length; i++) {
      startPrefetch();
      const l = image.layers[i] as Layer;
      const name = layerName(l, i);
      const task = tasks[i] as ProgressTask;
      await prefetches[i];
      const stream = await l.open();
      try {
        // a blob the source verified moments ago is not hashed again (size is still checked)
        const check = l.isVerified?.() ? { diffId: l.diffId, size: l.size } : l;
        await applyLayerStream(builder, stream, check, name, limits, (n) => {
          bytes += n;
          if (!l.prefetch) task.update(n);
        });
      } finally {
        stream.destroy();
        task.done();
      }
      applied++;
    }
    await spool.finish();
    const tree = builder.toTree();
    let files = 0;
    for (const e of tree.values()) if (e.type === 'file') files++;
    progress.finish();
    return {
      tree,
      runConfig,
      spool,
      stats: {
        layers: image.layers.length,
        entries: builder.entries,
        files,
        bytes,
        spoolBytes: spool.size,
      },
      dispose: () => spool.dispose(),
    };
  } catch (e) {
    progress.finish();
    await spool.dispose();
    throw e;
  }
}
