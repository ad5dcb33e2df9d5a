/** Every error fsimage throws on bad input: a one-line message naming the input. */
export class FsImageError extends Error {
  override name = 'FsImageError';
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
  }
}

/** Creates the temporary output file next to `out`, with a one-line error naming `out`. */
export function createOutput(
  openSync: (p: string, f: string) => number,
  tmp: string,
  out: string,
): number {
  try {
    return openSync(tmp, 'w');
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    throw new FsImageError(`${JSON.stringify(out)}: cannot create the output file (${code})`);
  }
}
