/**
 * zstd layers decompress on every runtime: through fzstd on Node 20, and through node:zlib on a Node that has it
 * (22.15+), each checked against the zstd CLI's own compression of the same bytes.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { chain, compressionOf, decompressorFor, hasNativeZstd, zstdDecompressor } from '../../src/oci/decompress.js';
import { tarOf } from '../../src/oci/build.js';
import { describeWithTool } from '../helpers/tools.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function zstd(data: Buffer, ...args: string[]): Buffer {
  const r = spawnSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr}`);
  return r.stdout;
}

/** Streams `input` through `t` in 64 KiB chunks and collects what comes out. */
async function through(t: NodeJS.ReadWriteStream, input: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += 65536) parts.push(input.subarray(i, i + 65536));
  await pipeline(Readable.from(parts), t, new Writable({ write: (c, _e, cb) => (chunks.push(c), cb()) }));
  return Buffer.concat(chunks);
}

/** A layer-like payload: a real tar with compressible text and incompressible random bytes, over 4 MiB. */
async function payload(): Promise<Buffer> {
  return tarOf([
    { path: 'etc/', type: 'directory' },
    { path: 'etc/text', content: 'the quick brown fox\n'.repeat(100_000) },
    { path: 'bin/blob', content: randomBytes(2 * 1024 * 1024 + 17), mode: 0o755 },
  ]);
}

/** A Node.js binary whose zlib has zstd: this one, or the one CI installs (ECRX_TEST_NODE_ZSTD). */
function nodeWithZstd(): string | undefined {
  if (hasNativeZstd()) return process.execPath;
  return process.env.ECRX_TEST_NODE_ZSTD || undefined;
}

test('the first bytes tell gzip, zstd and plain apart', () => {
  expect(compressionOf(gzipSync(Buffer.from('x')))).toBe('gzip');
  expect(compressionOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04]))).toBe('zstd');
  expect(compressionOf(Buffer.from('ustar'))).toBe('none');
  expect(compressionOf(Buffer.from([0x28, 0xb5]))).toBe('none');
  expect(decompressorFor(Buffer.from('plain tar'))).toBeUndefined();
});

describeWithTool('zstd', 'zstd through the package (fzstd), as on Node 20', () => {
  test('a tar compressed by the zstd CLI comes back byte for byte, in one frame or several', async () => {
    const tar = await payload();
    expect(sha(await through(zstdDecompressor('package'), zstd(tar)))).toBe(sha(tar));
    expect(sha(await through(zstdDecompressor('package'), zstd(tar, '-19', '--long=24')))).toBe(sha(tar));
    const twoFrames = Buffer.concat([zstd(tar.subarray(0, 1_000_000)), zstd(tar.subarray(1_000_000))]);
    expect(sha(await through(decompressorFor(twoFrames, 'package')!, twoFrames))).toBe(sha(tar));
  });

  test('a corrupt stream fails with INVALID_IMAGE, and chain() passes the failure to the end', async () => {
    const good = zstd(await payload());
    const bad = Buffer.concat([good.subarray(0, 100), Buffer.alloc(4096, 0xab), good.subarray(5000)]);
    await expect(through(zstdDecompressor('package'), bad)).rejects.toMatchObject({ code: 'INVALID_IMAGE' });
    // Piped with chain(), the reader of the last stream sees the failure instead of waiting for an end.
    const end = chain(Readable.from([bad]), zstdDecompressor('package'), new PassThrough());
    await expect(
      (async () => {
        for await (const _ of end) void _;
      })(),
    ).rejects.toMatchObject({ code: 'INVALID_IMAGE' });
  });
});

const zstdNode = nodeWithZstd();
const describeNative = zstdNode || process.env.CI === 'true' ? describe : describe.skip;
if (!zstdNode && process.env.CI !== 'true')
  process.stderr.write(
    'note: no Node.js with zlib zstd (set ECRX_TEST_NODE_ZSTD): skipping the node:zlib path (it runs in CI)\n',
  );

describeWithTool('zstd', 'zstd through node:zlib (Node 22.15+)', () => {
  describeNative('on a runtime that has it', () => {
    let dir: string;
    beforeAll(() => {
      if (!zstdNode)
        throw new Error('CI needs a Node.js with zlib zstd: .ci/run installs one and sets ECRX_TEST_NODE_ZSTD');
      dir = mkdtempSync(join(tmpdir(), 'ecrx-zstd-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** Runs the compiled module under that runtime with impl 'native'; prints the sha256 or the error code. */
    const runNative = (file: string) => {
      const mod = fileURLToPath(new URL('../../src/oci/decompress.js', import.meta.url));
      const script = `
        import { createReadStream } from 'node:fs';
        import { createHash } from 'node:crypto';
        import { Writable } from 'node:stream';
        import { pipeline } from 'node:stream/promises';
        const { zstdDecompressor } = await import(${JSON.stringify(mod)});
        const h = createHash('sha256');
        try {
          await pipeline(createReadStream(${JSON.stringify(file)}), zstdDecompressor('native'), new Writable({ write: (c, _e, cb) => (h.update(c), cb()) }));
          console.log(h.digest('hex'));
        } catch (err) { console.log('error ' + err.code); }`;
      const r = spawnSync(zstdNode!, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`node failed: ${r.stderr}`);
      return r.stdout.trim();
    };

    test('decompresses what the zstd CLI wrote, and calls a corrupt stream INVALID_IMAGE', async () => {
      const tar = await payload();
      const good = zstd(tar);
      writeFileSync(join(dir, 'good.zst'), good);
      writeFileSync(
        join(dir, 'bad.zst'),
        Buffer.concat([good.subarray(0, 100), Buffer.alloc(4096, 0xab), good.subarray(5000)]),
      );
      expect(runNative(join(dir, 'good.zst'))).toBe(sha(tar));
      expect(runNative(join(dir, 'bad.zst'))).toBe('error INVALID_IMAGE');
    });
  });
});
