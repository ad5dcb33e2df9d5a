/** Exit codes of `c2w` (docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** The image could not be read or converted, or OUTPUT could not be written. */
  failed: 1,
  /** Bad command line. */
  usage: 2,
  /** No backend for the target: none serves the arch, its VM module is not built, --to-js. */
  noBackend: 3,
  /** `c2w run` failed before the module ran (bad module file, bad --dir). */
  runFailed: 125,
  interrupted: 130,
} as const;

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message.replace(/\s*\n\s*/g, ' '));
  }
}

export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}
