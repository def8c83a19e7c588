/**
 * The sync comparison of issue #18, part of the link scenarios: one plan of N small images from a docker-registry,
 * mirrored by `skopeo sync` into a second docker-registry and by `ecrx sync` into `ecrx serve`, each side behind
 * bench/shaper.mjs at 40 ms RTT; cold (empty target), then the no-op re-run. Until `ecrx sync` exists its cells say
 * so, and light up once `ecrx sync --help` answers with the command's own help.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BIN,
  KiB,
  benchEnv,
  has,
  makeLayout,
  measure,
  median,
  startRegistry,
  startServe,
  startShaperProcess,
} from './lib.mjs';

const LINK = { rttMs: 40, rate: 100e6, text: '40 ms RTT, 100 MB/s per conn' };
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** True when this build has `ecrx sync`: its help names the command (an unknown command prints the general help). */
export function ecrxHasSync() {
  const r = spawnSync(process.execPath, [BIN, 'sync', '--help'], { env: benchEnv, encoding: 'utf8' });
  return r.status === 0 && /Usage: ecrx sync/.test(r.stdout);
}

/** Rows for the link table: cold and no-op sync, skopeo beside ecrx. */
export async function syncScenario({ quick, dir, say, stops }) {
  const RUNS = quick ? 1 : 3;
  const count = quick ? 5 : 20;
  const what = `${count} images of 3 x 100 KiB`;
  const base = { link: `shaper: ${LINK.text}, each side`, ideal: '', ratio: '' };
  if (!has('skopeo') || !has('docker-registry')) {
    return [{ ...base, scenario: `sync ${what}`, ecrx: 'n/a', skopeo: 'n/a (skopeo or docker-registry missing)' }];
  }
  say(`sync of ${what} at ${LINK.text}`);
  const source = await startRegistry(dir);
  stops.push(source.stop);
  const images = [];
  for (let i = 0; i < count; i++) {
    const layout = makeLayout(join(dir, `sync-layout-${i}`), 3, 100 * KiB);
    await measure('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${layout.dir}:latest`,
      `docker://${source.host}/src/img-${i}:v1`,
    ]);
    images.push(`src/img-${i}`);
  }
  const sourceShaper = await startShaperProcess(source.host, LINK);
  stops.push(sourceShaper.stop);

  // skopeo sync: YAML source (the closest to a plan), a fresh target registry per cold run, then the re-run.
  const skopeoPlan = join(dir, 'skopeo-sync.yaml');
  writeFileSync(
    skopeoPlan,
    `${sourceShaper.host}:\n  tls-verify: false\n  images:\n${images.map((i) => `    ${i}: [v1]\n`).join('')}`,
  );
  const skCold = [];
  const skNoop = [];
  for (let r = 0; r < RUNS; r++) {
    const target = await startRegistry(dir);
    const shaper = await startShaperProcess(target.host, LINK);
    const args = [
      'sync',
      '--src',
      'yaml',
      '--dest',
      'docker',
      '--dest-tls-verify=false',
      skopeoPlan,
      `${shaper.host}/mirror`,
    ];
    try {
      skCold.push((await measure('skopeo', args)).ms);
      skNoop.push((await measure('skopeo', args)).ms);
    } finally {
      shaper.stop();
      target.stop();
    }
  }

  // ecrx sync: the plan of issue #18 into a fresh `ecrx serve` per cold run, then the re-run.
  let ecrxCold;
  let ecrxNoop;
  let missing = 'n/a (ecrx sync missing)';
  if (ecrxHasSync()) {
    missing = undefined;
    const plan = join(dir, 'ecrx-sync.yaml');
    writeFileSync(
      plan,
      `sync:\n${images.map((i) => `  - source: ${sourceShaper.host}/${i}:v1\n    target: mirror/${i.split('/').pop()}\n`).join('')}`,
    );
    const cold = [];
    const noop = [];
    for (let r = 0; r < RUNS; r++) {
      const serve = await startServe(join(dir, `sync-serve-${r}`));
      const shaper = await startShaperProcess(serve.host, LINK);
      // A cache of its own per cold run: every layer comes from the source registry, as skopeo's do.
      const args = [
        BIN,
        'sync',
        plan,
        '-q',
        '--endpoint-url',
        shaper.endpoint,
        '--cache-dir',
        join(dir, `sync-cache-${r}`),
      ];
      try {
        cold.push((await measure(process.execPath, args)).ms);
        noop.push((await measure(process.execPath, args)).ms);
      } finally {
        shaper.stop();
        serve.stop();
      }
    }
    ecrxCold = median(cold);
    ecrxNoop = median(noop);
  }
  const cold = median(skCold);
  const noop = median(skNoop);
  const met = (e, sk, x) => (e === undefined ? 'n/a' : `${sk >= x * e ? 'yes' : 'no'} (${(sk / e).toFixed(1)}x)`);
  return [
    {
      ...base,
      scenario: `sync ${what}, cold`,
      ecrx: missing ?? s(ecrxCold),
      skopeo: `${s(cold)} (skopeo sync, registry to registry)`,
      target: '2x faster than skopeo sync',
      met: met(ecrxCold, cold, 2),
    },
    {
      ...base,
      scenario: `sync ${what}, no-op re-run`,
      ecrx: missing ?? s(ecrxNoop),
      skopeo: s(noop),
      target: '10x faster than skopeo sync',
      met: met(ecrxNoop, noop, 10),
    },
  ];
}
