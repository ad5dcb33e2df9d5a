/**
 * The run-config records of docs/contract.md: `key=value` byte strings, each followed by NUL.
 * Keys may repeat; arrays keep their order; values are raw bytes (anything but NUL).
 */

export type Record = readonly [key: string, value: string];

/** An image's run config, as OCI image configs spell it (camelCase spellings also accepted). */
export interface ImageRunConfig {
  Entrypoint?: readonly string[] | null;
  Cmd?: readonly string[] | null;
  Env?: readonly string[] | null;
  WorkingDir?: string | null;
  User?: string | null;
  entrypoint?: readonly string[] | null;
  cmd?: readonly string[] | null;
  env?: readonly string[] | null;
  workingDir?: string | null;
  workdir?: string | null;
  user?: string | null;
}

export class RecordError extends Error {
  override name = 'RecordError';
}

const enc = new TextEncoder();

export function encodeRecords(records: Iterable<Record>): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [key, value] of records) {
    if (key === '' || key.includes('=') || key.includes('\0')) {
      throw new RecordError(`bad record key ${JSON.stringify(key)}`);
    }
    if (value.includes('\0')) {
      throw new RecordError(`record ${key}: value contains a NUL byte: ${JSON.stringify(value)}`);
    }
    const b = enc.encode(`${key}=${value}\0`);
    parts.push(b);
    total += b.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function decodeRecords(bytes: Uint8Array): Record[] {
  const dec = new TextDecoder();
  const out: Record[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) continue;
    const s = dec.decode(bytes.subarray(start, i));
    const eq = s.indexOf('=');
    if (eq <= 0) throw new RecordError(`malformed record ${JSON.stringify(s)}`);
    out.push([s.slice(0, eq), s.slice(eq + 1)]);
    start = i + 1;
  }
  if (start !== bytes.length) throw new RecordError('records do not end with a NUL byte');
  return out;
}

/** The records c2w packs into the module for an image's run config (contract: "Packed by c2w"). */
export function runConfigRecords(config: ImageRunConfig, opts: { debug?: boolean } = {}): Record[] {
  const records: Record[] = [];
  const entrypoint = config.Entrypoint ?? config.entrypoint ?? [];
  const cmd = config.Cmd ?? config.cmd ?? [];
  const env = config.Env ?? config.env ?? [];
  const workdir = config.WorkingDir ?? config.workingDir ?? config.workdir ?? '';
  const user = config.User ?? config.user ?? '';
  for (const e of entrypoint) records.push(['entrypoint', e]);
  for (const c of cmd) records.push(['cmd', c]);
  for (const e of env) {
    if (!e.includes('='))
      throw new RecordError(`image env entry without '=': ${JSON.stringify(e)}`);
    records.push(['env', e]);
  }
  records.push(['workdir', workdir === '' ? '/' : workdir]);
  if (user !== '') records.push(['user', user]);
  if (opts.debug) records.push(['debug', '1']);
  return records;
}

export function encodeRunConfig(
  config: ImageRunConfig,
  opts: { debug?: boolean } = {},
): Uint8Array {
  return encodeRecords(runConfigRecords(config, opts));
}
