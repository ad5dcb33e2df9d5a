// The guest (kernel/ + init) against the contract (docs/contract.md), on Debian's QEMU (TCG).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Arch,
  buildArtifact,
  hasQemu,
  makeRootfs,
  makeShare,
  type RunOptions,
  runGuest,
} from './qemu.js';

const arches: Arch[] = ['riscv64', 'x86_64'];
const unameM: Record<Arch, string> = { riscv64: 'riscv64', x86_64: 'x86_64' };

for (const arch of arches) {
  // Boots take 2-10 s each on a loaded 2-core machine; some tests boot several times.
  describe.skipIf(!hasQemu(arch))(`guest ${arch} on QEMU`, { timeout: 300_000 }, () => {
    let work = '';
    let rootfs = '';
    const readyTimes: number[] = [];

    beforeAll(() => {
      buildArtifact(arch);
      work = mkdtempSync(join(tmpdir(), `c2w-guest-${arch}-`));
      rootfs = makeRootfs(arch, work).image;
    });
    afterAll(() => {
      if (readyTimes.length)
        console.log(
          `guest ${arch}: QEMU start to ready=1: min ${Math.min(...readyTimes).toFixed(0)} ms, ` +
            `max ${Math.max(...readyTimes).toFixed(0)} ms over ${readyTimes.length} boots`,
        );
      if (work) rmSync(work, { recursive: true, force: true });
    });

    const run = async (o: Omit<RunOptions, 'rootfs'>) => {
      const r = await runGuest(arch, { rootfs, ...o });
      if (r.readyMs >= 0) readyTimes.push(r.readyMs);
      if (r.status === null)
        throw new Error(
          `no exit=N; boot log:\n${r.bootLog}\nstderr:\n${r.stderr}\nqemu:\n${r.qemuStderr}`,
        );
      return r;
    };

    it('echo -n hello', async () => {
      const r = await run({ args: ['echo', '-n', 'hello'] });
      expect(r.stdout).toBe('hello');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('uname -m is the arch', async () => {
      const r = await run({ args: ['uname', '-m'] });
      expect(r.stdout).toBe(`${unameM[arch]}\n`);
    });

    it('stdout and stderr apart, exit status', async () => {
      const r = await run({ args: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
      expect(r.stdout).toBe('out\n');
      expect(r.stderr).toBe('err\n');
      expect(r.status).toBe(7);
    });

    it('image config: entrypoint, cmd, env, workdir, user; runtime env wins', async () => {
      const image: [string, string][] = [
        ['entrypoint', '/bin/sh'],
        ['entrypoint', '-c'],
        ['cmd', 'echo "$AAA $BBB $CCC|$(pwd)|$(id -u):$(id -g):$(id -G)|$HOME|$PATH"'],
        ['env', 'AAA=image'],
        ['env', 'BBB=image-b'],
        ['env', 'PATH=/bin:/usr/bin'],
        ['workdir', '/srv/app'],
        ['user', 'alice'],
      ];
      const r = await run({ image, env: ['BBB=runtime', 'CCC=c'] });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(
        'image runtime c|/srv/app|1000:1000:1000 50|/home/alice|/bin:/usr/bin\n',
      );
      expect(r.status).toBe(0);
    });

    it('user uid:gid and name:group, default PATH', async () => {
      const r = await run({
        image: [['user', '1234:staff']],
        args: ['sh', '-c', 'echo $(id -u):$(id -g) $PATH'],
      });
      expect(r.stdout).toBe(
        '1234:50 /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n',
      );
    });

    it('unknown user: c2w error, status 125', async () => {
      const r = await run({ image: [['user', 'mallory']], args: ['true'] });
      expect(r.stderr).toBe(
        'c2w: unable to find user mallory: no matching entries in passwd file\n',
      );
      expect(r.status).toBe(125);
    });

    it('command not found: 127; not executable: 126', async () => {
      const a = await run({ args: ['no-such-command'] });
      expect(a.stderr).toBe('c2w: exec: "no-such-command": executable file not found in $PATH\n');
      expect(a.status).toBe(127);
      const b = await run({ args: ['/usr/bin/not-exec'] });
      expect(b.stderr).toMatch(/^c2w: exec: "\/usr\/bin\/not-exec": Permission denied\n$/);
      expect(b.status).toBe(126);
    });

    it('writes to the rootfs work (overlay over EROFS)', async () => {
      const r = await run({
        args: [
          'sh',
          '-c',
          'echo new > /srv/app/hello.txt && echo x > /etc/added && cat /srv/app/hello.txt /etc/added && hostname',
        ],
      });
      expect(r.stdout).toBe('new\nx\nc2w\n');
      expect(r.status).toBe(0);
    });

    it('container /dev, /etc/resolv.conf from nameserver records, loopback up', async () => {
      const r = await run({
        image: [['nameserver', '10.0.2.3']],
        args: [
          'sh',
          '-c',
          'ls /dev | tr "\\n" " "; echo; grep nameserver /etc/resolv.conf; grep -c localhost /etc/hosts; cat /sys/class/net/lo/operstate',
        ],
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(
        'fd full null ptmx pts random shm stderr stdin stdout tty urandom zero \nnameserver 10.0.2.3\n2\nunknown\n',
      );
    });

    it('mapped directory: reads host files, writes reach the host', async () => {
      const share = makeShare(join(work, 'share-rw'), 2);
      writeFileSync(join(share, '0', 'from-host'), 'host data\n');
      mkdirSync(join(share, '1', 'sub'));
      const r = await run({
        share,
        mounts: ['/mnt/share', '/data/two'],
        args: [
          'sh',
          '-c',
          'cat /mnt/share/from-host && echo guest data > /mnt/share/from-guest && echo over > /mnt/share/from-host && ls /data/two',
        ],
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('host data\nsub\n');
      expect(r.status).toBe(0);
      expect(readFileSync(join(share, '0', 'from-guest'), 'utf8')).toBe('guest data\n');
      expect(readFileSync(join(share, '0', 'from-host'), 'utf8')).toBe('over\n');
    });

    it('--entrypoint overrides the image entrypoint and drops its cmd', async () => {
      const image: [string, string][] = [
        ['entrypoint', '/usr/bin/show-args'],
        ['cmd', 'image-cmd'],
      ];
      const a = await run({ image, args: [] });
      expect(a.stdout).toBe('args:image-cmd\n');
      const b = await run({ image, args: ['run-arg'] });
      expect(b.stdout).toBe('args:run-arg\n');
      const c = await run({ image, args: ['--entrypoint=echo', 'hello'] });
      expect(c.stdout).toBe('hello\n');
      const d = await run({ image, args: ['--entrypoint', 'echo'] });
      expect(d.stdout).toBe('\n');
    });

    it('--no-stdin: stdin is /dev/null', async () => {
      const r = await run({ args: ['--no-stdin', 'sh', '-c', 'cat; echo hi'], stdin: 'ignored\n' });
      expect(r.stdout).toBe('hi\n');
      expect(r.status).toBe(0);
    });

    it('script on stdin to sh (non-tty, stdin-eof)', async () => {
      const script = 'echo one\nX=two\necho $X\necho three >&2\nexit 3\n';
      const r = await run({ args: ['sh'], stdin: script });
      expect(r.stdout).toBe('one\ntwo\n');
      expect(r.stderr).toBe('three\n');
      expect(r.status).toBe(3);
    });

    it('stdin bytes pass through raw (no CR/LF translation), binary-safe', async () => {
      const data = 'a\r\nb\n\x03\x04c';
      const r = await run({ args: ['sh', '-c', 'cat | od -An -c | tr -s " "'], stdin: data });
      expect(r.stdout.trim()).toBe('a \\r \\n b \\n 003 004 c');
    });

    it('tty mode: hvc0 is the controlling terminal, interactive sh', async () => {
      // field 7 of /proc/self/stat: the controlling tty, hvc0 = major 229 minor 0
      const a = await run({
        tty: true,
        args: ['sh', '-c', 'read -r p c s pp pg se t r < /proc/self/stat; echo tty=$t'],
      });
      expect(a.stdout).toBe('tty=58624\r\n');
      const b = await run({ tty: true, args: ['sh'], stdin: 'echo hi-$((6*7))\nexit 4\n' });
      expect(b.stdout).toContain('hi-42\r\n');
      expect(b.status).toBe(4);
    });

    it('no rootfs (disk=0): c2w error, status 125', async () => {
      const r = await run({ args: ['true'], disk: 0 });
      expect(r.stderr).toBe('c2w: no rootfs (the module carries no image: disk=0)\n');
      expect(r.status).toBe(125);
    });

    it('ready point: empty disk until resume, then a capacity change; time passes', async () => {
      const r = await run({
        lateDisk: true,
        resumeDelayMs: 2000,
        args: ['cat', '/srv/app/hello.txt'],
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('from the image\n');
      expect(r.status).toBe(0);
    });

    it('wall clock from the run config', async () => {
      const r = await run({ args: ['date', '+%Y'], time: 2_000_000_000 });
      expect(r.stdout).toBe('2033\n');
    });

    it('killed by a signal: 128+signal', async () => {
      const r = await run({ args: ['sh', '-c', 'kill -9 $$'] });
      expect(r.status).toBe(137);
    });
  });
}
