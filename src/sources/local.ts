/**
 * A local image as an ImageSource: an OCI layout directory, an OCI archive or a docker-archive (plain or gzip),
 * from a file or stdin, told apart by content (sources/open.ts). An archive is unpacked into the store when the
 * image is resolved (verified on the way in); a layout's blobs are read where they are, each hashed by prepare()
 * before it is handed over. So the source is trusted: the engine does not hash its blobs a second time.
 */
import { createReadStream } from 'node:fs';
import type { BlobCache } from '../store/blob-cache.js';
import type { Descriptor } from '../oci/manifest.js';
import { openSource, type OpenedSource } from './open.js';
import type { BlobRange, ImageSource, OpenedBlob, ResolvedImage } from './source.js';

export interface LocalSource extends ImageSource {
  /** What the source turned out to be, once resolved. */
  readonly opened?: OpenedSource;
}

export function localSource(arg: string, store: BlobCache, opts: { stdin?: NodeJS.ReadableStream } = {}): LocalSource {
  let opened: OpenedSource | undefined;
  const checked = new Map<string, Promise<void>>();
  const path = (digest: string) => {
    if (!opened) throw new Error(`${arg}: a blob was asked for before the image was resolved`);
    return opened.pathOf(digest);
  };
  return {
    name: arg === '-' ? 'stdin' : arg,
    ranged: false,
    get opened() {
      return opened;
    },
    async resolve(o: { platform?: string; signal?: AbortSignal }): Promise<ResolvedImage> {
      opened = await openSource(arg, store, { platform: o.platform, signal: o.signal, stdin: opts.stdin });
      return { set: opened.set, platform: opened.platform, names: opened.names };
    },
    async openBlob(d: Descriptor, o: { range?: BlobRange }): Promise<OpenedBlob> {
      const start = o.range?.offset ?? 0;
      const end = o.range?.length !== undefined ? start + o.range.length - 1 : undefined;
      return { body: createReadStream(path(d.digest), { start, end, highWaterMark: 1 << 20 }), offset: start };
    },
    // A layout's blobs are checked before they are handed over (a file may have been edited by hand); an archive's
    // were verified on their way into the store.
    trusted: true,
    prepare: (d) => {
      let p = checked.get(d.digest);
      if (!p) {
        p = opened?.verify?.([d.digest]) ?? Promise.resolve();
        checked.set(d.digest, p);
      }
      return p;
    },
    localPath: (digest) => path(digest),
  };
}
