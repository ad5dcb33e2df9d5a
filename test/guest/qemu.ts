// Boots the c2w guest (kernel/build/<arch>/) on Debian's QEMU and speaks the host side of
// docs/contract.md: waits for `ready=1` on the c2w.ctl port, sends the run config, collects
// stdout (hvc0) and stderr (hvc1) apart, relays stdin with `stdin-eof`, reads `exit=N`.
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export type Arch = 'riscv64' | 'x86_64';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const kernelBuild = (arch: Arch) => join(repoRoot, 'kernel', 'build', arch);

/** Builds (or restores from the nx cache) kernel/build/<arch>/ through the nx target. */
export function buildArtifact(arch: Arch): void {
  execFileSync(
    join(repoRoot, 'tools/nx'),
    ['run', `kernel:artifact-${arch}`, '--outputStyle=stream'],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
}

/** Encodes one control message: u32 LE length + `key=value\0` records. */
export function encodeMessage(records: [string, string | Buffer][]): Buffer {
  const parts = records.map(([k, v]) =>
    Buffer.concat([Buffer.from(`${k}=`), Buffer.from(v), Buffer.from([0])]),
  );
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Splits a stream of control messages; returns the complete ones and the rest. */
export function decodeMessages(buf: Buffer): { messages: [string, string][][]; rest: Buffer } {
  const messages: [string, string][][] = [];
  let off = 0;
  while (buf.length - off >= 4) {
    const n = buf.readUInt32LE(off);
    if (buf.length - off - 4 < n) break;
    const body = buf.subarray(off + 4, off + 4 + n);
    const recs: [string, string][] = [];
    for (const r of body.toString('latin1').split('\0')) {
      if (!r) continue;
      const eq = r.indexOf('=');
      if (eq > 0) recs.push([r.slice(0, eq), r.slice(eq + 1)]);
    }
    messages.push(recs);
    off += 4 + n;
  }
  return { messages, rest: buf.subarray(off) };
}

const APPLETS = (
  'sh ash cat echo ls id pwd env uname mkdir rm mv cp touch test [ printf sleep true false ' +
  'grep sed head tail wc stat hostname whoami chmod ln readlink sync dd mount df ps cut tr sort date od kill'
).split(' ');

export interface Rootfs {
  image: string;
  dir: string;
}

/**
 * An image-like rootfs: /bin/busybox of the arch with applet links, /etc/passwd with root and a
 * non-root user (alice 1000:1000, also in group staff 50), as an LZ4-compressed EROFS image.
 */
export function makeRootfs(arch: Arch, work: string): Rootfs {
  const tree = join(work, 'rootfs');
  rmSync(tree, { recursive: true, force: true });
  for (const d of ['bin', 'etc', 'tmp', 'root', 'home/alice', 'srv/app', 'usr/bin'])
    mkdirSync(join(tree, d), { recursive: true });
  copyFileSync(join(kernelBuild(arch), 'busybox'), join(tree, 'bin/busybox'));
  chmodSync(join(tree, 'bin/busybox'), 0o755);
  for (const a of APPLETS) symlinkSync('busybox', join(tree, 'bin', a));
  writeFileSync(
    join(tree, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(
    join(tree, 'etc/group'),
    'root:x:0:\nstaff:x:50:alice\nalice:x:1000:\nnogroup:x:65534:\n',
  );
  writeFileSync(join(tree, 'srv/app/hello.txt'), 'from the image\n');
  writeFileSync(join(tree, 'usr/bin/show-args'), '#!/bin/sh\necho "args:$*"\n');
  chmodSync(join(tree, 'usr/bin/show-args'), 0o755);
  writeFileSync(join(tree, 'usr/bin/not-exec'), '#!/bin/sh\necho no\n');
  chmodSync(join(tree, 'tmp'), 0o1777);
  chmodSync(join(tree, 'root'), 0o700);
  chownSync(join(tree, 'home/alice'), 1000, 1000);
  const image = join(work, 'rootfs.erofs');
  execFileSync('mkfs.erofs', ['-zlz4hc', '-T0', '--quiet', image, tree], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { image, dir: tree };
}

export interface RunOptions {
  /** records packed by c2w (image config) */
  image?: [string, string][];
  /** WASI args after argv[0] */
  args?: string[];
  /** runtime env */
  env?: string[];
  /** guest paths of the preopens: the n-th is 9p entry n = subdirectory n of `share` */
  mounts?: string[];
  share?: string;
  tty?: boolean;
  /** stdin bytes (non-tty): sent on hvc0, then stdin-eof */
  stdin?: string;
  /** wall clock sent in `time` (seconds since the epoch) */
  time?: number;
  rootfs: string;
  timeoutMs?: number;
  memory?: string;
  /**
   * The snapshot flow: the disk is empty (capacity 0) until the ready point; then the test fills
   * it, resizes it through QMP (`block_resize`: a virtio-blk config-change interrupt), waits
   * `resumeDelayMs` and sends the run config.
   */
  lateDisk?: boolean;
  resumeDelayMs?: number;
  /** overrides the `disk` record (default: the rootfs size) */
  disk?: number;
  /** extra kernel command line options (debugging: `c2w.debug=1`, `printk.time=1`) */
  append?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number | null;
  /** ms from spawning QEMU to `ready=1` */
  readyMs: number;
  /** ms from spawning QEMU to its exit */
  totalMs: number;
  /** everything on hvc1 before the ready point (kernel console) */
  bootLog: string;
  qemuStderr: string;
}

function qemuArgs(arch: Arch, sock: (n: string) => string, o: RunOptions, disk: string): string[] {
  const dir = kernelBuild(arch);
  const cmdline = [readFileSync(join(dir, 'cmdline.txt'), 'utf8').trim(), o.append ?? '']
    .join(' ')
    .trim();
  const bus = arch === 'riscv64' ? 'device' : 'pci';
  const a: string[] = [];
  if (arch === 'riscv64') {
    a.push(
      'qemu-system-riscv64',
      '-machine',
      'virt',
      '-bios',
      'default',
      '-kernel',
      join(dir, 'Image'),
    );
  } else {
    a.push('qemu-system-x86_64', '-machine', 'pc', '-kernel', join(dir, 'bzImage'));
  }
  a.push('-initrd', join(dir, 'initramfs.cpio'), '-append', cmdline);
  a.push('-m', o.memory ?? '256M', '-smp', '1', '-nodefaults', '-display', 'none', '-no-reboot');
  a.push('-chardev', `socket,id=out,path=${sock('out')}`);
  a.push('-chardev', `socket,id=err,path=${sock('err')}`);
  a.push('-chardev', `socket,id=ctl,path=${sock('ctl')}`);
  a.push('-device', `virtio-serial-${bus},max_ports=4`);
  a.push('-device', 'virtconsole,chardev=out', '-device', 'virtconsole,chardev=err');
  a.push('-device', 'virtserialport,chardev=ctl,name=c2w.ctl');
  a.push('-drive', `file=${disk},if=none,format=raw,readonly=${o.lateDisk ? 'off' : 'on'},id=root`);
  if (o.lateDisk)
    a.push('-chardev', `socket,id=qmp,path=${sock('qmp')}`, '-mon', 'chardev=qmp,mode=control');
  a.push('-device', `virtio-blk-${bus},drive=root`);
  if (o.share) {
    a.push('-fsdev', `local,id=share,path=${o.share},security_model=none`);
    a.push('-device', `virtio-9p-${bus},fsdev=share,mount_tag=c2w`);
  }
  a.push('-device', `virtio-rng-${bus}`);
  return a;
}

/** Boots the guest once and runs one container process. */
export async function runGuest(arch: Arch, o: RunOptions): Promise<RunResult> {
  const work = mkdtempSync(join(tmpdir(), 'c2w-guest-'));
  const sock = (n: string) => join(work, `${n}.sock`);
  const servers: Server[] = [];
  const conns: Record<string, Socket> = {};
  const names = o.lateDisk ? ['out', 'err', 'ctl', 'qmp'] : ['out', 'err', 'ctl'];
  let disk = o.rootfs;
  if (o.lateDisk) {
    disk = join(work, 'late.img');
    writeFileSync(disk, '');
  }
  const accepted = names.map(
    (name) =>
      new Promise<void>((res, rej) => {
        const s = createServer((c) => {
          conns[name] = c;
          res();
        });
        s.on('error', rej);
        s.listen(sock(name));
        servers.push(s);
      }),
  );
  await Promise.all(
    servers.map(
      (s) => new Promise<void>((r) => (s.listening ? r() : s.once('listening', () => r()))),
    ),
  );

  const start = performance.now();
  const args = qemuArgs(arch, sock, o, disk);
  const qemu = spawn(args[0] as string, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let qemuStderr = '';
  qemu.stderr.on('data', (d: Buffer) => {
    qemuStderr += d.toString();
  });
  const exited = new Promise<void>((r) => qemu.once('exit', () => r()));
  const timeout = setTimeout(() => qemu.kill('SIGKILL'), o.timeoutMs ?? 90_000);
  try {
    await Promise.race([Promise.all(accepted), exited]);
    if (!conns.out || !conns.err || !conns.ctl)
      throw new Error(`qemu did not connect: ${qemuStderr}`);
    const out: Buffer[] = [];
    let err: Buffer[] = [];
    let bootLog = '';
    let status: number | null = null;
    let readyMs = -1;
    let ctlBuf: Buffer = Buffer.alloc(0);
    const closed = names.map((n) => new Promise<void>((r) => conns[n]?.once('close', () => r())));
    conns.out.on('data', (d: Buffer) => out.push(d));
    conns.err.on('data', (d: Buffer) => err.push(d));
    conns.ctl.on('data', (d: Buffer) => {
      const { messages, rest } = decodeMessages(Buffer.concat([ctlBuf, d]));
      ctlBuf = rest;
      for (const m of messages) {
        for (const [k, v] of m) {
          if (k === 'ready' && v === '1' && readyMs < 0) {
            readyMs = performance.now() - start;
            bootLog = Buffer.concat(err).toString();
            err = [];
            out.length = 0;
            if (o.lateDisk) void resume();
            else sendRunConfig();
          } else if (k === 'exit') {
            status = Number(v);
          }
        }
      }
    });
    const resume = async () => {
      const qmp = conns.qmp as Socket;
      let qbuf = '';
      const replies: unknown[] = [];
      qmp.on('data', (d: Buffer) => {
        qbuf += d.toString();
        let nl = qbuf.indexOf('\n');
        while (nl >= 0) {
          const line = qbuf.slice(0, nl).trim();
          qbuf = qbuf.slice(nl + 1);
          if (line) {
            const msg = JSON.parse(line) as Record<string, unknown>;
            if ('return' in msg || 'error' in msg) replies.push(msg);
          }
          nl = qbuf.indexOf('\n');
        }
      });
      const command = async (cmd: object) => {
        const n = replies.length;
        qmp.write(`${JSON.stringify(cmd)}\n`);
        while (replies.length === n) await new Promise((r) => setTimeout(r, 10));
        const reply = replies[n] as Record<string, unknown>;
        if ('error' in reply) throw new Error(`qmp: ${JSON.stringify(reply.error)}`);
      };
      await new Promise((r) => setTimeout(r, o.resumeDelayMs ?? 0));
      await command({ execute: 'qmp_capabilities' });
      writeFileSync(disk, readFileSync(o.rootfs));
      await command({
        execute: 'block_resize',
        arguments: { device: 'root', size: statSync(disk).size },
      });
      sendRunConfig();
    };
    const sendRunConfig = () => {
      const recs: [string, string][] = [...(o.image ?? [])];
      for (const a of o.args ?? []) recs.push(['arg', a]);
      for (const e of o.env ?? []) recs.push(['renv', e]);
      for (const m of o.mounts ?? []) recs.push(['mount', m]);
      const t = o.time ?? Date.now() / 1000;
      recs.push(['time', t.toFixed(9)]);
      recs.push(['tty', o.tty ? '1' : '0']);
      recs.push(['disk', String(o.disk ?? statSync(o.rootfs).size)]);
      conns.ctl?.write(encodeMessage(recs));
      if (o.stdin !== undefined) {
        const data = Buffer.from(o.stdin);
        if (data.length) conns.out?.write(data);
        if (!o.tty)
          conns.ctl?.write(
            encodeMessage([
              ['stdin-eof', '1'],
              ['stdin-bytes', String(data.length)],
            ]),
          );
      }
    };
    await exited;
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 2000))]);
    const totalMs = performance.now() - start;
    return {
      stdout: Buffer.concat(out).toString(),
      stderr: Buffer.concat(err).toString(),
      status,
      readyMs,
      totalMs,
      bootLog,
      qemuStderr,
    };
  } finally {
    clearTimeout(timeout);
    qemu.kill('SIGKILL');
    for (const c of Object.values(conns)) c.destroy();
    for (const s of servers) s.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export function makeShare(work: string, entries: number): string {
  const share = join(work, 'share');
  for (let i = 0; i < entries; i++) mkdirSync(join(share, String(i)), { recursive: true });
  return share;
}

export const hasQemu = (arch: Arch) =>
  existsSync(arch === 'riscv64' ? '/usr/bin/qemu-system-riscv64' : '/usr/bin/qemu-system-x86_64');
