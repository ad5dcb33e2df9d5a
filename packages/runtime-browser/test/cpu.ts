// CPU time of a process tree, from /proc (Linux): used to check that a waiting module sleeps.
import { readdirSync, readFileSync } from 'node:fs';

interface Proc {
  ppid: number;
  cpuSeconds: number;
  exe: string;
}

function processes(): Map<number, Proc> {
  const hz = 100; // USER_HZ on Linux
  const m = new Map<number, Proc>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      const exe = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0] ?? '';
      m.set(Number(d), {
        ppid: Number(f[1]),
        cpuSeconds: (Number(f[11]) + Number(f[12])) / hz,
        exe,
      });
    } catch {
      // the process ended meanwhile
    }
  }
  return m;
}

/** PIDs of this process's children whose executable path contains `name`. */
export function childrenNamed(name: string): number[] {
  return [...processes()]
    .filter(([, p]) => p.ppid === process.pid && p.exe.includes(name))
    .map(([pid]) => pid);
}

/** User + system CPU seconds of the processes and all their descendants. */
export function treeCpuSeconds(roots: number[]): number {
  const m = processes();
  const seen = new Set<number>();
  const todo = [...roots];
  let total = 0;
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += m.get(pid)?.cpuSeconds ?? 0;
    for (const [child, p] of m) if (p.ppid === pid) todo.push(child);
  }
  return total;
}
