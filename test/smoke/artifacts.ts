// Paths of the smoke-test guests built by the nx target @c2w/test:artifact (test/smoke/build.sh).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const smokeDir = fileURLToPath(new URL('../build/smoke/', import.meta.url));

/** Absolute path of a built smoke artifact; throws with the command that builds it. */
export function smokeArtifact(name: string): string {
  const p = `${smokeDir}${name}`;
  if (!existsSync(p)) {
    throw new Error(`${p} is missing: build it with \`tools/nx run @c2w/test:artifact\``);
  }
  return p;
}
