/**
 * Conversion wall time (`c2w oci:LAYOUT:TAG out.wasm`, the CLI as users run it) against the I/O
 * floor: copying the same blobs (manifest, config, layers) in the same run; and out.wasm's size
 * against the image's uncompressed size.
 *
 *   npx tsx bench/convert/run.ts [--runs N]
 *
 * Images: busybox-static amd64 and riscv64 (test/fixtures/images), and the debootstrapped Debian
 * minbase tree made an OCI layout with umoci (packages/cli/test/images.ts, cached in $C2W_CACHE). Backend: the real one if its VM module is built, else the
 * packing-contract fixture module (say so in the table: the VM module's size changes pack time).
 */
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { busyboxLayout, debianLayout } from '../../packages/cli/test/images.ts';
import { readFooter } from '../../packages/pack/src/index.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/cli/dist/bin.js');
const fixtureVm = join(root, 'packages/pack/build/fixtures/footer.wasm');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;

interface Blob {
  path: string;
  size: number;
  mediaType: string;
}

function blobsOf(layout: string, tag: string): Blob[] {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const desc = index.manifests.find(
    (m: { annotations?: Record<string, string> }) =>
      m.annotations?.['org.opencontainers.image.ref.name'] === tag,
  );
  const p = (d: { digest: string }) => join(layout, 'blobs', ...d.digest.split(':'));
  const manifest = JSON.parse(readFileSync(p(desc), 'utf8'));
  return [desc, manifest.config, ...manifest.layers].map((d) => ({
    path: p(d),
    size: statSync(p(d)).size,
    mediaType: d.mediaType ?? '',
  }));
}

async function copyBlobs(blobs: Blob[], dir: string) {
  const t = performance.now();
  let i = 0;
  for (const b of blobs)
    await pipeline(createReadStream(b.path), createWriteStream(join(dir, `b${i++}`)));
  return (performance.now() - t) / 1000;
}

async function uncompressedBytes(blobs: Blob[]) {
  let n = 0;
  for (const b of blobs.slice(2)) {
    const src = createReadStream(b.path);
    const counter = async (s: AsyncIterable<Buffer>) => {
      for await (const c of s) n += c.length;
    };
    if (b.mediaType.endsWith('gzip')) await pipeline(src, createGunzip(), counter);
    else await pipeline(src, counter);
  }
  return n;
}

function backendFor(arch: string): { env: Record<string, string>; label: string } {
  const v = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).stdout;
  const name = arch === 'amd64' ? 'bochs' : 'riscv64';
  if (v.includes(`(${arch}): built`)) return { env: {}, label: name };
  return { env: { [`C2W_${name.toUpperCase()}_VM`]: fixtureVm }, label: 'fixture VM' };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main() {
  if (!existsSync(bin)) throw new Error('build first: tools/nx run-many -t build artifact');
  const layout = busyboxLayout();
  const images: [string, string, string, string, string?, string[]?][] = [
    ['busybox amd64', layout, 'amd64', 'amd64'],
    ['busybox riscv64', layout, 'riscv64', 'riscv64'],
  ];
  images.push(['debian minbase amd64', debianLayout(), 'debian', 'amd64']);
  const debian = images[images.length - 1] as (typeof images)[number];
  // The same images from a local registry (docker-registry on 127.0.0.1, pushed with skopeo).
  const { startRegistry, pushWithSkopeo } = await import('../../test/fixtures/images/registry.ts');
  const reg = await startRegistry({ auth: 'none' });
  for (const [name, lay, tag, arch] of [...images]) {
    pushWithSkopeo(lay, tag, `${reg.host}/bench/${tag}:latest`);
    images.push([`${name} (registry)`, lay, tag, arch, `${reg.host}/bench/${tag}:latest`]);
  }
  // The same Debian conversion with an LZ4 rootfs (--rootfs-compression lz4).
  images.push([
    `${debian[0]} (OCI layout, LZ4)`,
    debian[1],
    debian[2],
    debian[3],
    undefined,
    ['--rootfs-compression', 'lz4'],
  ]);

  const rows: string[][] = [];
  for (const [name, lay, tag, arch, registryRef, extra = []] of images) {
    const blobs = blobsOf(lay, tag);
    const blobBytes = blobs.reduce((a, b) => a + b.size, 0);
    const raw = await uncompressedBytes(blobs);
    const { env, label } = backendFor(arch);
    const dir = mkdtempSync(join(tmpdir(), 'c2w-bench-'));
    const conv: number[] = [];
    const copy: number[] = [];
    let outBytes = 0;
    let rootfsBytes = 0;
    try {
      for (let r = 0; r < RUNS; r++) {
        const cdir = mkdtempSync(join(dir, 'copy-'));
        copy.push(await copyBlobs(blobs, cdir));
        // Registry pulls go through c2w's blob cache: a fresh one per run, so each run downloads.
        const ref = registryRef ?? `oci:${lay}:${tag}`;
        const cacheDir = mkdtempSync(join(dir, 'cache-'));
        const t = performance.now();
        const res = spawnSync(
          process.execPath,
          [bin, '-q', '--target-arch', arch, ...extra, ref, join(dir, 'out.wasm')],
          {
            env: { ...process.env, ...env, C2W_CACHE: cacheDir },
            encoding: 'utf8',
          },
        );
        conv.push((performance.now() - t) / 1000);
        if (res.status !== 0) throw new Error(`${name}: c2w failed: ${res.stderr}`);
        outBytes = statSync(join(dir, 'out.wasm')).size;
        rootfsBytes = (await readFooter(join(dir, 'out.wasm')))?.rootfsLength ?? 0;
        rmSync(cdir, { recursive: true });
      }
      rows.push([
        name,
        label,
        `${(blobBytes / 1e6).toFixed(1)}`,
        `${(raw / 1e6).toFixed(1)}`,
        `${median(conv).toFixed(2)}`,
        `${median(copy).toFixed(3)}`,
        `${(median(conv) / median(copy)).toFixed(0)}x`,
        `${(outBytes / 1e6).toFixed(1)}`,
        `${(rootfsBytes / 1e6).toFixed(1)}`,
        `${(rootfsBytes / raw).toFixed(2)}`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  await reg.stop();
  const head = [
    'image',
    'backend',
    'blobs MB',
    'uncompressed MB',
    'c2w s (median)',
    'copy blobs s',
    'c2w/copy',
    'out.wasm MB',
    'rootfs MB',
    'rootfs/uncompressed',
  ];
  console.log(
    `c2w conversion vs copying the same blobs (I/O floor); ${RUNS} runs each, medians; node ${process.version}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

await main();
