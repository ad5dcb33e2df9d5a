// Runs a command and timestamps each `MARK <name>` line of its stdout as it arrives (seconds
// since spawn, first occurrence of each name); rejects on a non-zero status with stderr's tail.
import { spawn } from 'node:child_process';

export type Marks = Record<string, number>;

export function timeMarks(name: string, bin: string, args: string[]): Promise<Marks> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const marks: Marks = {};
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      const now = (performance.now() - t0) / 1000;
      buf += d.toString('latin1');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const m = /^MARK (\w+)/.exec(buf.slice(0, nl));
        if (m && !(m[1] in marks)) marks[m[1]] = now;
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
    });
    p.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`${name}: exit status ${code}: ${err}`));
      else resolve(marks);
    });
  });
}

/** guest.sh's intervals: start (to the first marker) and (a), (b), (c) between markers s..c. */
export type Fig = { start: number; a: number; b: number; c: number };
export function figures(marks: Marks, name: string): Fig {
  for (const k of ['s', 'a', 'b', 'c'])
    if (!(k in marks)) throw new Error(`${name}: no marker ${k} (got ${JSON.stringify(marks)})`);
  return { start: marks.s, a: marks.a - marks.s, b: marks.b - marks.a, c: marks.c - marks.b };
}
