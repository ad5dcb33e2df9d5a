/** Every error fsimage throws on bad input: a one-line message naming the input. */
export class FsImageError extends Error {
  override name = 'FsImageError';
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
  }
}
