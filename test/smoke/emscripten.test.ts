// A C program built by the build root's emscripten (compiled -O2, linked -O1) runs under Node.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { smokeArtifact } from './artifacts.js';

describe('emscripten', () => {
  it('hello-emcc.js runs under Node with its args', () => {
    let fact = 1n;
    for (let i = 2n; i <= 20n; i++) fact *= i;
    const r = spawnSync(process.execPath, [smokeArtifact('hello-emcc.js'), 'one', 'two three'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `hello from emscripten\n20! = ${fact}\nargs: 2\narg[1]=one\narg[2]=two three\n`,
    );
    expect(r.status).toBe(0);
  });
});
