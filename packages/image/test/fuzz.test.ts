import {
  ContentSpool,
  ImageError,
  parseManifestOrIndex,
  parsePax,
  parseRegistryRef,
  RootfsBuilder,
  readTar,
} from '@c2w/image';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTar } from '../../../test/fixtures/images/tarwriter.js';

/** Only ImageError may escape the parsers, whatever the input. */
function onlyImageErrors(e: unknown) {
  if (!(e instanceof ImageError)) throw e;
  expect(e.message).not.toContain('\n');
}

const seed = makeTar([
  { name: 'dir', type: '5' },
  {
    name: 'dir/file',
    data: 'hello world\n'.repeat(50),
    pax: { 'SCHILY.xattr.user.a': 'b', mtime: '12.5' },
  },
  { name: 'dir/link', type: '2', linkname: 'file' },
  { name: 'dir/hard', type: '1', linkname: 'dir/file' },
  { name: 'dir/.wh.gone' },
  { name: `${'long/'.repeat(30)}name`, data: 'x' },
  { name: 'dev', type: '3', devmajor: 1, devminor: 3 },
]);

let spool: ContentSpool;
beforeAll(async () => {
  spool = await ContentSpool.create();
});
afterAll(() => spool.dispose());

async function applyBytes(b: Uint8Array, chunk: number) {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += chunk) chunks.push(b.subarray(i, i + chunk));
  const builder = new RootfsBuilder(spool);
  await builder.applyLayer(
    readTar(
      (async function* () {
        yield* chunks;
      })(),
    ),
  );
  return builder.toTree();
}

describe('fuzz: tar reader + layer application', () => {
  it('the unmodified seed applies', async () => {
    const t = await applyBytes(seed, 100);
    expect(t.get('/dir/hard')?.type).toBe('hardlink');
  });

  it('mutated tars either apply or fail with an ImageError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(seed.length),
        fc.integer({ min: 1, max: 4096 }),
        async (flips, cut, chunk) => {
          const b = Buffer.from(seed);
          for (const [pos, v] of flips) b[pos] = v;
          try {
            await applyBytes(b.subarray(0, Math.max(cut, 1)), chunk);
          } catch (e) {
            onlyImageErrors(e);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('random bytes after a valid header stream', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (tail) => {
        try {
          await applyBytes(Buffer.concat([seed.subarray(0, 512), tail]), 512);
        } catch (e) {
          onlyImageErrors(e);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('PAX records', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          parsePax(Buffer.from(b));
        } catch (e) {
          onlyImageErrors(e);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('fuzz: manifest parser and references', () => {
  const descriptor = fc.record(
    {
      mediaType: fc.oneof(fc.constant('application/vnd.oci.image.layer.v1.tar+gzip'), fc.string()),
      digest: fc.oneof(fc.constant(`sha256:${'a'.repeat(64)}`), fc.string()),
      size: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string()),
      platform: fc.anything(),
    },
    { requiredKeys: [] },
  );
  const doc = fc.record(
    {
      schemaVersion: fc.oneof(fc.constant(2), fc.anything()),
      mediaType: fc.oneof(
        fc.constant('application/vnd.oci.image.index.v1+json'),
        fc.constant('application/vnd.oci.image.manifest.v1+json'),
        fc.constant('application/vnd.docker.distribution.manifest.v2+json'),
        fc.string(),
      ),
      manifests: fc.oneof(fc.array(descriptor), fc.anything()),
      config: fc.oneof(descriptor, fc.anything()),
      layers: fc.oneof(fc.array(descriptor), fc.anything()),
      annotations: fc.anything(),
    },
    { requiredKeys: [] },
  );

  it('structured documents', () => {
    fc.assert(
      fc.property(doc, fc.option(fc.string()), (d, ct) => {
        try {
          const r = parseManifestOrIndex(Buffer.from(JSON.stringify(d)), ct ?? undefined, 'fuzz');
          if (r.kind === 'manifest')
            for (const l of r.layers) expect(l.digest).toMatch(/^sha(256|512):[0-9a-f]+$/);
        } catch (e) {
          onlyImageErrors(e);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          parseManifestOrIndex(b, undefined, 'fuzz');
        } catch (e) {
          onlyImageErrors(e);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('image references', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          const r = parseRegistryRef(s);
          expect(r.repository).not.toMatch(/\.\.|^\//);
        } catch (e) {
          onlyImageErrors(e);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
