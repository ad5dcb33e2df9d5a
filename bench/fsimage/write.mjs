// Writes DIR as an EROFS image with @c2w/fsimage (built dist): node write.mjs DIR OUT [lz4]
import { treeFromDirectory, writeErofs } from '../../packages/fsimage/dist/index.js';

const [dir, out, comp] = process.argv.slice(2);
const t0 = performance.now();
const c0 = process.cpuUsage();
const tree = treeFromDirectory(dir);
const t1 = performance.now();
const c1 = process.cpuUsage(c0);
await writeErofs(tree, out, comp === 'lz4' ? { compression: 'lz4' } : {});
const t2 = performance.now();
const c2 = process.cpuUsage(c0);
if (process.env.FSIMAGE_PHASES) {
  const cpu = (c) => ((c.user + c.system) / 1000).toFixed(0);
  console.error(
    `scan ${(t1 - t0).toFixed(0)} ms (cpu ${cpu(c1)}), write ${(t2 - t1).toFixed(0)} ms (cpu total ${cpu(c2)})`,
  );
}
