import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, resolve, sep } from 'node:path';
import { pageAssetsDir } from './assets.js';
import {
  type BrowserConfig,
  checkWasm,
  configJson,
  EXTERNAL_ROOTFS,
  withExternalRootfs,
} from './bundle.js';
import { contentType, ISOLATION_HEADERS } from './headers.js';

export interface ServeOptions extends BrowserConfig {
  /** TCP port; 0 picks a free one (default 8080). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** When serving a module file: the rootfs.erofs of an `--external-bundle` module. */
  externalRootfs?: string;
}

export interface ServedBundle {
  /** The page's URL, e.g. http://127.0.0.1:8080/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Maps a request path to a file, or null when it is outside the served tree. */
type Resolver = (path: string) => string | Buffer | null;

function dirResolver(root: string): Resolver {
  return (p) => {
    const rel = normalize(p).replace(/^([/\\])+/, '');
    const full = resolve(root, rel === '' ? 'index.html' : rel);
    return full === root || full.startsWith(root + sep) ? full : null;
  };
}

async function send(
  req: IncomingMessage,
  res: ServerResponse,
  resolveFile: Resolver,
): Promise<void> {
  const base = { ...ISOLATION_HEADERS, 'Cache-Control': 'no-cache' };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...base, Allow: 'GET, HEAD' }).end();
    return;
  }
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    res.writeHead(400, base).end('bad path\n');
    return;
  }
  if (path.endsWith('/')) path += 'index.html';
  const target = resolveFile(path);
  if (Buffer.isBuffer(target)) {
    res.writeHead(200, {
      ...base,
      'Content-Type': contentType(path),
      'Content-Length': target.length,
    });
    res.end(req.method === 'HEAD' ? undefined : target);
    return;
  }
  const st = target === null ? null : await stat(target).catch(() => null);
  if (target === null || st === null || !st.isFile()) {
    res.writeHead(404, { ...base, 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  res.writeHead(200, { ...base, 'Content-Type': contentType(target), 'Content-Length': st.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(target, { highWaterMark: 1 << 20 });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/**
 * Serves a module (a .wasm file: the prebuilt page is served with it as /out.wasm) or a directory
 * written by writeBrowserBundle, with the COOP/COEP headers the page needs.
 * `c2w browser --serve out.wasm` (browserCommand) prints `url`.
 */
export async function serveBrowserBundle(
  target: string,
  opts: ServeOptions = {},
): Promise<ServedBundle> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(target);
  } catch {
    throw new Error(`${target}: no such file or directory`);
  }
  let resolver: Resolver;
  if (st.isDirectory()) {
    const root = resolve(target);
    const index = await stat(join(root, 'index.html')).catch(() => null);
    if (index === null)
      throw new Error(`${target}: no index.html (write it with writeBrowserBundle)`);
    resolver = dirResolver(root);
  } else {
    await checkWasm(target);
    const wasm = resolve(target);
    const page = dirResolver(resolve(pageAssetsDir()));
    const rootfs = opts.externalRootfs === undefined ? null : resolve(opts.externalRootfs);
    if (rootfs !== null && !(await stat(rootfs).catch(() => null))?.isFile()) {
      throw new Error(`${opts.externalRootfs}: no such file`);
    }
    const config = Buffer.from(
      configJson('out.wasm', rootfs === null ? opts : withExternalRootfs(opts)),
    );
    resolver = (p) => {
      if (p === '/out.wasm') return wasm;
      if (p === `/${EXTERNAL_ROOTFS}` && rootfs !== null) return rootfs;
      if (p === '/c2w-browser.json') return config;
      return page(p);
    };
  }
  const server = createServer((req, res) => {
    send(req, res, resolver).catch(() => res.destroy());
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(new Error(`${host}:${opts.port ?? 8080}: cannot listen (${e.code ?? e.message})`)),
    );
    server.listen(opts.port ?? 8080, host, () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
