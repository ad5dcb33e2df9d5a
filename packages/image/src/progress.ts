/** Progress on a TTY (stderr) during pulls; silent otherwise. */

export interface ProgressTask {
  update(deltaBytes: number): void;
  done(): void;
}

export interface Progress {
  task(name: string, total?: number): ProgressTask;
  finish(): void;
}

const quietTask: ProgressTask = { update() {}, done() {} };
export const quietProgress: Progress = { task: () => quietTask, finish() {} };

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** One status line per task, redrawn at most 10 times a second. */
export class TtyProgress implements Progress {
  private tasks = new Map<string, { cur: number; total?: number; done: boolean }>();
  private lines = 0;
  private last = 0;
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  task(name: string, total?: number): ProgressTask {
    const t: { cur: number; total?: number; done: boolean } = { cur: 0, done: false };
    if (total !== undefined) t.total = total;
    this.tasks.set(name, t);
    this.draw(true);
    return {
      update: (n) => {
        t.cur += n;
        this.draw(false);
      },
      done: () => {
        t.done = true;
        this.draw(true);
      },
    };
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    let s = this.lines > 0 ? `\x1b[${this.lines}A` : '';
    for (const [name, t] of this.tasks) {
      const size = t.total !== undefined ? `${mb(t.cur)} / ${mb(t.total)}` : mb(t.cur);
      s += `\x1b[2K${name}: ${t.done ? 'done ' : ''}${size}\n`;
    }
    this.lines = this.tasks.size;
    this.out.write(s);
  }

  finish(): void {
    if (this.tasks.size > 0) this.draw(true);
  }
}

export function progressFor(p: boolean | Progress | undefined): Progress {
  if (p === undefined || p === false) return quietProgress;
  if (p === true) return process.stderr.isTTY ? new TtyProgress() : quietProgress;
  return p;
}
