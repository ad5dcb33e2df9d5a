// The speed goals of issues 6 and 7 are given as seconds measured on "this machine kind" on
// another day, next to qemu (TCG) figures of the same day. This machine's speed drifts (shared
// host: qemu's own times vary up to 2x between days), so a run that measured qemu too is also
// compared after scaling: each figure divided by (qemu in this run / qemu in the anchor).
export type Workload = 'a' | 'b' | 'c';
export type Anchor = {
  qemu: Record<Workload, number>; // qemu-system (TCG) seconds when the anchor was measured
  goal: Record<Workload, number>; // the goal, seconds on the anchor's machine
  nativeRatio: number; // the goal's bound on ours / our native build
};

const W: Workload[] = ['a', 'b', 'c'];
const f2 = (v: number) => v.toFixed(2);
const each = (f: (k: Workload) => number) =>
  Object.fromEntries(W.map((k) => [k, f(k)])) as Record<Workload, number>;

/** Lines that compare `ours` with the anchor's goal, raw and scaled by this run's qemu. */
export function anchorReport(
  label: string,
  anchor: Anchor,
  ours: Record<Workload, number>,
  native?: Record<Workload, number>,
  qemu?: Record<Workload, number>,
): string[] {
  const verdict = (v: Record<Workload, number>) =>
    W.map(
      (k) => `(${k}) ${f2(v[k])} ${v[k] <= anchor.goal[k] ? '<=' : '>'} ${anchor.goal[k]}`,
    ).join(', ');
  const lines = [`${label} against the goal, raw: ${verdict(ours)}`];
  if (qemu) {
    const factor = each((k) => qemu[k] / anchor.qemu[k]);
    const scaled = each((k) => ours[k] / factor[k]);
    lines.push(
      `  scaled by qemu (this run / anchor: ${W.map((k) => `${f2(factor[k])}x`).join(', ')}): ${verdict(scaled)}`,
    );
  }
  if (native) {
    const ratio = W.map((k) => ours[k] / native[k]);
    lines.push(
      `  ours / our native build: ${ratio.map(f2).join(', ')} (goal <= ${anchor.nativeRatio}: ${
        ratio.every((r) => r <= anchor.nativeRatio) ? 'met' : 'not met'
      })`,
    );
  }
  return lines;
}
