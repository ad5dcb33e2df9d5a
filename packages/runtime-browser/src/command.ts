// `c2w browser ...`: the command-line front of writeBrowserBundle / serveBrowserBundle, so the CLI
// only dispatches to it (`if (argv[0] === 'browser') return browserCommand(argv.slice(1))`).
import { relative } from 'node:path';
import { writeBrowserBundle } from './bundle.js';
import { serveBrowserBundle } from './server.js';

export const BROWSER_USAGE = `usage: c2w browser [OPTIONS] MODULE DIR        write a ready-to-serve page for MODULE into DIR
       c2w browser --serve [OPTIONS] MODULE|DIR  serve it with COOP/COEP headers and print the URL

Runs MODULE (a WASI module written by c2w) in a browser: a Web Worker with a WASI shim, an
xterm.js terminal. The page takes arguments and env from its URL: ?arg=uname&arg=-m&env=A=B.

Options:
  --port N                 port to serve on (default 8080; 0: any free port)
  --host ADDR              address to serve on (default 127.0.0.1)
  --env K=V                default environment entry (repeatable)
  --dir GUEST_PATH         an in-browser directory mapped at GUEST_PATH (repeatable)
  --external-rootfs FILE   rootfs.erofs of a module converted with --external-bundle
  --link                   hard-link MODULE into DIR instead of copying it
  -- ARGS...               default arguments for the module (the URL's arg= replace them)
`;

export interface CommandIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Ends `--serve` (default: SIGINT or SIGTERM). */
  signal?: AbortSignal;
}

class Usage extends Error {}

const defaultIO: CommandIO = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

/** Runs `c2w browser ARGV...`; returns the exit status (0 ok, 1 failed, 2 bad usage). */
export async function browserCommand(argv: string[], io: CommandIO = defaultIO): Promise<number> {
  try {
    return await run(argv, io);
  } catch (e) {
    io.stderr(`c2w browser: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof Usage ? 2 : 1;
  }
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  let serve = false;
  let port: number | undefined;
  let host: string | undefined;
  let externalRootfs: string | undefined;
  let link = false;
  const env: string[] = [];
  const dirs: string[] = [];
  const positional: string[] = [];
  let args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      const v = eq > 0 && name !== a ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new Usage(`${name} needs a value`);
      return v;
    };
    if (a === '--') {
      args = argv.slice(i + 1);
      break;
    }
    if (a === '-h' || a === '--help') {
      io.stdout(BROWSER_USAGE);
      return 0;
    }
    if (name === '--serve') serve = true;
    else if (name === '--link') link = true;
    else if (name === '--port') {
      const v = value();
      port = Number(v);
      if (!/^\d+$/.test(v) || port > 65535) throw new Usage(`--port ${v}: not a port number`);
    } else if (name === '--host') host = value();
    else if (name === '--env') {
      const v = value();
      if (!v.includes('=') || v.startsWith('=')) throw new Usage(`--env ${v}: expected K=V`);
      env.push(v);
    } else if (name === '--dir') {
      const v = value();
      if (!v.startsWith('/')) throw new Usage(`--dir ${v}: expected an absolute guest path`);
      dirs.push(v);
    } else if (name === '--external-rootfs') externalRootfs = value();
    else if (a.startsWith('-') && a !== '-')
      throw new Usage(`unknown option ${a}\n${BROWSER_USAGE}`);
    else positional.push(a);
  }
  const config = { args, env, dirs };
  if (serve) {
    if (positional.length !== 1)
      throw new Usage(`--serve takes one MODULE or DIR\n${BROWSER_USAGE}`);
    const target = positional[0] as string;
    const s = await serveBrowserBundle(target, {
      ...config,
      port: port ?? 8080,
      host: host ?? '127.0.0.1',
      ...(externalRootfs !== undefined ? { externalRootfs } : {}),
    });
    io.stdout(`${s.url}\n`);
    io.stderr(`c2w browser: serving ${target} at ${s.url} (Ctrl-C stops)\n`);
    await new Promise<void>((done) => {
      if (io.signal) {
        if (io.signal.aborted) done();
        io.signal.addEventListener('abort', () => done(), { once: true });
      } else {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      }
    });
    await s.close();
    return 0;
  }
  if (positional.length !== 2) throw new Usage(`expected MODULE DIR\n${BROWSER_USAGE}`);
  if (port !== undefined || host !== undefined) throw new Usage('--port and --host need --serve');
  const [module, dir] = positional as [string, string];
  const w = await writeBrowserBundle(module, dir, {
    ...config,
    link,
    ...(externalRootfs !== undefined ? { externalRootfs } : {}),
  });
  const shown = relative(process.cwd(), w.dir) || '.';
  io.stderr(
    `c2w browser: wrote ${shown}/ (${w.files.join(', ')}); serve it with COOP/COEP headers, e.g. c2w browser --serve ${shown}\n`,
  );
  return 0;
}
