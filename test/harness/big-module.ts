// Writes a WASI command module of any size: one active data segment of `bytes` bytes at
// address 0 (initial memory sized to hold it), whose first and last bytes are `first` and `last`;
// `_start` exits with (first + last) & 0x7f. Used to check that runtimes cope with large modules.
import { closeSync, openSync, writeSync } from 'node:fs';

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const str = (s: string) => [...uleb(s.length), ...Buffer.from(s)];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

export function writeBigModule(path: string, bytes: number, first: number, last: number): void {
  if (bytes < 2 || bytes > 0x7fff_0000) throw new Error(`bad size ${bytes}`);
  const pages = Math.ceil(bytes / 65536);
  const code = [
    0x00, // no locals
    0x41,
    0x00,
    0x2d,
    0x00,
    0x00, // i32.const 0; i32.load8_u
    0x41,
    ...sleb(bytes - 1),
    0x2d,
    0x00,
    0x00, // i32.const bytes-1; i32.load8_u
    0x6a,
    0x41,
    ...sleb(0x7f),
    0x71, // i32.add; i32.const 0x7f; i32.and
    0x10,
    0x00,
    0x0b, // call proc_exit; end
  ];
  const head = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x00]), // (i32)->(), ()->()
    ...section(2, [0x01, ...str('wasi_snapshot_preview1'), ...str('proc_exit'), 0x00, 0x00]),
    ...section(3, [0x01, 0x01]),
    ...section(5, [0x01, 0x00, ...uleb(pages)]),
    ...section(7, [0x02, ...str('_start'), 0x00, 0x01, ...str('memory'), 0x02, 0x00]),
    ...section(10, [0x01, ...uleb(code.length), ...code]),
  ];
  const segHead = [0x01, 0x00, 0x41, 0x00, 0x0b, ...uleb(bytes)]; // 1 segment, active, at 0
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, Buffer.from(head));
    writeSync(fd, Buffer.from([11, ...uleb(segHead.length + bytes), ...segHead]));
    const chunk = Buffer.alloc(1 << 24);
    for (let off = 0; off < bytes; off += chunk.length) {
      const n = Math.min(chunk.length, bytes - off);
      chunk.fill(0);
      if (off === 0) chunk[0] = first;
      if (off + n === bytes) chunk[n - 1] = last;
      writeSync(fd, chunk, 0, n);
    }
  } finally {
    closeSync(fd);
  }
}
