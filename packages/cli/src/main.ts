/** The `c2w` command line (docs/cli.md). */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseDir, parseEnv, RunError, runModule } from '@c2w/runtime-wasi';
import { defaultRegistry } from './backends.js';
import { mainBrowser } from './browser.js';
import { cleanupNow, convert, EXTERNAL_HINT } from './convert.js';
import { CliError, EXIT, UsageError } from './errors.js';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

export const USAGE = `Usage: c2w [options] IMAGE [OUTPUT]
       c2w run [--dir HOST::GUEST]... [--env K=V]... MODULE [--] [ARGS...]
       c2w browser MODULE DIR | c2w browser --serve MODULE   (a page running MODULE; --help)
       c2w help | --version

Converts the container image IMAGE into a WASI module OUTPUT (default out.wasm) that runs the
container on a Linux kernel booted on an emulated CPU. No Docker needed.

IMAGE sources:
  NAME[:TAG|@DIGEST]       registry (docker.io by default; also docker://NAME)
  oci:DIR[:TAG|@DIGEST]    OCI image layout directory
  docker-archive:FILE      tarball written by \`docker save\`
  docker-daemon:NAME[:TAG] image in the local Docker daemon

Options:
  --target-arch ARCH       architecture of the image to convert (default amd64): amd64 runs on
                           Bochs, riscv64 on the riscv64 machine
  --platform OS/ARCH[/V]   platform to pick from a multi-platform image (sets the arch too)
  --debug-image            the guest's init logs its steps on stderr
  --external-bundle        keep the rootfs out of the module: writes rootfs.erofs next to OUTPUT,
                           to be mapped at /.c2w-bundle when running (for images over ~3 GiB)
  --rootfs-compression none|lz4
                           EROFS compression of the rootfs (default none: fastest conversion;
                           lz4: ~1/3 smaller module, conversion about twice as long)
  --insecure-registry[=HOST]  allow plain HTTP / untrusted TLS for IMAGE's registry (or HOST)
  --to-js                  build for browsers with QEMU + emscripten (not built yet)
  -q, --quiet              no progress and no summary
  -v, --version            print the version and the backends
  -h, --help, help         this help

Running the module (any WASI runtime):
  wasmtime out.wasm [--entrypoint=CMD] [--no-stdin] [--] [COMMAND] [ARG...]
  c2w run [--dir HOST::GUEST] [--env K=V] out.wasm [-- ARGS]   (Node's WASI)

Exit status: 0 done, 1 conversion failed, 2 bad usage, 3 no backend for the target (not built,
unsupported arch, --to-js); \`c2w run\`: the container's status, 125 if c2w run itself failed.
`;

const err = (s: string) => process.stderr.write(`c2w: ${s}\n`);

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
  multi: Map<string, string[]>;
}

const CONVERT_FLAGS: Record<string, 'bool' | 'value' | 'optional'> = {
  '--target-arch': 'value',
  '--platform': 'value',
  '--debug-image': 'bool',
  '--external-bundle': 'bool',
  '--rootfs-compression': 'value',
  '--insecure-registry': 'optional',
  '--to-js': 'bool',
  '--quiet': 'bool',
  '--version': 'bool',
  '--help': 'bool',
};
const SHORT: Record<string, string> = { '-q': '--quiet', '-v': '--version', '-h': '--help' };

function parseConvertArgs(argv: string[]): Parsed {
  const p: Parsed = { positional: [], flags: new Map(), multi: new Map() };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      p.positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    let name = eq >= 0 ? a.slice(0, eq) : a;
    name = SHORT[name] ?? name;
    // container2wasm spells options with one dash too (-target-arch).
    if (!CONVERT_FLAGS[name] && name.startsWith('-') && !name.startsWith('--')) name = `-${name}`;
    const kind = CONVERT_FLAGS[name];
    if (!kind) throw new UsageError(`unknown option ${a} (see c2w --help)`);
    let value: string | true = true;
    if (kind === 'value') {
      if (eq >= 0) value = a.slice(eq + 1);
      else {
        const next = argv[++i];
        if (next === undefined) throw new UsageError(`${name} needs a value`);
        value = next;
      }
      if (value === '') throw new UsageError(`${name}: empty value`);
    } else if (eq >= 0) {
      if (kind === 'bool') throw new UsageError(`${name} takes no value`);
      value = a.slice(eq + 1);
    }
    if (name === '--insecure-registry' && value !== true) {
      p.multi.set(name, [...(p.multi.get(name) ?? []), value]);
    }
    p.flags.set(name, value);
  }
  p.positional.push(...argv.slice(i));
  return p;
}

async function versionText(): Promise<string> {
  const lines = [`c2w ${VERSION}`];
  const reg = await defaultRegistry();
  for (const b of reg.list()) {
    lines.push(
      `backend ${b.name} (${b.arches.join(', ')}): ${b.missing() ? 'not built' : 'built'}`,
    );
  }
  lines.push('backend qemu-js (--to-js): not built yet');
  return `${lines.join('\n')}\n`;
}

async function mainConvert(argv: string[]): Promise<number> {
  const p = parseConvertArgs(argv);
  if (p.flags.has('--help') || (p.positional[0] === 'help' && p.positional.length === 1)) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (p.flags.has('--version')) {
    process.stdout.write(await versionText());
    return EXIT.ok;
  }
  if (p.positional.length === 0) throw new UsageError('no IMAGE given (see c2w --help)');
  if (p.positional.length > 2) {
    throw new UsageError(`too many arguments: ${p.positional.slice(2).join(' ')} (see c2w --help)`);
  }
  if (p.flags.has('--to-js')) {
    throw new CliError(
      '--to-js: the QEMU (emscripten) backend for browsers is not built yet',
      EXIT.noBackend,
    );
  }
  const [image, output = 'out.wasm'] = p.positional as [string, string?];
  const quiet = p.flags.has('--quiet');
  const insecure = p.multi.get('--insecure-registry') ?? p.flags.has('--insecure-registry');
  const flag = (n: string) => {
    const v = p.flags.get(n);
    return typeof v === 'string' ? v : undefined;
  };
  const compression = flag('--rootfs-compression');
  if (compression !== undefined && compression !== 'none' && compression !== 'lz4') {
    throw new UsageError(`--rootfs-compression ${compression}: expected none or lz4`);
  }
  const r = await convert({
    image,
    output,
    targetArch: flag('--target-arch'),
    platform: flag('--platform'),
    debugImage: p.flags.has('--debug-image'),
    externalBundle: p.flags.has('--external-bundle'),
    rootfsCompression: compression,
    insecureRegistry: insecure,
    progress: !quiet,
    registry: await defaultRegistry(),
  });
  if (!quiet) {
    const out = relative(process.cwd(), r.output) || r.output;
    process.stderr.write(
      `c2w: wrote ${out} (${(r.outputBytes / 1e6).toFixed(1)} MB; ${r.platform} on ${r.backend}; rootfs ${(r.rootfsBytes / 1e6).toFixed(1)} MB; ${r.seconds.toFixed(1)} s)\n`,
    );
    if (r.rootfsFile)
      process.stderr.write(`c2w: rootfs in ${r.rootfsFile}; ${EXTERNAL_HINT(out, r.rootfsFile)}\n`);
  }
  return EXIT.ok;
}

const RUN_USAGE = 'usage: c2w run [--dir HOST::GUEST]... [--env K=V]... MODULE [--] [ARGS...]';

/** `c2w run`: parses its arguments; runs the module on Node's WASI (does not return normally). */
export async function mainRun(argv: string[]): Promise<number> {
  const dirs = [];
  const env: [string, string][] = [];
  let module: string | undefined;
  let bundleDir: string | undefined;
  let i = 0;
  const value = (a: string, name: string) => {
    const eq = a.indexOf('=');
    if (eq >= 0) return a.slice(eq + 1);
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`run: ${name} needs a value`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    const name = a.split('=')[0] as string;
    if (name === '--dir' || name === '--mapdir') dirs.push(parseDir(value(a, name)));
    else if (name === '--env') env.push(parseEnv(value(a, name)));
    else if (name === '--bundle-dir') bundleDir = value(a, name);
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${RUN_USAGE}\n`);
      return EXIT.ok;
    } else if (a.startsWith('-') && a !== '-') {
      throw new UsageError(
        module === undefined
          ? `run: unknown option ${a}`
          : `run: unknown option ${a}; put the module's arguments after --`,
      );
    } else if (module === undefined) module = a;
    else break;
  }
  if (module === undefined) throw new UsageError(`run: no MODULE given\n${RUN_USAGE}`);
  return runModule({ module, args: argv.slice(i), env, dirs, bundleDir });
}

export async function main(argv: string[]): Promise<number> {
  const onSignal = (sig: NodeJS.Signals) => {
    cleanupNow();
    process.exit(sig === 'SIGINT' ? EXIT.interrupted : 128 + 15);
  };
  try {
    if (argv[0] === 'browser') return await mainBrowser(argv.slice(1));
    if (argv[0] === 'run') {
      try {
        return await mainRun(argv.slice(1));
      } catch (e) {
        if (e instanceof RunError) throw new CliError(e.message, EXIT.runFailed);
        throw e;
      }
    }
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    return await mainConvert(argv);
  } catch (e) {
    if (e instanceof CliError) {
      err(e.message);
      return e.exitCode;
    }
    err(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return EXIT.failed;
  }
}
