/** Every error this package raises on bad input: one line, naming the input. */
export class ImageError extends Error {
  override name = 'ImageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message.replace(/\s*\n\s*/g, ' '), options);
  }
}

export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const cause = (e as { cause?: unknown }).cause;
    let msg = e.message;
    if (cause instanceof Error && !msg.includes(cause.message)) msg += `: ${cause.message}`;
    if (code && !msg.includes(code)) msg += ` (${code})`;
    return msg.replace(/\s*\n\s*/g, ' ');
  }
  return String(e);
}
