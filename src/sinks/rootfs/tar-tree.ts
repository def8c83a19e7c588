/**
 * Streams a flattened tree as a tar, sorted, never following a link: modes, owners and times are the layers' own
 * (recorded while unpacking, since an unprivileged process cannot give files another owner, and a mode like 000
 * would keep it from reading them back), and files that share an inode are written once, then as hard links.
 */
import {
  closeSync,
  constants,
  createReadStream,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Meta } from './nodes.js';

// tar-stream turns a mode of 0 into its default (0644/0755): the file-type bits keep a real 000 a non-zero number.
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

const SMALL = 256 * 1024;

/** A small file's bytes in one buffer (and the descriptor closed); a file that changed size is an error. */
function readBody(fd: number, size: number): Buffer {
  try {
    const body = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, body, done, size - done, done);
      if (n === 0) throw new Error(`a file of the export tree shrank while being read (${done} of ${size} bytes)`);
      done += n;
    }
    return body;
  } finally {
    closeSync(fd);
  }
}

export async function tarTree(root: string, out: Writable, meta: Map<string, Meta>): Promise<void> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const done = pipeline(pack, out);
  done.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
  const firstName = new Map<string, string>();
  // The callback gets an entry's error; the listener keeps a destroyed pack's entries from throwing it again.
  const add = (header: Record<string, unknown>, body?: Buffer) =>
    new Promise<void>((res, rej) => {
      const done = (e?: Error | null) => (e ? rej(e) : res());
      (body ? pack.entry(header as never, body, done) : pack.entry(header as never, done)).on('error', () => undefined);
    });
  const walk = async (rel: string): Promise<void> => {
    // Synchronous listing and reads: one file at a time anyway, and a thread-pool hop per call cost most of the time.
    for (const name of readdirSync(rel ? join(root, rel) : root).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const path = join(root, r);
      const st = lstatSync(path);
      const m = meta.get(r);
      const common = { mtime: m?.mtime ?? st.mtime, uid: m?.uid ?? 0, gid: m?.gid ?? 0 }; // a directory no layer named: root's, as in an image
      const mode = m?.mode ?? st.mode & 0o7777;
      if (st.isDirectory()) {
        await add({ ...common, name: `${r}/`, type: 'directory', mode: S_IFDIR | mode });
        await walk(r);
      } else if (st.isSymbolicLink()) {
        await add({ ...common, name: r, type: 'symlink', mode: S_IFLNK | 0o777, linkname: readlinkSync(path) });
      } else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? firstName.get(inode) : undefined;
        if (first !== undefined) {
          await add({ ...common, name: r, type: 'link', mode: S_IFREG | mode, linkname: first });
          continue;
        }
        if (st.nlink > 1) firstName.set(inode, r);
        const header = { ...common, name: r, type: 'file', mode: S_IFREG | mode, size: st.size };
        const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
        if (st.size <= SMALL) {
          const body = readBody(fd, st.size);
          await add(header, body);
          continue;
        }
        let entry;
        try {
          entry = pack.entry(header as never);
        } catch (err) {
          closeSync(fd); // the pack was already destroyed (a closed stdout)
          throw err;
        }
        await pipeline(createReadStream('', { fd, highWaterMark: 1 << 20 }), entry); // closes fd
      }
    }
  };
  try {
    await walk('');
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
  }
  await done; // the first error of either side: a closed stdout (EPIPE) is reported as that, not as what it broke
}
