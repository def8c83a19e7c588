/**
 * The demo: an embedded `ecrx serve` on a free loopback port (no AWS account), a small real image built in code,
 * pushed, pulled back with progress, and checked, each step printed with what it proved.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../serve/server.js';
import { buildImage, writeLayout } from '../oci/build.js';
import { push } from './transfers/push.js';
import { pull } from './transfers/pull.js';
import { interruptible } from './interrupt.js';
import { tags } from './actions/listing.js';
import { exportImage } from './transfers/export.js';

export async function runDemo(flags: { keep?: boolean }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ecrx-demo-'));
  const server = await startServer({ dataDir: join(dir, 'serve'), port: 0 });
  const say = (s: string) => process.stdout.write(`${s}\n`);
  // Point ecrx at the embedded endpoint the way a user would, through the SDK's own variable.
  process.env.AWS_ENDPOINT_URL_ECR = server.endpoint;
  process.env.AWS_REGION ??= 'us-east-1';
  say(`ecrx demo: embedded ecrx serve listening on ${server.endpoint} (no AWS account needed)`);
  try {
    const { ECRClient, CreateRepositoryCommand } = await import('@aws-sdk/client-ecr');
    const ecr = new ECRClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'ECRXDEMO', secretAccessKey: 'demo' },
    });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'demo/app' }));
    ecr.destroy();
    say('\n1. CreateRepository demo/app');

    const image = await buildImage(
      [
        [
          { path: 'etc/', type: 'directory' },
          { path: 'etc/motd', content: 'Built by the ecrx demo.\n' },
          { path: 'etc/hostname', content: 'ecrx-demo\n' },
        ],
        [
          { path: 'usr/', type: 'directory' },
          { path: 'usr/local/', type: 'directory' },
          { path: 'usr/local/bin/', type: 'directory' },
          {
            path: 'usr/local/bin/hello',
            content: '#!/bin/sh\necho "hello from an image moved by ecrx"\n',
            mode: 0o755,
          },
        ],
        [
          { path: 'srv/', type: 'directory' },
          { path: 'srv/data.bin', content: randomBytes(8 * 1024 * 1024) },
          { path: 'srv/latest', type: 'symlink', linkname: 'data.bin' },
        ],
      ],
      { entrypoint: ['/usr/local/bin/hello'] },
    );
    const layout = join(dir, 'built-layout');
    await writeLayout(layout, [image], { refName: '1.0' });
    say(`2. Built a 3-layer image in code: ${layout} (${image.manifest.digest})`);

    const cacheDir = join(dir, 'cache');
    say('3. ecrx push built-layout demo/app:1.0');
    await interruptible((signal) =>
      push(layout, 'demo/app:1.0', { concurrency: 4, cacheDir: join(dir, 'push-cache') }, signal),
    );

    say('4. ecrx tags demo/app');
    await interruptible((signal) => tags('demo/app', {}, signal));

    const out = join(dir, 'app-1.0');
    say('5. ecrx pull demo/app:1.0 (cold cache)');
    await interruptible((signal) => pull('demo/app:1.0', { concurrency: 4, cacheDir, output: out }, signal));
    say('6. ecrx pull demo/app:1.0 --format docker-archive (warm cache: no download URL asked for)');
    await interruptible((signal) =>
      pull(
        'demo/app:1.0',
        { concurrency: 4, cacheDir, output: join(dir, 'app-1.0.tar'), format: 'docker-archive' },
        signal,
      ),
    );
    say('7. ecrx export demo/app:1.0 rootfs');
    const rootfs = join(dir, 'rootfs');
    await interruptible((signal) =>
      exportImage('demo/app:1.0', rootfs, { concurrency: 4, cacheDir, quiet: true }, signal),
    );
    const { readFileSync, readlinkSync } = await import('node:fs');
    say(`   rootfs/etc/motd: ${readFileSync(join(rootfs, 'etc/motd'), 'utf8').trim()}`);
    say(`   rootfs/srv/latest -> ${readlinkSync(join(rootfs, 'srv/latest'))}`);
    say(`\necrx demo: done. Same digest both ways: ${image.manifest.digest}`);
  } finally {
    await server.close();
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
    else say(`ecrx demo: kept ${dir}`);
  }
}
