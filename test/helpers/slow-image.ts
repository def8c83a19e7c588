/** An image big enough to watch move: layers of random bytes pushed to a serve, for the terminal tests. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { buildImage, writeLayout } from '../../src/oci/build.js';
import { runCli, testEnv } from './cli.js';
import { createRepo, sdk } from './ecr.js';

/** Writes an OCI layout of `layers` layers of `size` random (incompressible) bytes, and pushes it as repo:tag. */
export async function pushSlowImage(
  endpoint: string,
  work: string,
  repository: string,
  layers: number,
  size: number,
): Promise<string> {
  const image = await buildImage(
    Array.from({ length: layers }, (_, i) => [{ path: `data/${i}.bin`, content: randomBytes(size) }]),
    { gzipLevel: 0 }, // random bytes: deflate would only spend seconds to store them as they are
  );
  const layout = join(work, `layout-${repository.replace(/\W/g, '-')}`);
  await writeLayout(layout, [image], { refName: 'v1' });
  const ecr = sdk(endpoint);
  await createRepo(ecr, repository).catch((err) => {
    if (err.name !== 'RepositoryAlreadyExistsException') throw err;
  });
  ecr.destroy();
  const res = await runCli(['push', layout, `${repository}:v1`, '--cache-dir', join(work, 'push-cache'), '-q'], {
    env: testEnv(endpoint),
  });
  if (res.code !== 0) throw new Error(`push failed: ${res.stderr}`);
  return image.manifest.digest;
}
