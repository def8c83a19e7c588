/** Image files for push tests, made in code: OCI layouts, OCI archives, classic docker-archives. */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { readdirSync, statSync, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { type BuiltImage, tarOf } from '../../src/oci/build.js';

/** Tars a directory (files only, sorted), the way `tar -C dir -cf out .` would. */
export async function tarDirectory(dir: string, out: string): Promise<void> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(out));
  const walk = (rel: string): string[] =>
    readdirSync(join(dir, rel))
      .sort()
      .flatMap((n) => {
        const r = rel ? `${rel}/${n}` : n;
        return statSync(join(dir, r)).isDirectory() ? walk(r) : [r];
      });
  for (const f of walk('')) {
    const body = readFileSync(join(dir, f));
    await new Promise<void>((res, rej) =>
      pack.entry({ name: f, size: body.length }, body, (e) => (e ? rej(e) : res())),
    );
  }
  pack.finalize();
  await done;
}

/** A classic `docker save` archive: manifest.json, <config hex>.json, <id>/layer.tar (uncompressed). */
export async function classicDockerArchive(
  out: string,
  img: BuiltImage,
  layerFiles: Parameters<typeof tarOf>[0][],
  repoTag: string,
): Promise<void> {
  mkdirSync(dirname(out), { recursive: true });
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(out));
  const add = (name: string, body: Buffer) =>
    new Promise<void>((res, rej) => pack.entry({ name, size: body.length }, body, (e) => (e ? rej(e) : res())));
  const layers: string[] = [];
  for (const [i, files] of layerFiles.entries()) {
    const t = await tarOf(files);
    const id = `${String(i).padStart(2, '0')}${'f'.repeat(62)}`;
    await add(`${id}/VERSION`, Buffer.from('1.0'));
    await add(`${id}/layer.tar`, t);
    layers.push(`${id}/layer.tar`);
  }
  const configName = `${img.config.digest.slice(7)}.json`;
  await add(configName, img.config.bytes);
  await add(
    'manifest.json',
    Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [repoTag], Layers: layers }])),
  );
  await add(
    'repositories',
    Buffer.from(JSON.stringify({ [repoTag.split(':')[0]]: { [repoTag.split(':')[1]]: layers.at(-1)!.split('/')[0] } })),
  );
  pack.finalize();
  await done;
}
