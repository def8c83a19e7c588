import { createReadStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export interface TarEntry {
  name: string;
  type: string;
  size: number;
  sha256?: string;
  body?: Buffer;
}

/** Lists a tar (file path or bytes) with each file's sha256; small bodies are kept. */
export async function readTar(source: string | Buffer): Promise<TarEntry[]> {
  const tar = await import('tar-stream');
  const extract = tar.extract();
  const entries: TarEntry[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const h = createHash('sha256');
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of entry) {
        h.update(c as Buffer);
        size += (c as Buffer).length;
        if (size <= 1 << 20) chunks.push(c as Buffer);
      }
      entries.push({
        name: entry.header.name,
        type: entry.header.type ?? 'file',
        size,
        sha256: `sha256:${h.digest('hex')}`,
        body: size <= 1 << 20 ? Buffer.concat(chunks) : undefined,
      });
    }
  })();
  if (typeof source === 'string') createReadStream(source).pipe(extract);
  else extract.end(source);
  await done;
  return entries;
}

export const sha256File = (path: string) => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

/** Every file under dir, relative, sorted. */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(join(dir, rel)).isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}
