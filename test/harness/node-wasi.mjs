// Runs a WASI preview1 command module on Node's built-in WASI.
//
// Usage: node --no-incremental-marking node-wasi.mjs [--dir HOST[::GUEST]]... [--env NAME[=VALUE]]...
//        [--argv0 NAME] MODULE [ARGS...]
//
// Flags are spelled as the wasmtime CLI spells them. stdin/stdout/stderr are this process's own
// file descriptors (streamed by uvwasi), the exit status is the module's. `returnOnExit: false`
// because Node 20 crashed once with `true` after a large guest powered off, and
// `--no-incremental-marking` because V8 11.3 crashed in GC during early memory.grow of large
// emulator modules (see DESIGN.md): the runner re-executes itself with that flag if missing.
// The riscv64 machine's page compiler is served as @c2w/runtime-wasi serves it, from that
// package's build in this checkout (tools/nx run-many -t build); C2W_PAGE_COMPILER=0 turns it off.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';

const USAGE =
  'usage: node-wasi [--dir HOST[::GUEST]]... [--env NAME[=VALUE]]... [--argv0 NAME] MODULE [ARGS...]';

function fail(msg, code = 2) {
  process.stderr.write(`node-wasi: ${msg}\n`);
  process.exit(code);
}

if (!process.execArgv.includes('--no-incremental-marking')) {
  const r = spawnSync(
    process.execPath,
    ['--no-incremental-marking', ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit' },
  );
  if (r.error) fail(`cannot re-run node: ${r.error.message}`, 1);
  process.exit(r.status ?? 128 + 9);
}

const argv = process.argv.slice(2);
const preopens = {};
const env = {};
let argv0;
let i = 0;
for (; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--') {
    i++;
    break;
  }
  if (!a.startsWith('-') || a === '-') break;
  const eq = a.indexOf('=');
  const name = eq >= 0 ? a.slice(0, eq) : a;
  if (name === '--dir' || name === '--env' || name === '--argv0') {
    let val;
    if (eq >= 0) val = a.slice(eq + 1);
    else {
      i++;
      if (i >= argv.length) fail(`${name} needs a value\n${USAGE}`);
      val = argv[i];
    }
    if (name === '--dir') {
      const sep = val.indexOf('::');
      const host = sep >= 0 ? val.slice(0, sep) : val;
      const guest = sep >= 0 ? val.slice(sep + 2) : val;
      if (!host) fail(`--dir '${val}': empty host path`);
      if (!existsSync(host) || !statSync(host).isDirectory())
        fail(`--dir '${val}': ${host} is not a directory`);
      preopens[guest] = host;
    } else if (name === '--env') {
      const s = val.indexOf('=');
      const k = s >= 0 ? val.slice(0, s) : val;
      if (!k) fail(`--env '${val}': empty name`);
      if (s >= 0) env[k] = val.slice(s + 1);
      else if (k in process.env) env[k] = process.env[k];
    } else argv0 = val;
  } else if (a === '-h' || a === '--help') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  } else fail(`unknown option ${a}\n${USAGE}`);
}
if (i >= argv.length) fail(`no module given\n${USAGE}`);
const module = argv[i];
const args = argv.slice(i + 1);
if (!existsSync(module) || !statSync(module).isFile()) fail(`${module}: no such module file`);

// node:wasi is still flagged experimental in Node 20: keep its warning off the module's stderr.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'ExperimentalWarning' || warning?.name === 'ExperimentalWarning') return;
  emitWarning.call(process, warning, ...rest);
};
const { WASI } = await import('node:wasi');

let compiled;
try {
  compiled = await WebAssembly.compile(readFileSync(module));
} catch (e) {
  fail(`${module}: not a valid wasm module: ${e.message}`, 1);
}
const wasi = new WASI({
  version: 'preview1',
  args: [argv0 ?? basename(module), ...args],
  env,
  preopens,
  returnOnExit: false,
});
let instance;
const imports = wasi.getImportObject();
const pageCompiler = new URL('../../packages/runtime-wasi/dist/page-compiler.js', import.meta.url);
if (process.env.C2W_PAGE_COMPILER !== '0' && existsSync(pageCompiler)) {
  const { withPageCompiler, pageCompilerTarget } = await import(pageCompiler.href);
  imports.wasi_snapshot_preview1 = withPageCompiler(imports.wasi_snapshot_preview1, () =>
    pageCompilerTarget(instance.exports),
  );
}
try {
  instance = await WebAssembly.instantiate(compiled, imports);
} catch (e) {
  fail(`${module}: cannot instantiate: ${e.message}`, 1);
}
try {
  wasi.start(instance);
} catch (e) {
  process.stderr.write(`node-wasi: ${module}: ${e?.stack ?? e}\n`);
  process.exit(134);
}
process.exit(0);
