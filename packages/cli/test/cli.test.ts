// The `c2w` command, spawned as users run it (packages/cli/dist/bin.js, built by `nx build`).
// Conversions use the packing-contract fixture (packages/pack's footer.wasm) as the "VM module"
// of both backends (C2W_BOCHS_VM / C2W_RISCV64_VM): it prints what the bundle holds, so the
// whole path image -> EROFS -> packed module -> WASI runtime is checked without the emulators.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBundle } from '@c2w/pack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures } from '../../../test/fixtures/images/index.js';
import { pushWithSkopeo, startRegistry } from '../../../test/fixtures/images/registry.js';
import { installedRuntimes, runWasm } from '../../../test/harness/runtimes.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'packages/cli/dist/bin.js');
const fixtureVm = join(root, 'packages/pack/build/fixtures/footer.wasm');
const version = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')).version;

function c2w(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    env: { ...process.env, C2W_BOCHS_VM: fixtureVm, C2W_RISCV64_VM: fixtureVm, ...env },
    cwd,
    encoding: 'utf8',
    input: '',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function fresh() {
  return mkdtempSync(join(tmpdir(), 'c2w-cli-'));
}

function lines(s: string) {
  return s.split('\n').filter((l) => l !== '');
}

describe('c2w command line', () => {
  it('prerequisites are built (nx build cli, nx artifact pack)', () => {
    expect(existsSync(bin), 'run tools/nx run-many -t build').toBe(true);
    expect(existsSync(fixtureVm), 'run tools/nx run pack:artifact').toBe(true);
  });

  it('--version prints the version and the backends', () => {
    for (const flag of ['--version', '-v']) {
      const r = c2w([flag]);
      expect(r.status).toBe(0);
      expect(lines(r.stdout)[0]).toBe(`c2w ${version}`);
      expect(r.stdout).toMatch(/^backend bochs \(amd64\): built$/m);
      expect(r.stdout).toMatch(/^backend riscv64 \(riscv64\): built$/m);
    }
    const r = c2w(['--version'], { C2W_BOCHS_VM: '/nonexistent/vm.wasm' });
    expect(r.stdout).toMatch(/^backend bochs \(amd64\): not built$/m);
  });

  it('help, -h and --help print the usage', () => {
    for (const a of [['help'], ['-h'], ['--help']]) {
      const r = c2w(a);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: c2w \[options\] IMAGE \[OUTPUT\]/);
      expect(r.stdout).toContain('--external-bundle');
      expect(r.stderr).toBe('');
    }
  });

  const badCases: [string, string[], number, RegExp][] = [
    ['no image', [], 2, /^c2w: no IMAGE given/],
    ['unknown option', ['--frobnicate', 'x'], 2, /^c2w: unknown option --frobnicate/],
    ['too many arguments', ['a', 'b.wasm', 'c'], 2, /^c2w: too many arguments: c/],
    ['missing option value', ['x', '--target-arch'], 2, /^c2w: --target-arch needs a value/],
    ['bad platform', ['--platform', 'linux/', 'x'], 2, /^c2w: --platform linux\//],
    [
      'contradicting arch',
      ['--platform', 'linux/amd64', '--target-arch', 'riscv64', 'x'],
      2,
      /contradicts/,
    ],
    ['--to-js', ['--to-js', 'alpine', 'out'], 3, /^c2w: --to-js: .*not built yet/],
    [
      'unknown compression',
      ['--rootfs-compression', 'zstd', 'x'],
      2,
      /^c2w: --rootfs-compression zstd: expected none or lz4/,
    ],
    [
      'unsupported arch',
      ['--target-arch', 'loong64', 'oci:/x'],
      3,
      /no backend for target architecture loong64/,
    ],
    ['missing OCI layout', ['oci:/nonexistent/layout:amd64', 'o.wasm'], 1, /\/nonexistent\/layout/],
    ['bad reference', ['Not A Ref!!', 'o.wasm'], 1, /Not A Ref!!/],
  ];
  it.each(badCases)('%s: one-line error, exit code as documented', (_n, args, code, msg) => {
    const dir = fresh();
    const r = c2w(args, {}, dir);
    expect(r.status).toBe(code);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
    expect(r.stdout).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a backend whose VM module is not built: exit 3 naming the module, before any work', () => {
    const dir = fresh();
    const r = c2w(
      ['oci:/nonexistent:amd64', 'o.wasm'],
      { C2W_BOCHS_VM: '/nope/bochs-vm.wasm' },
      dir,
    );
    expect(r.status).toBe(3);
    expect(lines(r.stderr)).toEqual([
      "c2w: the bochs backend's VM module is not built (/nope/bochs-vm.wasm); build it with `tools/nx run emulator-bochs:artifact`",
    ]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('OUTPUT in a missing directory or naming a directory: exit 1 naming it', () => {
    const { layout } = ensureFixtures();
    const dir = fresh();
    let r = c2w([`oci:${layout}:amd64`, join(dir, 'no/such/dir/o.wasm')]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(join(dir, 'no/such/dir/o.wasm'));
    mkdirSync(join(dir, 'sub'));
    r = c2w([`oci:${layout}:amd64`, join(dir, 'sub')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sub: is a directory/);
    expect(readdirSync(dir)).toEqual(['sub']);
  });

  it('a VM module that is not wasm: exit 1 naming it, no partial output', () => {
    const { layout } = ensureFixtures();
    const dir = fresh();
    writeFileSync(join(dir, 'vm.wasm'), 'garbage');
    const r = c2w([`oci:${layout}:amd64`, 'o.wasm'], { C2W_BOCHS_VM: join(dir, 'vm.wasm') }, dir);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([`c2w: ${join(dir, 'vm.wasm')}: not a wasm module`]);
    expect(readdirSync(dir)).toEqual(['vm.wasm']);
  });
});

/** The image's config as umoci/skopeo-independent JSON: from the layout, via skopeo. */
function imageConfig(layout: string, tag: string) {
  const raw = execFileSync('skopeo', ['inspect', '--config', `oci:${layout}:${tag}`], {
    encoding: 'utf8',
  });
  return JSON.parse(raw).config as {
    Entrypoint?: string[];
    Cmd?: string[];
    Env?: string[];
    WorkingDir?: string;
    User?: string;
  };
}

function parse(stdout: string) {
  const m = new Map<string, string[]>();
  for (const l of lines(stdout)) {
    const eq = l.indexOf('=');
    const k = l.slice(0, eq);
    m.set(k, [...(m.get(k) ?? []), l.slice(eq + 1)]);
  }
  return m;
}

describe.each([
  ['amd64', 'amd64'],
  ['riscv64', 'riscv64'],
])('c2w oci:LAYOUT:%s (fixture VM)', (tag, arch) => {
  const runtimes = installedRuntimes();
  const dir = fresh();
  const out = join(dir, 'out.wasm');

  it('converts, atomically, with a summary line', () => {
    const { layout } = ensureFixtures();
    const r = c2w(
      ['--target-arch', arch, '--debug-image', `oci:${layout}:${tag}`, 'out.wasm'],
      {},
      dir,
    );
    expect(r.stderr).toMatch(
      new RegExp(
        `^c2w: wrote out.wasm \\(.* MB; linux/${arch} on ${arch === 'amd64' ? 'bochs' : 'riscv64'};`,
      ),
    );
    expect(r.status).toBe(0);
    // Not a TTY: no progress, just the summary.
    expect(lines(r.stderr)).toHaveLength(1);
    expect(readdirSync(dir)).toEqual(['out.wasm']);
  });

  it('packs a valid EROFS of the image and its run config', async () => {
    const { layout } = ensureFixtures();
    const b = await readBundle(out);
    expect(b.footer?.external).toBe(false);
    const rootfs = join(dir, 'rootfs.check');
    writeFileSync(rootfs, b.rootfs ?? new Uint8Array());
    execFileSync('fsck.erofs', [rootfs]);
    const cfg = imageConfig(layout, tag);
    const recs = b.records.map(([k, v]) => `${k}=${v}`);
    for (const e of cfg.Entrypoint ?? []) expect(recs).toContain(`entrypoint=${e}`);
    expect(recs.filter((r) => r.startsWith('cmd='))).toEqual(
      (cfg.Cmd ?? []).map((c) => `cmd=${c}`),
    );
    expect(recs).toContain(`workdir=${cfg.WorkingDir || '/'}`);
    expect(recs).toContain('debug=1');
  });

  it('--rootfs-compression lz4: a smaller LZ4 EROFS (the default is uncompressed)', async () => {
    const { layout } = ensureFixtures();
    const other = fresh();
    const args = ['--target-arch', arch, '--rootfs-compression', 'lz4', `oci:${layout}:${tag}`];
    expect(c2w([...args, 'lz4.wasm'], {}, other).status).toBe(0);
    expect(
      c2w(['--target-arch', arch, `oci:${layout}:${tag}`, 'plain.wasm'], {}, other).status,
    ).toBe(0);
    const plain = Buffer.from(
      (await readBundle(join(other, 'plain.wasm'))).rootfs ?? new Uint8Array(),
    );
    const lz4 = Buffer.from((await readBundle(join(other, 'lz4.wasm'))).rootfs ?? new Uint8Array());
    // Superblock feature_incompat (byte 1024 + 80), bit 0: lz4_0padding, set by LZ4 images.
    expect(plain.readUInt32LE(1104) & 1).toBe(0);
    expect(lz4.readUInt32LE(1104) & 1).toBe(1);
    expect(lz4.length).toBeLessThan(plain.length);
    const rootfs = join(other, 'rootfs.check');
    writeFileSync(rootfs, lz4);
    execFileSync('fsck.erofs', [rootfs]);
  });

  it.each(runtimes)('the packed module reads its bundle on %s', async (rt) => {
    const b = await readBundle(out);
    const sha = createHash('sha256')
      .update(b.rootfs ?? new Uint8Array())
      .digest('hex');
    const r = await runWasm(rt, out, {
      args: ['--entrypoint=echo', 'hi'],
      env: { A: 'b' },
      timeoutMs: 60_000,
    });
    expect(r.status).toBe(0);
    const m = parse(r.stdout.toString());
    expect(m.get('rootfs_sha256')).toEqual([sha]);
    expect(m.get('record')).toEqual(b.records.map(([k, v]) => `${k}=${v}`));
    expect(m.get('arg')).toEqual(['--entrypoint=echo', 'hi']);
    expect(m.get('envv')).toEqual(['A=b']);
  });

  it('c2w run passes args, env and dirs in order', () => {
    const share = fresh();
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'run',
        '--env',
        'K=V',
        '--dir',
        `${share}::/mnt/share`,
        '--dir',
        `${dir}::/other`,
        out,
        '--',
        'sh',
        '-c',
        'exit 7',
      ],
      { encoding: 'utf8', input: '' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = parse(r.stdout);
    expect(m.get('arg')).toEqual(['sh', '-c', 'exit 7']);
    expect(m.get('envv')).toEqual(['K=V']);
    expect(m.get('preopen')).toEqual(['/mnt/share', '/other']);
  });
});

describe('progress', () => {
  it('--quiet prints nothing; a TTY gets progress lines', () => {
    const { layout } = ensureFixtures();
    const dir = fresh();
    const q = c2w(['-q', `oci:${layout}:amd64`, 'q.wasm'], {}, dir);
    expect(q.status).toBe(0);
    expect(q.stderr).toBe('');
    // util-linux `script` gives c2w a pseudo-terminal.
    const cmd = `${process.execPath} ${bin} oci:${layout}:amd64 t.wasm`;
    const t = spawnSync('script', ['-qec', cmd, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, C2W_BOCHS_VM: fixtureVm },
      encoding: 'utf8',
      input: '',
    });
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/layer 1 \(sha256:[0-9a-f]{12}\)/);
    expect(t.stdout).toMatch(/packing: .* 100%/);
    expect(t.stdout).toContain('c2w: wrote t.wasm');
  });
});

describe('--external-bundle (fixture VM)', () => {
  it('writes rootfs.erofs next to the module; c2w run maps it at /.c2w-bundle', async () => {
    const { layout } = ensureFixtures();
    const dir = fresh();
    const r = c2w(['--external-bundle', `oci:${layout}:amd64`, 'ext.wasm'], {}, dir);
    expect(r.status).toBe(0);
    expect(lines(r.stderr)[1]).toMatch(/rootfs in .*rootfs\.erofs; run it with .*::\/\.c2w-bundle/);
    expect(readdirSync(dir).sort()).toEqual(['ext.wasm', 'rootfs.erofs']);
    const size = readFileSync(join(dir, 'rootfs.erofs')).length;
    const b = await readBundle(join(dir, 'ext.wasm'));
    expect(b.footer).toMatchObject({
      external: true,
      flags: 1,
      rootfsOffset: 0,
      rootfsLength: size,
    });
    execFileSync('fsck.erofs', [join(dir, 'rootfs.erofs')]);
    const run = spawnSync(process.execPath, [bin, 'run', join(dir, 'ext.wasm')], {
      encoding: 'utf8',
      input: '',
    });
    expect(run.status).toBe(0);
    const m = parse(run.stdout);
    expect(m.get('preopen')).toEqual(['/.c2w-bundle']);
    expect(m.get('external_rootfs_size')).toEqual([String(size)]);
  });

  it('c2w run: a module file that does not exist exits 125 naming it', () => {
    const r = spawnSync(process.execPath, [bin, 'run', '/nonexistent/m.wasm'], {
      encoding: 'utf8',
      input: '',
    });
    expect(r.status).toBe(125);
    expect(lines(r.stderr)).toEqual(['c2w: /nonexistent/m.wasm: no such module file']);
  });

  it("c2w run: the module's exit status is the process's", () => {
    // The bare fixture (no bundle) exits 3.
    const r = spawnSync(process.execPath, [bin, 'run', fixtureVm], { encoding: 'utf8', input: '' });
    expect(r.stdout).toContain('bundle=none');
    expect(r.status).toBe(3);
  });

  it('c2w run: stdin is interactive (each line answered before the next is sent)', async () => {
    const { layout } = ensureFixtures();
    const dir = fresh();
    expect(c2w([`oci:${layout}:amd64`, 'i.wasm'], {}, dir).status).toBe(0);
    const child = spawn(process.execPath, [bin, 'run', join(dir, 'i.wasm'), '--', 'cat-stdin'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (b) => {
      err += b;
    });
    const waitFor = (s: string) =>
      new Promise<void>((res, rej) => {
        const timer = setTimeout(
          () => rej(new Error(`timeout waiting for ${s}; got ${out}`)),
          30_000,
        );
        const check = () => {
          if (out.includes(s)) {
            clearTimeout(timer);
            child.stdout.off('data', onData);
            res();
          }
        };
        const onData = (b: Buffer) => {
          out += b;
          check();
        };
        child.stdout.on('data', onData);
        check();
      });
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    child.stdin.write('one\n');
    await waitFor('stdin=one\n');
    child.stdin.write('two\n');
    await waitFor('stdin=two\n');
    child.stdin.end();
    await waitFor('stdin_eof=1\n');
    expect(await exited).toBe(0);
    expect(err).toBe('');
  });
});

describe('c2w REGISTRY/NAME:TAG (local docker-registry, fixture VM)', () => {
  let reg: Awaited<ReturnType<typeof startRegistry>>;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'none' });
    pushWithSkopeo(
      ensureFixtures().layout,
      'multi',
      `${reg.host}/c2w/busybox:latest`,
      undefined,
      true,
    );
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it.each([
    ['amd64', 'bochs'],
    ['riscv64', 'riscv64'],
  ])('pulls the %s image of a multi-platform index', async (arch, backend) => {
    const dir = fresh();
    const r = c2w(
      ['--target-arch', arch, `${reg.host}/c2w/busybox`, 'o.wasm'],
      { C2W_CACHE: join(dir, 'cache') },
      dir,
    );
    expect(r.stderr).toMatch(new RegExp(`linux/${arch} on ${backend};`));
    expect(r.status).toBe(0);
    const b = await readBundle(join(dir, 'o.wasm'));
    expect(b.records).toContainEqual(['env', `ARCH=${arch}`]);
  });

  it('an unknown repository: exit 1, one line naming it, no output', () => {
    const dir = fresh();
    const r = c2w([`${reg.host}/c2w/nosuch:1.0`, 'o.wasm'], { C2W_CACHE: join(dir, 'cache') }, dir);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(`${reg.host}/c2w/nosuch:1.0`);
    expect(readdirSync(dir).filter((f) => f !== 'cache')).toEqual([]);
  });
});
