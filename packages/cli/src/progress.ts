/** Progress on a TTY only (stderr), one redrawn line per step. */
export interface StepProgress {
  step(name: string): (done: number, total: number) => void;
  /** A step without a measure: its name, shown until the next update. */
  status(text: string): void;
  end(): void;
}

export const quietSteps: StepProgress = { step: () => () => {}, status() {}, end() {} };

const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export function ttySteps(out: NodeJS.WriteStream = process.stderr): StepProgress {
  let active = false;
  let last = 0;
  return {
    step(name) {
      return (done, total) => {
        const now = Date.now();
        if (done < total && now - last < 100) return;
        last = now;
        const pct = total > 0 ? ` ${Math.floor((done / total) * 100)}%` : '';
        out.write(`\r\x1b[2K${name}: ${MB(done)}${total > 0 ? ` / ${MB(total)}` : ''}${pct}`);
        active = true;
      };
    },
    status(text) {
      out.write(`\r\x1b[2K${text}`);
      active = true;
    },
    end() {
      if (active) out.write('\r\x1b[2K');
      active = false;
    },
  };
}
