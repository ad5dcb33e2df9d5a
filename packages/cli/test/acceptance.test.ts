// The acceptance scenarios of issue 8 (../shared/brief/MISSION.md) on real backends: amd64
// busybox and Debian minbase (Bochs), riscv64 busybox (riscv64 machine), arm64 busybox (riscv64
// machine + qemu-user through binfmt_misc), each converted by the
// c2w CLI and run on every installed WASI runtime (wasmtime, wazero, Node).
// A backend whose VM module is not built (its nx artifact target) has its cases skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backends as binfmt } from '@c2w/backend-binfmt';
import { backend as bochs } from '@c2w/backend-bochs';
import { backend as riscv64 } from '@c2w/backend-riscv64';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  pushWithSkopeo,
  type RunningRegistry,
  startRegistry,
} from '../../../test/fixtures/images/registry.js';
import { installedRuntimes, runWasm } from '../../../test/harness/runtimes.js';
import {
  busyboxLayout,
  customForeignLayout,
  customLayout,
  debianLayout,
  foreignBusyboxLayout,
} from './images.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'packages/cli/dist/bin.js');
const runtimes = installedRuntimes();
const T = 180_000;

let running: Promise<RunningRegistry> | undefined;
/** A local docker-registry (127.0.0.1), started on first use. */
function registry(): Promise<RunningRegistry> {
  running ??= startRegistry({ auth: 'none' });
  return running;
}
afterAll(async () => {
  await (await running)?.stop();
});

interface Case {
  name: string;
  ref: () => string | Promise<string>;
  custom?: () => string;
  arch: string;
  uname: string;
  built: boolean;
}

const cases: Case[] = [
  {
    name: 'busybox amd64',
    ref: () => `oci:${busyboxLayout()}:amd64`,
    custom: () => `oci:${customLayout()}:custom-amd64`,
    arch: 'amd64',
    uname: 'x86_64',
    built: !bochs.missing(),
  },
  {
    name: 'debian minbase amd64 (local registry)',
    ref: async () => {
      const reg = await registry();
      pushWithSkopeo(debianLayout(), 'debian', `${reg.host}/c2w/debian:bookworm`);
      return `${reg.host}/c2w/debian:bookworm`;
    },
    arch: 'amd64',
    uname: 'x86_64',
    built: !bochs.missing(),
  },
  {
    name: 'busybox riscv64',
    ref: () => `oci:${busyboxLayout()}:riscv64`,
    custom: () => `oci:${customLayout()}:custom-riscv64`,
    arch: 'riscv64',
    uname: 'riscv64',
    built: !riscv64.missing(),
  },
  {
    name: 'busybox arm64 (binfmt)',
    ref: () => `oci:${foreignBusyboxLayout('arm64')}:arm64`,
    custom: () => `oci:${customForeignLayout('arm64')}:custom-arm64`,
    arch: 'arm64',
    uname: 'aarch64',
    built: binfmt.some((b) => b.arches.includes('arm64') && !b.missing()),
  },
];

function convert(ref: string, arch: string, out: string, extra: string[] = []) {
  const r = spawnSync(process.execPath, [bin, '-q', '--target-arch', arch, ...extra, ref, out], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`c2w ${ref} failed (${r.status}): ${r.stderr}`);
}

describe.each(cases)('$name', (c) => {
  const dir = mkdtempSync(join(tmpdir(), 'c2w-accept-'));
  const out = join(dir, 'out.wasm');
  let ref = '';
  beforeAll(async () => {
    if (!c.built) return;
    ref = await c.ref();
    convert(ref, c.arch, out);
  }, 600_000);

  describe.skipIf(!c.built).each(runtimes)('on %s', (rt) => {
    const run = (args: string[], opts: Parameters<typeof runWasm>[2] = {}) =>
      runWasm(rt, out, { timeoutMs: T - 10_000, ...opts, args });

    it(
      'echo -n hello',
      async () => {
        const r = await run(['echo', '-n', 'hello']);
        expect(r.stdout.toString()).toBe('hello');
        expect(r.status).toBe(0);
      },
      T,
    );

    it(
      "uname -m prints the image's arch",
      async () => {
        const r = await run(['uname', '-m']);
        expect(r.stdout.toString()).toBe(`${c.uname}\n`);
      },
      T,
    );

    it(
      'sh runs a script from stdin',
      async () => {
        const r = await run(['sh'], { stdin: 'echo one\nX=2; echo two $((X+1))\nexit 0\n' });
        expect(r.stdout.toString()).toContain('one\ntwo 3\n');
        expect(r.status).toBe(0);
      },
      T,
    );

    it(
      'writes inside the rootfs work (overlay)',
      async () => {
        const r = await run([
          'sh',
          '-c',
          'echo data > /newfile && cat /newfile && echo x >> /etc/passwd && tail -n1 /etc/passwd',
        ]);
        expect(r.stdout.toString()).toBe('data\nx\n');
        expect(r.status).toBe(0);
      },
      T,
    );

    it(
      '--dir: reads host files, writes new files and overwrites back',
      async () => {
        const share = mkdtempSync(join(tmpdir(), 'c2w-share-'));
        writeFileSync(join(share, 'from-host'), 'hello from host\n');
        mkdirSync(join(share, 'sub'));
        const r = await run(
          [
            'sh',
            '-c',
            'cat /mapped/dir/test/from-host && echo new > /mapped/dir/test/sub/new && echo over > /mapped/dir/test/from-host',
          ],
          { dirs: [{ host: share, guest: '/mapped/dir/test' }] },
        );
        expect(r.stdout.toString()).toBe('hello from host\n');
        expect(r.status).toBe(0);
        expect(readFileSync(join(share, 'sub/new'), 'utf8')).toBe('new\n');
        expect(readFileSync(join(share, 'from-host'), 'utf8')).toBe('over\n');
      },
      T,
    );

    it(
      'env from the runtime',
      async () => {
        const r = await run(['/bin/sh', '-c', 'echo -n $AAA $BBB'], {
          env: { AAA: 'hello', BBB: 'world' },
        });
        expect(r.stdout.toString()).toBe('hello world');
      },
      T,
    );

    it(
      '--entrypoint and --no-stdin',
      async () => {
        let r = await run(['--entrypoint=echo', 'hello']);
        expect(r.stdout.toString()).toBe('hello\n');
        r = await run(['--no-stdin', 'echo', 'hi']);
        expect(r.stdout.toString()).toBe('hi\n');
        expect(r.status).toBe(0);
      },
      T,
    );

    it(
      'exit status, stdout and stderr apart',
      async () => {
        const r = await run(['sh', '-c', 'echo out; echo err >&2; exit 7']);
        expect(r.status).toBe(7);
        expect(r.stdout.toString()).toBe('out\n');
        expect(r.stderr.toString()).toContain('err\n');
        expect(r.stderr.toString()).not.toContain('out');
      },
      T,
    );
  });

  it.skipIf(!c.built || !c.custom)(
    "honours the image's Entrypoint, Cmd, Env, WorkingDir, User",
    async () => {
      const cout = join(dir, 'custom.wasm');
      convert((c.custom as () => string)(), c.arch, cout);
      for (const rt of runtimes) {
        const r = await runWasm(rt, cout, { timeoutMs: T - 10_000 });
        expect(r.stdout.toString(), rt).toBe('hi-from-image from /srv/app as 1000:1000\n');
        expect(r.status).toBe(0);
      }
    },
    600_000,
  );

  it.skipIf(!c.built)(
    'c2w run (Node WASI): --env, --dir, args, exit status',
    () => {
      const share = mkdtempSync(join(tmpdir(), 'c2w-share-'));
      writeFileSync(join(share, 'f'), 'host file\n');
      const script = 'echo -n "$AAA "; cat /mnt/share/f; echo w > /mnt/share/g; exit 3';
      const r = spawnSync(
        process.execPath,
        [
          bin,
          'run',
          '--env',
          'AAA=hello',
          '--dir',
          `${share}::/mnt/share`,
          out,
          '--',
          'sh',
          '-c',
          script,
        ],
        { encoding: 'utf8', input: '', timeout: T - 10_000 },
      );
      expect(r.stdout).toBe('hello host file\n');
      expect(r.status).toBe(3);
      expect(readFileSync(join(share, 'g'), 'utf8')).toBe('w\n');
    },
    T,
  );

  it.skipIf(!c.built)(
    '--external-bundle: rootfs mapped at /.c2w-bundle',
    async () => {
      const edir = join(dir, 'ext');
      mkdirSync(edir);
      convert(ref, c.arch, join(edir, 'ext.wasm'), ['--external-bundle']);
      expect(existsSync(join(edir, 'rootfs.erofs'))).toBe(true);
      for (const rt of runtimes) {
        const r = await runWasm(rt, join(edir, 'ext.wasm'), {
          args: ['echo', '-n', 'external'],
          dirs: [{ host: edir, guest: '/.c2w-bundle' }],
          timeoutMs: T - 10_000,
        });
        expect(r.stdout.toString(), rt).toBe('external');
      }
    },
    600_000,
  );
});
