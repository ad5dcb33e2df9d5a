/**
 * The backend registry the CLI uses: the built-in backend packages, then any other installed
 * `@c2w/backend-*` package (adding a backend is adding a package: docs/backends.md).
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Backend, BackendRegistry } from '@c2w/backend';
import { backends as binfmt } from '@c2w/backend-binfmt';
import { backend as bochs } from '@c2w/backend-bochs';
import { backend as riscv64 } from '@c2w/backend-riscv64';

const BUILTIN = new Set(['backend-binfmt', 'backend-bochs', 'backend-riscv64']);

function isBackend(x: unknown): x is Backend {
  const b = x as Backend | undefined;
  return (
    !!b && typeof b.name === 'string' && Array.isArray(b.arches) && typeof b.pack === 'function'
  );
}

/** node_modules/@c2w directories from this package up to the filesystem root. */
function scopeDirs(): string[] {
  const out: string[] = [];
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const s = join(d, 'node_modules', '@c2w');
    if (existsSync(s)) out.push(s);
    const up = dirname(d);
    if (up === d) return out;
    d = up;
  }
}

export async function defaultRegistry(): Promise<BackendRegistry> {
  const reg = new BackendRegistry();
  reg.register(bochs).register(riscv64);
  for (const b of binfmt) reg.register(b);
  const seen = new Set(BUILTIN);
  for (const scope of scopeDirs()) {
    for (const name of readdirSync(scope).sort()) {
      if (!name.startsWith('backend-') || seen.has(name)) continue;
      seen.add(name);
      const pkg = join(scope, name);
      try {
        const mod = await import(pathToFileURL(join(pkg, 'dist', 'index.js')).href);
        const b = mod.backend ?? mod.default;
        if (isBackend(b) && !reg.list().some((x) => x.name === b.name)) reg.register(b);
      } catch {
        // Not built or not a backend: ignored.
      }
    }
  }
  return reg;
}
