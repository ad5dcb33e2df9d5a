/**
 * Images for the end-to-end tests and benchmarks, built locally from Debian packages:
 * - busybox-static amd64 / riscv64 (test/fixtures/images, tags `amd64`, `riscv64`);
 * - Debian bookworm minbase amd64 (debootstrapped by packages/fsimage/test/fixtures/minbase.sh)
 *   as an OCI layout made with umoci (tag `debian`), cached in $C2W_CACHE/fixtures;
 * - `custom`: busybox amd64/riscv64 with its own Entrypoint, Cmd, Env, WorkingDir and User (umoci).
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debianAptOptions, ensureFixtures } from '../../../test/fixtures/images/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cache = process.env.C2W_CACHE ?? '/var/cache/c2w';
const VERSION = 1;

function umoci(args: string[]) {
  execFileSync('umoci', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Builds a layout once into $C2W_CACHE/fixtures/<name>-v<N> (atomic rename). */
function cached(name: string, build: (layout: string, work: string) => void): string {
  const dir = join(cache, 'fixtures', `${name}-v${VERSION}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  mkdirSync(join(cache, 'fixtures'), { recursive: true });
  const work = mkdtempSync(join(cache, 'fixtures', `.${name}-work-`));
  try {
    const layout = join(work, 'layout');
    build(layout, work);
    writeFileSync(join(layout, '.complete'), '');
    rmSync(dir, { recursive: true, force: true });
    renameSync(layout, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

export function busyboxLayout(): string {
  return ensureFixtures().layout;
}

export function debianTree(): string {
  return execFileSync('bash', [join(root, 'packages/fsimage/test/fixtures/minbase.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/** Debian bookworm minbase (amd64) as an OCI layout, tag `debian`. */
export function debianLayout(): string {
  const tree = debianTree();
  return cached('c2w-debian-minbase-layout', (layout, work) => {
    umoci(['init', '--layout', layout]);
    umoci(['new', '--image', `${layout}:debian`]);
    umoci(['unpack', '--image', `${layout}:debian`, join(work, 'b')]);
    execFileSync('cp', ['-a', `${tree}/.`, join(work, 'b/rootfs/')]);
    umoci(['repack', '--image', `${layout}:debian`, join(work, 'b')]);
    umoci([
      'config',
      '--image',
      `${layout}:debian`,
      '--os',
      'linux',
      '--architecture',
      'amd64',
      '--config.env',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--config.cmd',
      '/bin/bash',
    ]);
  });
}

/**
 * Busybox with its own run config, tags `custom-amd64`, `custom-riscv64`:
 * Entrypoint ["/bin/sh", "-c"], Cmd ['echo "$GREETING from $(pwd) as $(id -u):$(id -g)"'],
 * Env GREETING=hi-from-image, WorkingDir /srv/app, User 1000:1000.
 */
export function customLayout(): string {
  return customOf(busyboxLayout(), 'c2w-custom-busybox-layout', ['amd64', 'riscv64']);
}

/** The same run config over a foreign arch's busybox (foreignBusyboxLayout), tag `custom-ARCH`. */
export function customForeignLayout(arch: string): string {
  return customOf(foreignBusyboxLayout(arch), `c2w-custom-busybox-${arch}-layout`, [arch]);
}

function customOf(base: string, name: string, arches: string[]): string {
  return cached(name, (layout) => {
    cpSync(base, layout, { recursive: true });
    for (const arch of arches) {
      umoci([
        'config',
        '--image',
        `${layout}:${arch}`,
        '--tag',
        `custom-${arch}`,
        '--config.entrypoint',
        '/bin/sh',
        '--config.entrypoint',
        '-c',
        '--config.cmd',
        'echo "$GREETING from $(pwd) as $(id -u):$(id -g)"',
        '--config.env',
        'GREETING=hi-from-image',
        '--config.workingdir',
        '/srv/app',
        '--config.user',
        '1000:1000',
      ]);
    }
  });
}

/** OCI arch -> Debian arch and suite (mips64el left Debian with 13: it comes from 12). */
const DEBIAN_ARCH: Record<string, { arch: string; suite: string }> = {
  arm64: { arch: 'arm64', suite: 'trixie' },
  arm: { arch: 'armhf', suite: 'trixie' },
  '386': { arch: 'i386', suite: 'trixie' },
  ppc64le: { arch: 'ppc64el', suite: 'trixie' },
  s390x: { arch: 's390x', suite: 'trixie' },
  mips64le: { arch: 'mips64el', suite: 'bookworm' },
};

/**
 * Busybox (Debian's busybox-static) for a foreign arch (served by the binfmt backend), tag = the
 * OCI arch: /bin/busybox with a few applet links, Cmd /bin/sh, Env PATH=/bin.
 */
export function foreignBusyboxLayout(arch: string): string {
  const deb = DEBIAN_ARCH[arch];
  if (!deb) throw new Error(`no Debian arch for ${arch}`);
  return cached(`c2w-busybox-${arch}-layout`, (layout, work) => {
    const apt = debianAptOptions(
      join(cache, 'fixtures', `apt-${deb.arch}-${deb.suite}`),
      deb.arch,
      deb.suite,
    );
    const dl = join(work, 'dl');
    mkdirSync(dl);
    execFileSync('apt-get', [...apt, 'update'], { stdio: 'ignore' });
    execFileSync('apt-get', [...apt, 'download', `busybox-static:${deb.arch}`], {
      cwd: dl,
      stdio: 'ignore',
    });
    const x = join(work, 'x');
    execFileSync('sh', ['-c', `dpkg-deb -x "${dl}"/*.deb "${x}"`]);
    const rootfs = join(work, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    mkdirSync(join(rootfs, 'tmp'));
    const bb = existsSync(join(x, 'usr/bin/busybox')) ? 'usr/bin/busybox' : 'bin/busybox';
    cpSync(join(x, bb), join(rootfs, 'bin/busybox'));
    for (const app of ['sh', 'ls', 'cat', 'echo', 'uname', 'env', 'id', 'pwd', 'tail'])
      execFileSync('ln', ['-s', 'busybox', join(rootfs, 'bin', app)]);
    mkdirSync(join(rootfs, 'etc'));
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    umoci(['init', '--layout', layout]);
    umoci(['new', '--image', `${layout}:${arch}`]);
    umoci(['insert', '--image', `${layout}:${arch}`, rootfs, '/']);
    umoci([
      'config',
      '--image',
      `${layout}:${arch}`,
      '--architecture',
      arch,
      '--os',
      'linux',
      '--config.cmd',
      '/bin/sh',
      '--config.env',
      'PATH=/bin',
    ]);
  });
}
