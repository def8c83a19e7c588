#!/usr/bin/env node
/**
 * npm run bench: ecrx against the limit and the tools people use instead, on one machine, in one run.
 * Starts `ecrx serve` on loopback, generates incompressible images, runs each scenario several times, reports the
 * median and the peak resident memory of the ecrx process, prints one table and writes it as JSON to bench/results/.
 *
 *   npm run bench                      # everything: the loopback scenarios, then the link ones (bench/link.mjs)
 *   npm run bench -- --quick           # smaller images, fewer runs (a smoke run; BENCH_QUICK=1 works too)
 *   npm run bench -- --only loopback   # or --only link (bench/link.mjs: link scenarios and sync), or some of
 *                                      # its groups: --only pull,push,concurrent,copy,resume,sync
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { once } from 'node:events';
import {
  BIN,
  MiB,
  root,
  benchEnv as env,
  ecrCaller,
  makeLayout,
  measure,
  median,
  startRegistry as startRegistryIn,
  startServe as startServeIn,
} from './lib.mjs';
import { runLink } from './link.mjs';

const args = process.argv.slice(2);
const quick = Boolean(process.env.BENCH_QUICK) || args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const RUNS = quick ? 2 : 3;
const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'ecrx-bench-'));
const startServe = () => startServeIn(join(work, 'serve'));
const startRegistry = () => startRegistryIn(work);

async function sdkClient(endpoint) {
  const sdk = await import(join(root, 'node_modules/@aws-sdk/client-ecr/dist-cjs/index.js'));
  return {
    sdk,
    client: new sdk.ECRClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIABENCH00000000000', secretAccessKey: 'bench' },
    }),
  };
}

/** The pull limit: the same blobs from the same URLs, a plain concurrent HTTP client, hashed and written. */
async function pullLimit(urls, outDir, concurrency = 4) {
  mkdirSync(outDir, { recursive: true });
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const queue = [...urls];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let u = queue.shift(); u; u = queue.shift()) {
        const res = await new Promise((resolve, reject) => http.get(u.url, { agent }, resolve).on('error', reject));
        const h = createHash('sha256');
        const out = createWriteStream(join(outDir, u.digest.slice(7)));
        // 'data' events, not for-await: the async iterator concatenates buffered chunks, a copy of every byte.
        res.on('data', (chunk) => {
          h.update(chunk);
          if (!out.write(chunk)) {
            res.pause();
            out.once('drain', () => res.resume());
          }
        });
        await once(res, 'end');
        out.end();
        await once(out, 'finish');
        if (`sha256:${h.digest('hex')}` !== u.digest) throw new Error('limit client: digest mismatch');
      }
    }),
  );
  agent.destroy();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * The push limit: the same parts as UploadLayerPart bodies from a minimal signed client. Plain HTTP keep-alive
 * POSTs, JSON built with Node's own base64, signed by the SDK's SigV4 signer; no retries, no progress, no checks.
 */
async function pushLimit(endpoint, repositoryName, layout, blobs, concurrency = 4) {
  const { call, agent } = ecrCaller(endpoint, concurrency);
  const queue = [...blobs];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let b = queue.shift(); b; b = queue.shift()) {
        const { uploadId, partSize } = await call('InitiateLayerUpload', { repositoryName });
        const fh = await open(join(layout, 'blobs', 'sha256', b.digest.slice(7)));
        const buf = Buffer.allocUnsafe(Math.min(partSize, b.size));
        for (let off = 0; off < b.size; off += partSize) {
          const len = Math.min(partSize, b.size - off);
          await fh.read(buf, 0, len, off);
          await call(
            'UploadLayerPart',
            { repositoryName, uploadId, partFirstByte: off, partLastByte: off + len - 1 },
            buf.subarray(0, len),
          );
        }
        await fh.close();
        await call('CompleteLayerUpload', { repositoryName, uploadId, layerDigests: [b.digest] });
      }
    }),
  );
  agent.destroy();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const rows = [];
function row(scenario, ecrx, baseline, baselineName, peak, note = '') {
  rows.push({
    scenario,
    ecrxMs: Math.round(ecrx),
    baseline: baselineName,
    baselineMs: baseline === undefined ? null : Math.round(baseline),
    ratio: baseline ? Number((ecrx / baseline).toFixed(2)) : null,
    peakRssMB: peak ? Number((peak / MiB).toFixed(1)) : null,
    note,
  });
  const r = rows.at(-1);
  process.stderr.write(
    `bench: ${scenario}: ecrx ${r.ecrxMs} ms${r.baselineMs !== null ? `, ${baselineName} ${r.baselineMs} ms, ratio ${r.ratio}` : ''}${r.peakRssMB ? `, peak ${r.peakRssMB} MB` : ''}\n`,
  );
}

async function loopback() {
  process.stderr.write(
    `bench: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, work dir ${work}\n`,
  );
  // Start-up
  const bare = [];
  const ver = [];
  const help = [];
  let verPeak = 0;
  for (let i = 0; i < 7; i++) {
    bare.push((await measure(process.execPath, ['-e', '0'])).ms);
    const v = await measure(process.execPath, [BIN, '--version']);
    ver.push(v.ms);
    verPeak = Math.max(verPeak, v.peak);
    help.push((await measure(process.execPath, [BIN, '--help'])).ms);
  }
  row('ecrx --version', median(ver), median(bare), 'node -e 0', verPeak);
  row('ecrx --help', median(help), median(bare), 'node -e 0', 0);

  const serve = await startServe();
  const sdkc = await sdkClient(serve.endpoint);
  const registry = spawnSync('sh', ['-c', 'command -v docker-registry']).status === 0;
  const scenarios = quick
    ? [
        ['1 x 64 MiB', 1, 64 * MiB],
        ['5 x 20 MiB', 5, 20 * MiB],
        ['50 x 100 KiB', 50, 100 * 1024],
      ]
    : [
        ['1 x 1 GiB', 1, 1024 * MiB],
        ['20 x 50 MiB', 20, 50 * MiB],
        ['200 x 100 KiB', 200, 100 * 1024],
      ];
  let rt = 0;
  for (const [name, count, size] of scenarios) {
    process.stderr.write(`bench: generating ${name}\n`);
    const layout = join(work, `layout-${count}`);
    const img = makeLayout(layout, count, size);
    const blobs = [img.config, ...img.layers];

    // push cold (a new repository each run: layers are scoped per repository) and the push limit
    const coldPush = [];
    const limitPush = [];
    let pushPeak = 0;
    for (let r = 0; r < RUNS; r++) {
      const repo = `bench/push-${count}-${r}`;
      const limitRepo = `bench/limit-${count}-${r}`;
      await sdkc.client.send(new sdkc.sdk.CreateRepositoryCommand({ repositoryName: repo }));
      await sdkc.client.send(new sdkc.sdk.CreateRepositoryCommand({ repositoryName: limitRepo }));
      const m = await measure(process.execPath, [
        BIN,
        'push',
        layout,
        `${repo}:v1`,
        '--cache-dir',
        join(work, 'push-cache'),
        '-q',
        '--endpoint-url',
        serve.endpoint,
      ]);
      coldPush.push(m.ms);
      pushPeak = Math.max(pushPeak, m.peak);
      limitPush.push(await pushLimit(serve.endpoint, limitRepo, layout, blobs));
    }
    row(`push cold ${name}`, median(coldPush), median(limitPush), 'minimal signed client', pushPeak);
    const warmPush = [];
    for (let r = 0; r < RUNS; r++)
      warmPush.push(
        (
          await measure(process.execPath, [
            BIN,
            'push',
            layout,
            `bench/push-${count}-0:v1`,
            '--cache-dir',
            join(work, 'push-cache'),
            '-q',
            '--endpoint-url',
            serve.endpoint,
          ])
        ).ms,
      );
    row(`push warm ${name}`, median(warmPush), undefined, '', 0, 'everything already in the repository');

    // pull cold (empty cache) vs the pull limit, then pull warm (everything cached)
    const repo = `bench/push-${count}-0`;
    const urls = [];
    for (const b of blobs) {
      const out = await sdkc.client.send(
        new sdkc.sdk.GetDownloadUrlForLayerCommand({ repositoryName: repo, layerDigest: b.digest }),
      );
      urls.push({ url: out.downloadUrl, digest: b.digest });
    }
    const coldPull = [];
    const limitPull = [];
    let pullPeak = 0;
    for (let r = 0; r < RUNS; r++) {
      rmSync(join(work, 'pull-cache'), { recursive: true, force: true });
      rmSync(join(work, 'pulled'), { recursive: true, force: true });
      const m = await measure(process.execPath, [
        BIN,
        'pull',
        `${repo}:v1`,
        '-o',
        join(work, 'pulled'),
        '--cache-dir',
        join(work, 'pull-cache'),
        '-q',
        '--endpoint-url',
        serve.endpoint,
      ]);
      coldPull.push(m.ms);
      pullPeak = Math.max(pullPeak, m.peak);
      rmSync(join(work, 'limit-out'), { recursive: true, force: true });
      limitPull.push(await pullLimit(urls, join(work, 'limit-out')));
    }
    row(`pull cold ${name}`, median(coldPull), median(limitPull), 'plain HTTP client', pullPeak);
    const warmPull = [];
    let warmPeak = 0;
    for (let r = 0; r < RUNS; r++) {
      rmSync(join(work, 'pulled-warm'), { recursive: true, force: true });
      const m = await measure(process.execPath, [
        BIN,
        'pull',
        `${repo}:v1`,
        '-o',
        join(work, 'pulled-warm'),
        '--cache-dir',
        join(work, 'pull-cache'),
        '-q',
        '--endpoint-url',
        serve.endpoint,
      ]);
      warmPull.push(m.ms);
      warmPeak = Math.max(warmPeak, m.peak);
    }
    const rtStarted = process.hrtime.bigint();
    await sdkc.client.send(new sdkc.sdk.BatchGetImageCommand({ repositoryName: repo, imageIds: [{ imageTag: 'v1' }] }));
    rt = Number(process.hrtime.bigint() - rtStarted) / 1e6;
    row(`pull warm ${name}`, median(warmPull), median(ver) + rt, 'start-up + 1 round trip', warmPeak);

    // The AWS CLI doing the same layer operations, where installed: get-download-url-for-layer per blob, then curl.
    if (count <= 20 && spawnSync('sh', ['-c', 'command -v aws && command -v curl']).status === 0) {
      const script = blobs
        .map(
          (b) =>
            `u=$(aws --endpoint-url ${serve.endpoint} --region us-east-1 ecr get-download-url-for-layer --repository-name ${repo} --layer-digest ${b.digest} --query downloadUrl --output text) && curl -sf -o "${join(work, 'awscli-out', b.digest.slice(7))}" "$u"`,
        )
        .join(' &&\n');
      const cliRuns = [];
      for (let r = 0; r < RUNS; r++) {
        rmSync(join(work, 'awscli-out'), { recursive: true, force: true });
        mkdirSync(join(work, 'awscli-out'));
        cliRuns.push((await measure('sh', ['-c', script], { env: { ...env, AWS_PAGER: '' } })).ms);
      }
      row(
        `aws cli + curl pull ${name}`,
        median(cliRuns),
        median(coldPull),
        'ecrx pull cold',
        0,
        'sequential, no verification; ratio > 1 means ecrx was faster',
      );
    }

    // skopeo, the tool people would pick instead, where installed: to and from a local docker-registry (the
    // registry protocol ecrx does without), else between two OCI layouts on the same disk.
    if (spawnSync('sh', ['-c', 'command -v skopeo']).status === 0) {
      if (registry) {
        const skPush = [];
        const skPull = [];
        for (let r = 0; r < RUNS; r++) {
          // A new registry (new port, empty storage) per run: skopeo remembers where blobs were seen and would
          // otherwise mount them from the last run's repository instead of uploading them; ECR cannot do that.
          const reg = await startRegistry();
          skPush.push(
            (
              await measure('skopeo', [
                'copy',
                '--quiet',
                '--dest-tls-verify=false',
                `oci:${layout}:latest`,
                `docker://${reg.host}/bench/img:v1`,
              ])
            ).ms,
          );
          rmSync(join(work, 'skopeo-out'), { recursive: true, force: true });
          skPull.push(
            (
              await measure('skopeo', [
                'copy',
                '--quiet',
                '--src-tls-verify=false',
                `docker://${reg.host}/bench/img:v1`,
                `oci:${join(work, 'skopeo-out')}:latest`,
              ])
            ).ms,
          );
          reg.child.kill('SIGTERM');
          rmSync(reg.storage, { recursive: true, force: true });
        }
        row(
          `skopeo push to docker-registry ${name}`,
          median(skPush),
          median(coldPush),
          'ecrx push cold',
          0,
          'ratio > 1 means ecrx was faster',
        );
        row(
          `skopeo pull from docker-registry ${name}`,
          median(skPull),
          median(coldPull),
          'ecrx pull cold',
          0,
          'ratio > 1 means ecrx was faster',
        );
      } else {
        const sk = [];
        for (let r = 0; r < RUNS; r++) {
          rmSync(join(work, 'skopeo-out'), { recursive: true, force: true });
          sk.push(
            (
              await measure('skopeo', [
                'copy',
                '--quiet',
                `oci:${layout}:latest`,
                `oci:${join(work, 'skopeo-out')}:latest`,
              ])
            ).ms,
          );
        }
        row(
          `skopeo copy oci->oci ${name}`,
          median(sk),
          median(coldPull),
          'ecrx pull cold',
          0,
          'no docker-registry installed; ratio > 1 means ecrx was faster',
        );
      }
    }
    rmSync(layout, { recursive: true, force: true });
    rmSync(join(work, 'limit-out'), { recursive: true, force: true });
  }
  serve.child.kill('SIGTERM');
  sdkc.client.destroy();

  const widths = [34, 10, 28, 12, 7, 10];
  const line = (cells) => cells.map((c, i) => String(c ?? '').padEnd(widths[i])).join(' | ');
  console.log(line(['scenario', 'measured ms', 'baseline', 'baseline ms', 'ratio', 'peak RSS MB']));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const r of rows) console.log(line([r.scenario, r.ecrxMs, r.baseline, r.baselineMs, r.ratio, r.peakRssMB]));
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const file = join(
    root,
    'bench',
    'results',
    `${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`,
  );
  writeFileSync(
    file,
    JSON.stringify(
      { date: new Date().toISOString(), node: process.version, cores: cpus().length, quick, runs: RUNS, rows },
      null,
      2,
    ),
  );
  console.log(`\nwritten to ${file}`);
}

async function main() {
  if (!only || only === 'loopback') await loopback();
  if (only !== 'loopback') await runLink({ quick, work, only });
}

main()
  .catch((err) => {
    console.error(`bench: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
