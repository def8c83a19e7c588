/**
 * Applies an image's layers in order onto a directory: OCI whiteouts (`.wh.NAME` deletes, `.wh..wh..opq` empties a
 * directory of what lower layers put there), regular files with their modes, directories, symbolic and hard links.
 * Paths are confined to the target (see secure-path.ts); device nodes are refused unless running as root, where
 * they are skipped with a notice since Node cannot create them.
 */
import { createReadStream, createWriteStream, promises as fsp, lstatSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EcrxError } from '../core/errors.js';
import { cleanLayerPath, secureJoin } from './secure-path.js';
import { chain, zstdDecompressor } from '../oci/decompress.js';

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Some writers (umoci's insert among them) end a layer right after the last file's bytes, without the block padding
 * and end-of-archive blocks. Tools tolerate that; so does ecrx, by completing the stream with zeros.
 */
class TarCompleter extends Transform {
  private bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    cb(null, Buffer.alloc(((512 - (this.bytes % 512)) % 512) + 1024));
  }
}

async function openLayer(path: string): Promise<Readable> {
  const fh = await fsp.open(path, 'r');
  const head = Buffer.alloc(4);
  await fh.read(head, 0, 4, 0);
  await fh.close();
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (head[0] === 0x1f && head[1] === 0x8b) return raw.pipe(createGunzip()).pipe(new TarCompleter());
  if (head.readUInt32LE(0) === 0xfd2fb528) return chain(raw, zstdDecompressor(), new TarCompleter());
  return raw.pipe(new TarCompleter());
}

async function removeAll(path: string): Promise<void> {
  await fsp.rm(path, { recursive: true, force: true });
}

async function removeExisting(path: string, keepDir = false): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (keepDir && st.isDirectory()) return;
  await removeAll(path);
}

export interface FlattenOptions {
  notice?: (text: string) => void;
  signal?: AbortSignal;
}

export async function applyLayers(root: string, layers: string[], opts: FlattenOptions = {}): Promise<void> {
  const dirModes = new Map<string, number>();
  for (const layer of layers) {
    const thisLayer = new Set<string>();
    const tar = await import('tar-stream');
    const extract = tar.extract();
    const work = (async () => {
      for await (const entry of extract) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        const h = entry.header;
        const rel = cleanLayerPath(h.name);
        const base = rel.slice(rel.lastIndexOf('/') + 1);
        const parentRel = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
        const drain = async () => {
          for await (const _ of entry) void _;
        };
        if (rel === '') {
          await drain();
          continue;
        }
        if (base === '.wh..wh..opq') {
          // The trailing '.' makes secureJoin follow the directory itself if it is a link inside the image.
          const target = parentRel === '' ? root : secureJoin(root, `${parentRel}/.`);
          try {
            for (const child of readdirSync(target)) {
              const childRel = parentRel ? `${parentRel}/${child}` : child;
              const keep = thisLayer.has(childRel) || [...thisLayer].some((p) => p.startsWith(`${childRel}/`));
              if (!keep) await removeAll(join(target, child));
            }
          } catch {
            // nothing there yet
          }
          await drain();
          continue;
        }
        if (base.startsWith('.wh.')) {
          const victim = parentRel ? `${parentRel}/${base.slice(4)}` : base.slice(4);
          await removeAll(secureJoin(root, victim));
          await drain();
          continue;
        }
        const dest = secureJoin(root, rel);
        if (relative(root, dest).startsWith('..')) throw new EcrxError('INVALID_IMAGE', `Refusing to write ${rel} outside the target`);
        await fsp.mkdir(dirname(dest), { recursive: true });
        thisLayer.add(rel);
        const mode = (h.mode ?? 0o644) & 0o7777;
        switch (h.type) {
          case 'directory': {
            await removeExisting(dest, true);
            await fsp.mkdir(dest, { recursive: true });
            dirModes.set(dest, mode);
            await drain();
            break;
          }
          case 'file':
          case 'contiguous-file': {
            await removeExisting(dest);
            await pipeline(entry, createWriteStream(dest, { mode: 0o600 }));
            await fsp.chmod(dest, mode);
            break;
          }
          case 'symlink': {
            await removeExisting(dest);
            await fsp.symlink(h.linkname ?? '', dest);
            await drain();
            break;
          }
          case 'link': {
            const targetRel = cleanLayerPath(h.linkname ?? '');
            const target = secureJoin(root, targetRel);
            if (relative(root, target).startsWith('..')) throw new EcrxError('INVALID_IMAGE', `Hard link ${rel} points outside the image (${h.linkname})`);
            await removeExisting(dest);
            try {
              await fsp.link(target, dest);
            } catch (err) {
              throw new EcrxError('INVALID_IMAGE', `Hard link ${rel} -> ${h.linkname}: the target is not in the image`, { cause: err });
            }
            await drain();
            break;
          }
          case 'character-device':
          case 'block-device':
          case 'fifo': {
            if (h.type !== 'fifo' && !isRoot()) {
              throw new EcrxError('PERMISSION_DENIED', `The image has a device node ${rel}; creating device nodes needs root`, { hint: 'Run as root, or use umoci unpack --rootless, which skips them.' });
            }
            opts.notice?.(`skipped ${h.type} ${rel} (Node.js cannot create it)`);
            await drain();
            break;
          }
          default:
            await drain();
        }
      }
    })();
    try {
      await Promise.all([pipeline(await openLayer(layer), extract), work]);
    } catch (err) {
      extract.destroy();
      if (err instanceof EcrxError) throw err;
      throw new EcrxError('INVALID_IMAGE', `A layer could not be unpacked: ${(err as Error).message}`, { cause: err });
    }
  }
  // Directory modes last, deepest first, so a read-only directory did not stop its own children being written.
  for (const [dir, mode] of [...dirModes].sort((a, b) => b[0].length - a[0].length)) {
    try {
      if (lstatSync(dir).isDirectory()) await fsp.chmod(dir, mode);
    } catch {
      // removed by a later layer
    }
  }
}
