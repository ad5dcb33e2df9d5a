/**
 * Benchmark: pull + flatten of a ~100 MB (compressed) multi-layer image from a local registry,
 * @c2w/image (resolveImage + flattenImage, cold blob cache) against `skopeo copy` to an OCI
 * layout + `umoci unpack` of the same image, in the same run. Wall time and peak RSS.
 *
 *   npx tsx bench/image/run.ts [runs=3]
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot } from '../../test/fixtures/images/index.js';
import { pushWithSkopeo, startRegistry } from '../../test/fixtures/images/registry.js';

const runs = Number(process.argv[2] ?? 3);
const root = join(import.meta.dirname, '../..');

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Files of a host directory (top level only), sorted, until `limit` bytes. */
function pick(dir: string, limit: number): string[] {
  const out: string[] = [];
  let n = 0;
  for (const f of readdirSync(dir).sort()) {
    const st = statSync(join(dir, f), { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    if (n + st.size > limit) continue;
    n += st.size;
    out.push(f);
  }
  return out;
}

/** Builds (once) an OCI layout of real files from the host's /usr, layered with umoci. */
function ensureBenchImage(): string {
  const dir = join(cacheRoot(), 'fixtures/bench-image-v1');
  const layout = join(dir, 'layout');
  if (existsSync(join(layout, 'index.json'))) return layout;
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const l = join(work, 'layout');
  sh('umoci', ['init', '--layout', l]);
  const img = `${l}:bench`;
  sh('umoci', ['new', '--image', img]);
  const stage = join(work, 'stage');
  const add = (name: string, fill: (d: string) => void, target: string) => {
    const d = join(stage, name);
    mkdirSync(d, { recursive: true });
    fill(d);
    sh('umoci', ['insert', '--image', img, d, target]);
  };
  const copyFiles = (src: string, files: string[]) => (d: string) => {
    for (const f of files) execFileSync('cp', ['-a', join(src, f), d]);
  };
  add('py', (d) => execFileSync('cp', ['-a', '/usr/lib/python3.11/.', d]), '/usr/lib/python3.11');
  add('locale', (d) => execFileSync('cp', ['-a', '/usr/share/locale/.', d]), '/usr/share/locale');
  add(
    'lib',
    copyFiles('/usr/lib/x86_64-linux-gnu', pick('/usr/lib/x86_64-linux-gnu', 150e6)),
    '/usr/lib/x86_64-linux-gnu',
  );
  add('bin', copyFiles('/usr/bin', pick('/usr/bin', 60e6)), '/usr/bin');
  sh('umoci', ['insert', '--image', img, '--whiteout', '/usr/lib/python3.11/test']);
  sh('umoci', ['insert', '--image', img, '--whiteout', '/usr/share/locale/de']);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  renameSync(l, layout);
  rmSync(work, { recursive: true, force: true });
  return layout;
}

/** Runs a command under GNU time: wall seconds and peak RSS (MB). */
function timed(cmd: string, args: string[]): { s: number; rssMb: number; out: string } {
  const tf = join(tmpdir(), `c2w-time-${process.pid}`);
  const out = execFileSync('/usr/bin/time', ['-f', '%e %M', '-o', tf, cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [s, kb] = readFileSync(tf, 'utf8').trim().split('\n').pop()?.split(' ') ?? [];
  rmSync(tf, { force: true });
  return { s: Number(s), rssMb: Number(kb) / 1024, out };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main() {
  sh('npx', ['tsc', '-b', join(root, 'packages/image')]);
  const layout = ensureBenchImage();
  const reg = await startRegistry({ auth: 'none' });
  try {
    pushWithSkopeo(layout, 'bench', `${reg.host}/bench/image:v1`);
    const manifest = JSON.parse(
      sh('skopeo', [
        'inspect',
        '--tls-verify=false',
        '--raw',
        `docker://${reg.host}/bench/image:v1`,
      ]),
    );
    const compressed = (manifest.layers as { size: number }[]).reduce((a, l) => a + l.size, 0);
    console.log(
      `image: ${manifest.layers.length} layers, ${(compressed / 1e6).toFixed(1)} MB compressed`,
    );
    const ours: { s: number; rssMb: number }[] = [];
    const pair: { s: number; rssMb: number; skopeo: number; umoci: number }[] = [];
    for (let i = 0; i < runs; i++) {
      const w = mkdtempSync(join(tmpdir(), 'c2w-bench-'));
      try {
        const a = timed('node', [
          join(root, 'bench/image/pull.mjs'),
          `${reg.host}/bench/image:v1`,
          join(w, 'cache'),
          w,
        ]);
        const info = JSON.parse(a.out.trim().split('\n').pop() as string);
        ours.push({ s: a.s, rssMb: a.rssMb });
        if (i === 0) {
          console.log(
            `c2w flatten: ${info.entries} entries, ${info.files} files, ${(info.layerBytes / 1e6).toFixed(1)} MB pulled, spool ${(info.spoolBytes / 1e6).toFixed(1)} MB`,
          );
        }
        const sk = timed('skopeo', [
          'copy',
          '-q',
          '--src-tls-verify=false',
          `docker://${reg.host}/bench/image:v1`,
          `oci:${join(w, 'oci')}:v1`,
        ]);
        const um = timed('umoci', ['unpack', '--image', `${join(w, 'oci')}:v1`, join(w, 'bundle')]);
        pair.push({
          s: sk.s + um.s,
          rssMb: Math.max(sk.rssMb, um.rssMb),
          skopeo: sk.s,
          umoci: um.s,
        });
        console.log(
          `run ${i + 1}: c2w ${a.s.toFixed(2)} s / ${a.rssMb.toFixed(0)} MB peak RSS; skopeo+umoci ${(sk.s + um.s).toFixed(2)} s (${sk.s.toFixed(2)} + ${um.s.toFixed(2)}) / ${Math.max(sk.rssMb, um.rssMb).toFixed(0)} MB`,
        );
      } finally {
        rmSync(w, { recursive: true, force: true });
      }
    }
    const oS = median(ours.map((x) => x.s));
    const pS = median(pair.map((x) => x.s));
    console.log(
      `median wall: c2w ${oS.toFixed(2)} s, skopeo+umoci ${pS.toFixed(2)} s, ratio ${(pS / oS).toFixed(2)}x; peak RSS: c2w ${Math.max(...ours.map((x) => x.rssMb)).toFixed(0)} MB, skopeo+umoci ${Math.max(...pair.map((x) => x.rssMb)).toFixed(0)} MB`,
    );
  } finally {
    await reg.stop();
  }
}

await main();
