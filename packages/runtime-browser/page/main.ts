// The page: an xterm.js terminal with an xterm-pty line discipline, a progress bar for the module
// download, and a Web Worker that runs the module. Query parameters:
//   ?arg=uname&arg=-m      arguments after argv[0] (each one verbatim)
//   &env=A=B               environment entries
//   &module=out.wasm       the module's URL (default from c2w-browser.json, else out.wasm)
//   &dir=/mnt/share        an in-browser (in-memory) directory preopened at that guest path
//   &file=/mnt/share/a.txt=URL   a file fetched into a mapped directory before start
//   &pty=raw|cooked        raw (default): the guest's own tty echoes and edits lines;
//                          cooked: the page's pty does (for programs that read plain lines)
import { Terminal } from '@xterm/xterm';
import { openpty, Termios } from 'xterm-pty';
import { close as closeStdin, createChannel, push, type StdinChannel } from './channel.js';
import type { DirSpec, StartMessage, WorkerMessage } from './protocol.js';

interface BundleConfig {
  module?: string;
  args?: string[];
  env?: string[];
  dirs?: string[];
  files?: [string, string][];
}

export interface PageState {
  status: 'loading' | 'compiling' | 'running' | 'exited' | 'error';
  exitCode: number | null;
  error: string | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from navigation start to the first byte the module wrote. */
  firstOutputMs: number | null;
  downloadedBytes: number;
  /** Milliseconds from the worker's start of the download to its end, and to compiled. */
  downloadMs: number | null;
  compiledMs: number | null;
  startedMs: number | null;
  args: string[];
  env: string[];
  /** The mapped directories' contents after exit. */
  dirs: DirSpec[];
  screen(): string;
  /** Ends stdin (as ^D on a closed pipe would). */
  closeStdin(): void;
}

/** Characters of stdout / stderr kept in window.c2w (the terminal has its own scrollback). */
const KEEP_CHARS = 4 << 20;

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const statusEl = $('status');
const progressEl = $('progress') as HTMLProgressElement;
const progressText = $('progress-text');

function setStatus(s: PageState['status'], text: string): void {
  state.status = s;
  statusEl.textContent = text;
  statusEl.dataset.state = s;
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

async function loadConfig(): Promise<BundleConfig> {
  try {
    const res = await fetch('c2w-browser.json');
    if (res.ok) return (await res.json()) as BundleConfig;
  } catch {
    // no config: defaults
  }
  return {};
}

const term = new Terminal({ cols: 100, rows: 30, convertEol: false, scrollback: 5000 });
term.open($('terminal'));
const { master, slave } = openpty();
term.loadAddon(master);

// Created once the page is known to be cross-origin isolated (SharedArrayBuffer exists).
let channel: StdinChannel | null = null;
const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
const state: PageState = {
  status: 'loading',
  exitCode: null,
  error: null,
  stdout: '',
  stderr: '',
  firstOutputMs: null,
  downloadedBytes: 0,
  downloadMs: null,
  compiledMs: null,
  startedMs: null,
  args: [],
  env: [],
  dirs: [],
  screen() {
    const buf = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  },
  closeStdin() {
    if (channel !== null) closeStdin(channel);
  },
};
(window as unknown as { c2w: PageState }).c2w = state;

function fail(message: string): void {
  state.error = message;
  setStatus('error', `error: ${message}`);
  slave.write(`\r\n\x1b[31mc2w: ${message}\x1b[0m\r\n`);
}

function renderDirs(dirs: DirSpec[]): void {
  const box = $('files-box');
  const list = $('files');
  list.replaceChildren();
  for (const d of dirs) {
    for (const f of d.files) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([f.data]));
      a.download = f.path.split('/').pop() ?? 'file';
      a.textContent = `${d.guestPath}/${f.path}`;
      li.append(a, ` (${f.data.byteLength} bytes)`);
      list.append(li);
    }
  }
  box.hidden = dirs.length === 0;
}

function mergeEnv(base: string[], over: string[]): string[] {
  const key = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
  const replaced = new Set(over.map(key));
  return [...base.filter((e) => !replaced.has(key(e))), ...over];
}

async function main(): Promise<void> {
  if (!globalThis.crossOriginIsolated) {
    fail(
      'this page needs SharedArrayBuffer: serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp',
    );
    return;
  }
  const ch = createChannel();
  channel = ch;
  const q = new URLSearchParams(location.search);
  const config = await loadConfig();
  const moduleUrl = q.get('module') ?? config.module ?? 'out.wasm';
  const argv0 = moduleUrl.split('/').pop()?.split('?')[0] || 'out.wasm';
  const args = q.has('arg') ? q.getAll('arg') : (config.args ?? []);
  // Query entries replace the config's entries of the same name.
  const env = mergeEnv(config.env ?? [], q.getAll('env'));
  state.args = args;
  $('command').textContent = [argv0, ...args]
    .map((a) => (/^[\w./=:,+-]+$/.test(a) ? a : JSON.stringify(a)))
    .join(' ');
  state.env = env;

  const dirs: DirSpec[] = [...(config.dirs ?? []), ...q.getAll('dir')].map((p) => ({
    guestPath: p.replace(/\/+$/, '') || '/',
    files: [],
  }));
  const fileSpecs: [string, string][] = [
    ...(config.files ?? []),
    ...q.getAll('file').map((spec): [string, string] => {
      const eq = spec.indexOf('=');
      return eq < 0 ? [spec, ''] : [spec.slice(0, eq), spec.slice(eq + 1)];
    }),
  ];
  for (const [guestFile, url] of fileSpecs) {
    const spec = `${guestFile}=${url}`;
    const dir = dirs.find((d) => guestFile.startsWith(`${d.guestPath}/`));
    if (url === '' || dir === undefined) {
      fail(`file=${spec}: expected GUEST_PATH=URL with GUEST_PATH inside a dir= directory`);
      return;
    }
    setStatus('loading', `fetching ${url}`);
    const res = await fetch(url);
    if (!res.ok) {
      fail(`file=${spec}: HTTP ${res.status}`);
      return;
    }
    dir.files.push({
      path: guestFile.slice(dir.guestPath.length + 1),
      data: await res.arrayBuffer(),
    });
  }

  const raw = (q.get('pty') ?? 'raw') !== 'cooked';
  if (raw) {
    // The guest's tty does echo, line editing and signals: pass keys through untouched.
    const t = slave.ioctl('TCGETS');
    const OPOST = 1;
    const ONLCR = 4;
    slave.ioctl('TCSETS', new Termios(0, OPOST | ONLCR, t.cflag, 0, t.cc));
  }

  let queued: number[] = [];
  const pump = () => {
    if (queued.length === 0) return;
    const n = push(ch, Uint8Array.from(queued));
    queued = queued.slice(n);
    if (queued.length > 0) setTimeout(pump, 5);
  };
  slave.onReadable(() => {
    const bytes = slave.read();
    // Cooked: ^D on an empty line ends the input.
    if (bytes.length === 0 && !raw) {
      const end = () => (queued.length > 0 ? setTimeout(end, 5) : closeStdin(ch));
      end();
      return;
    }
    const had = queued.length;
    queued = queued.concat(bytes);
    if (had === 0) pump();
  });
  slave.onSignal((sig) => {
    // Cooked mode only: the guest gets the control character the signal came from.
    const byte = sig === 'SIGINT' ? 3 : sig === 'SIGQUIT' ? 28 : sig === 'SIGTSTP' ? 26 : -1;
    if (byte >= 0) {
      queued.push(byte);
      pump();
    }
  });

  const worker = new Worker('c2w-worker.js');
  worker.onerror = (e) => fail(`worker: ${e.message}`);
  worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
    const m = ev.data;
    switch (m.type) {
      case 'progress': {
        state.downloadedBytes = m.loaded;
        if (m.total > 0) {
          progressEl.max = m.total;
          progressEl.value = m.loaded;
          progressText.textContent = `${mb(m.loaded)} / ${mb(m.total)}`;
        } else {
          progressEl.removeAttribute('value');
          progressText.textContent = mb(m.loaded);
        }
        setStatus('loading', `downloading ${argv0}`);
        break;
      }
      case 'downloaded':
        state.downloadMs = m.ms;
        setStatus('compiling', `compiling ${argv0}`);
        break;
      case 'compiled':
        state.compiledMs = m.ms;
        setStatus('compiling', 'starting');
        break;
      case 'started':
        state.startedMs = m.ms;
        $('loading').hidden = true;
        setStatus('running', 'running');
        term.focus();
        break;
      case 'output': {
        if (state.firstOutputMs === null) state.firstOutputMs = performance.now();
        let o = 0;
        for (let i = 0; i < m.runs.length; i += 2) {
          const stream = m.runs[i] === 1 ? 'stdout' : 'stderr';
          const len = m.runs[i + 1] as number;
          state[stream] += decoders[stream].decode(m.data.subarray(o, o + len), { stream: true });
          // Keep the last KEEP_CHARS (a long session must not grow without bound).
          if (state[stream].length > 2 * KEEP_CHARS)
            state[stream] = state[stream].slice(-KEEP_CHARS);
          o += len;
        }
        slave.write(Array.from(m.data));
        break;
      }
      case 'exit':
        state.exitCode = m.code;
        state.dirs = m.dirs;
        renderDirs(m.dirs);
        setStatus('exited', `exited with status ${m.code}`);
        statusEl.dataset.exitCode = String(m.code);
        slave.write(`\r\n\x1b[2m[exited with status ${m.code}]\x1b[0m\r\n`);
        worker.terminate();
        break;
      case 'error':
        fail(m.message);
        worker.terminate();
        break;
    }
  };
  const start: StartMessage = {
    type: 'start',
    moduleUrl: new URL(moduleUrl, location.href).href,
    args: [argv0, ...args],
    env,
    stdin: ch.sab,
    tty: raw,
    dirs,
  };
  worker.postMessage(
    start,
    dirs.flatMap((d) => d.files.map((f) => f.data)),
  );
}

main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
