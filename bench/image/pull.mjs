// Child process of the benchmark: resolve + flatten one registry image with the built @c2w/image.
import { flattenImage, resolveImage } from '../../packages/image/dist/index.js';

const [ref, cacheDir, spoolDir] = process.argv.slice(2);
const t0 = performance.now();
const img = await resolveImage(ref, { cacheDir });
const r = await flattenImage(img, { spoolDir });
const ms = performance.now() - t0;
console.log(
  JSON.stringify({
    ms,
    entries: r.tree.size,
    files: r.stats.files,
    layerBytes: r.stats.bytes,
    spoolBytes: r.stats.spoolBytes,
    maxRssKb: process.resourceUsage().maxRSS,
  }),
);
await r.dispose();
