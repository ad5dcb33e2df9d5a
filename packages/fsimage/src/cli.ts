#!/usr/bin/env node
/**
 * c2w-fsimage: write a host directory as an EROFS image or a newc cpio archive.
 *   c2w-fsimage erofs DIR OUT [--lz4]
 *   c2w-fsimage cpio DIR OUT
 * Errors: one line on stderr, exit status 1, no output file.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeCpio } from './cpio.js';
import { writeErofs } from './erofs.js';
import { FsImageError } from './errors.js';
import { treeFromDirectory } from './fromdir.js';

const USAGE = 'usage: c2w-fsimage erofs DIR OUT [--lz4] | c2w-fsimage cpio DIR OUT';

/** Runs the CLI; returns the exit status. */
export async function main(
  argv: string[],
  stderr: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const args = argv.filter((a) => a !== '--lz4');
  const lz4 = argv.includes('--lz4');
  const [cmd, dir, out, ...rest] = args;
  if (
    !cmd ||
    !dir ||
    !out ||
    rest.length ||
    (cmd !== 'erofs' && cmd !== 'cpio') ||
    (lz4 && cmd !== 'erofs')
  ) {
    stderr(`${USAGE}\n`);
    return 2;
  }
  try {
    const tree = treeFromDirectory(dir);
    if (cmd === 'erofs') await writeErofs(tree, out, lz4 ? { compression: 'lz4' } : {});
    else await writeCpio(tree, out);
    return 0;
  } catch (e) {
    const msg =
      e instanceof FsImageError ? e.message : String((e as Error)?.message ?? e).split('\n')[0];
    stderr(`c2w-fsimage: ${msg}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
