// Messages between the page and the worker.

export interface FileEntry {
  /** Path relative to the mapped directory's root. */
  path: string;
  data: ArrayBuffer;
}

export interface DirSpec {
  /** Where the directory appears in the container (the WASI preopen's name). */
  guestPath: string;
  files: FileEntry[];
}

export interface StartMessage {
  type: 'start';
  moduleUrl: string;
  args: string[];
  env: string[];
  stdin: SharedArrayBuffer;
  /** stdin is a terminal (raw pty: the module's side does the line discipline). */
  tty: boolean;
  dirs: DirSpec[];
}

export type WorkerMessage =
  | { type: 'progress'; loaded: number; total: number }
  | { type: 'downloaded'; ms: number }
  | { type: 'compiled'; ms: number }
  | { type: 'started'; ms: number }
  /** Bytes written to stdout (fd 1) and stderr (fd 2), in order: runs = [fd, length, ...]. */
  | { type: 'output'; data: Uint8Array; runs: number[] }
  | { type: 'exit'; code: number; dirs: DirSpec[] }
  | { type: 'error'; message: string };
