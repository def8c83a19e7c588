#!/usr/bin/env node
/**
 * The link scenarios of `npm run bench` (issue #13's table, #12's copy target, #14's resume, #18's sync): ecrx
 * against `ecrx serve`, the ideal client (bench/ideal-client.mjs) against the same serve, and skopeo against
 * Debian's docker-registry, all three through bench/shaper.mjs with the same link, cold, default settings.
 *
 *   npm run bench -- --only link [--quick]      # via run.mjs (builds first)
 *   node bench/link.mjs [--quick] [--only pull,copy]  # alone, on the dist/ already built; groups:
 *     pull, push, concurrent, copy, resume, sync (comma-separated; `link` or nothing: all)
 *   BENCH_RESUME=always ...                     # the resume rows even before `--no-resume` exists (today's baseline)
 *
 * The link model: each direction of each TCP connection is delayed by RTT/2 per chunk and paced at a per-connection
 * rate (as S3 paces each connection); the TCP handshake itself costs nothing. `--quotas ecr` rows add ECR's
 * per-operation request rates inside `ecrx serve`. The ideal time is given twice: computed from the model
 * (bytes / (connections x per-connection rate) + the round trips a perfect client cannot avoid at that many
 * connections), and measured by the ideal client at the same connection count. Ratios are ecrx over the
 * measured ideal (the computed one is what an infinitely fast machine would reach). Results go to
 * bench/results/link-<date>[-quick].md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BIN,
  KiB,
  MiB,
  root,
  benchEnv,
  ecrCaller,
  has,
  makeLayout,
  measure,
  median,
  sleep,
  startRegistry,
  startServe,
  startShaperProcess,
} from './lib.mjs';
import { syncScenario } from './sync.mjs';

const IDEAL = join(root, 'bench', 'ideal-client.mjs');
/** Base64 in JSON: what an UploadLayerPart puts on the wire for each byte of a blob. */
const BASE64 = 4 / 3;
const INITIATE_RATE = 100;

const L40 = { rttMs: 40, rate: 100e6, text: '40 ms RTT, 100 MB/s per conn' };
const L20 = { rttMs: 20, rate: 50e6, text: '20 ms RTT, 50 MB/s per conn' };

const s = (ms) => (ms === undefined || ms === null ? '' : `${(ms / 1000).toFixed(2)} s`);

/** Computed pull limit: BatchGetImage, the first URL, then each connection's share of GETs and bytes. */
function pullModel(link, blobs, connections, rangeSize = 16 * MiB) {
  const items = blobs.reduce((n, b) => n + Math.max(1, Math.ceil(b.size / rangeSize)), 0);
  const bytes = blobs.reduce((n, b) => n + b.size, 0);
  const used = Math.min(connections, items);
  return link.rttMs * (2 + Math.ceil(items / connections)) + (bytes / (used * link.rate)) * 1000;
}

/**
 * Computed push limit: one check per 100 blobs, three calls a blob (Initiate, part, Complete) per connection,
 * base64 bytes at the per-connection rate, PutImage; or, when quotas are on, InitiateLayerUpload's rate after
 * its one-second burst, whichever is longer.
 */
function pushModel(link, blobs, connections, quotas, partSize = 10 * MiB) {
  const bytes = blobs.reduce((n, b) => n + b.size, 0) * BASE64;
  const calls = blobs.reduce((n, b) => n + 2 + Math.max(1, Math.ceil(b.size / partSize)), 0);
  const used = Math.min(connections, blobs.length);
  const latency = link.rttMs * (2 + Math.ceil(calls / used)) + (bytes / (used * link.rate)) * 1000;
  const quota = quotas ? (Math.max(0, blobs.length - INITIATE_RATE) / INITIATE_RATE) * 1000 + 3 * link.rttMs : 0;
  return Math.max(latency, quota);
}

function helpHas(args, word) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: benchEnv, encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes(word);
}

export async function runLink({ quick = false, work, only } = {}) {
  const RUNS = quick ? 1 : 3;
  const dir = mkdtempSync(join(work ?? process.env.BENCH_DIR ?? tmpdir(), 'link-'));
  const rows = [];
  const started = Date.now();
  const say = (text) => process.stderr.write(`bench link: ${text}\n`);
  const row = (r) => {
    rows.push(r);
    say(`${r.scenario}: ecrx ${r.ecrx}; ideal ${r.ideal}; skopeo ${r.skopeo ?? ''}; ${r.met ?? ''}`);
  };
  const stops = [];
  const cleanup = () => {
    for (const stop of stops.reverse()) stop();
  };
  try {
    const groups = !only || only === 'link' ? GROUPS : only.split(',');
    const unknown = groups.filter((g) => !GROUPS.includes(g));
    if (unknown.length)
      throw new Error(`--only takes loopback, link, or some of ${GROUPS.join(',')}, got ${unknown.join(',')}`);
    if (groups.some((g) => g !== 'sync')) await linkScenarios({ quick, RUNS, dir, row, say, stops, groups });
    if (groups.includes('sync')) rows.push(...(await syncScenario({ quick, dir, say, stops })));
  } finally {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  const table = render(rows, { quick, RUNS, minutes: (Date.now() - started) / 60000 });
  console.log(`\n${table}`);
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const file = join(
    root,
    'bench',
    'results',
    `link-${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.md`,
  );
  writeFileSync(file, `${table}\n`);
  console.log(`written to ${file}`);
  return rows;
}

function render(rows, { quick, RUNS, minutes }) {
  const head = ['scenario', 'link', 'ecrx', 'ideal (model / measured)', 'ratio', 'skopeo', 'target', 'met?'];
  const lines = [
    `Link scenarios, ${new Date().toISOString()}, ${cpus().length} cores, node ${process.version}` +
      `${quick ? ', --quick (smaller images)' : ''}, median of ${RUNS} run(s), ${minutes.toFixed(1)} min in all.`,
    'Every row goes through bench/shaper.mjs (per-chunk delay of RTT/2 each way, a per-connection rate);',
    '"+ quotas" rows also run `ecrx serve --quotas ecr`. All times are wall clock of whole processes (start-up',
    'included) for ecrx, the ideal client (bench/ideal-client.mjs, at the connections shown) and skopeo.',
    'Ideal: computed from the link model / measured. Ratio: ecrx over the measured ideal (copy: over the longer',
    'of pull and push alone). skopeo/ecrx: how many times faster ecrx was.',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
  ];
  for (const r of rows) {
    const cells = [r.scenario, r.link, r.ecrx, r.ideal, r.ratio, r.skopeo, r.target, r.met];
    lines.push(`| ${cells.map((c) => String(c ?? '').replace(/\|/g, '\\|')).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Creates `repo` on a serve (unshaped: set-up is not timed) and loads the layout into it with the ideal client. */
async function preload(serve, layout, image) {
  const api = ecrCaller(serve.endpoint);
  const repositoryName = image.split(':')[0];
  await api.call('CreateRepository', { repositoryName }).catch((err) => {
    if (err.type !== 'RepositoryAlreadyExistsException') throw err;
  });
  api.close();
  if (!layout) return;
  await measure(process.execPath, [
    IDEAL,
    'push',
    '--endpoint',
    serve.endpoint,
    '--layout',
    layout,
    '--image',
    image,
    '--connections',
    '8',
  ]);
}

const skopeoPull = (host, image, out) =>
  measure('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${host}/${image}`, `oci:${out}:latest`]);
const skopeoPush = (layout, host, image) =>
  measure('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    `oci:${layout}:latest`,
    `docker://${host}/${image}`,
  ]);

/** The scenario groups `--only` can pick (comma-separated); `link` means all of them. */
export const GROUPS = ['pull', 'push', 'concurrent', 'copy', 'resume', 'sync'];
/** The images each group needs, so a run of one group generates and loads only those. */
const NEEDS = {
  pull: ['small', 'big', 'medium'],
  push: ['small'],
  concurrent: ['small'],
  copy: ['medium'],
  resume: ['big'],
};

async function linkScenarios({ quick, RUNS, dir, row, say, stops, groups }) {
  const sizes = {
    small: { count: quick ? 50 : 200, size: 100 * KiB, conns: 32 },
    big: { count: 1, size: quick ? 128 * MiB : 1024 * MiB, conns: 8 },
    medium: { count: quick ? 5 : 20, size: quick ? 20 * MiB : 50 * MiB, conns: 16 },
  };
  const label = (k) =>
    k.size >= MiB * 1024
      ? `${k.count} x ${k.size / MiB / 1024} GiB`
      : k.size >= MiB
        ? `${k.count} x ${k.size / MiB} MiB`
        : `${k.count} x ${k.size / KiB} KiB`;
  const skopeo = has('skopeo');

  say('starting serves, a docker-registry and generating images');
  const serveA = await startServe(join(dir, 'serve-a'));
  stops.push(serveA.stop);
  const serveB = await startServe(join(dir, 'serve-b'));
  stops.push(serveB.stop);
  const serveQ = await startServe(join(dir, 'serve-q'), ['--quotas', 'ecr']);
  stops.push(serveQ.stop);
  const registry = skopeo ? await startRegistry(dir) : undefined;
  if (registry) stops.push(registry.stop);
  const img = {};
  const needed = new Set(groups.flatMap((g) => NEEDS[g] ?? []));
  for (const [k, v] of Object.entries(sizes)) {
    if (!needed.has(k)) continue;
    img[k] = makeLayout(join(dir, `layout-${k}`), v.count, v.size);
    img[k].blobs = [img[k].config, ...img[k].layers];
    await preload(serveA, img[k].dir, `bench/${k}:v1`);
    if (registry) await skopeoPush(img[k].dir, registry.host, `bench/${k}:v1`);
  }
  if (img.small) await preload(serveQ, img.small.dir, 'bench/small:v1');

  let n = 0;
  const fresh = (what) => join(dir, `${what}-${n++}`);
  const ecrxPull = (endpoint, image, extra = {}) =>
    measure(
      process.execPath,
      [
        BIN,
        'pull',
        image,
        '-o',
        fresh('out'),
        '--cache-dir',
        extra.cache ?? fresh('cache'),
        '-q',
        '--endpoint-url',
        endpoint,
      ],
      extra,
    );
  const idealPull = (endpoint, image, conns) =>
    measure(process.execPath, [
      IDEAL,
      'pull',
      '--endpoint',
      endpoint,
      '--image',
      image,
      '--out',
      fresh('ideal'),
      '--connections',
      String(conns),
    ]);

  /** One shaped link in front of `target` for the duration of `body`. */
  const shaped = async (target, link, body) => {
    const shaper = await startShaperProcess(target, link);
    try {
      return await body(shaper);
    } finally {
      shaper.stop();
    }
  };
  const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : '');
  const faster = (ecrx, sk) => (sk ? `skopeo/ecrx ${(sk / ecrx).toFixed(1)}x` : 'no skopeo');
  const pullMedians = {};
  /** A scenario that fails (ecrx or a tool exits non-zero) becomes a row saying so; the others still run. */
  const attempt = async (scenario, body, group) => {
    if (!groups.includes(group)) return;
    try {
      await body();
    } catch (err) {
      row({
        scenario,
        link: '',
        ecrx: `error: ${err.short ?? String(err.message).split('\n')[0].slice(0, 200)}`,
        met: 'no',
      });
    }
  };

  // Pulls: ecrx, the ideal client and skopeo, cold, one after another (never two at once: they share the cores).
  for (const [k, link] of [
    ['small', L40],
    ['big', L20],
    ['medium', L20],
  ]) {
    await attempt(
      `pull ${k}`,
      async () => {
        const v = sizes[k];
        say(`pull ${label(v)} at ${link.text}`);
        const ecrxMs = [];
        const idealMs = [];
        const skMs = [];
        let peak = 0;
        await shaped(serveA.host, link, async (sh) => {
          for (let r = 0; r < RUNS; r++) {
            const m = await ecrxPull(sh.endpoint, `bench/${k}:v1`);
            ecrxMs.push(m.ms);
            peak = Math.max(peak, m.peak);
            idealMs.push((await idealPull(sh.endpoint, `bench/${k}:v1`, v.conns)).ms);
          }
        });
        if (registry) {
          await shaped(registry.host, link, async (sh) => {
            for (let r = 0; r < RUNS; r++) skMs.push((await skopeoPull(sh.host, `bench/${k}:v1`, fresh('skopeo'))).ms);
          });
        }
        const e = median(ecrxMs);
        const i = median(idealMs);
        const sk = skMs.length ? median(skMs) : undefined;
        pullMedians[k] = e;
        const rss = k === 'big' ? `, peak RSS ${(peak / MiB).toFixed(0)} MB` : '';
        const okRatio = e <= 1.5 * i;
        const okSkopeo = sk ? sk >= 2 * e : false;
        const okRss = k !== 'big' || peak < 200 * MiB;
        row({
          scenario: `pull ${label(v)}, cold`,
          link: `shaper: ${link.text}`,
          ecrx: `${s(e)}${rss}`,
          ideal: `${s(pullModel(link, img[k].blobs, v.conns))} / ${s(i)} (${v.conns} conns)`,
          ratio: ratio(e, i),
          skopeo: sk ? s(sk) : 'n/a (no skopeo)',
          target: `<= 1.5x ideal${k === 'big' ? ', RSS < 200 MB' : ''}, 2x faster than skopeo`,
          met: `${okRatio && okSkopeo && okRss ? 'yes' : 'no'} (${faster(e, sk)}${okRss ? '' : ', RSS over'})`,
        });
      },
      'pull',
    );
  }

  // Push of many small blobs under ECR's quotas.
  await attempt(
    'push, cold',
    async () => {
      const v = sizes.small;
      say(`push ${label(v)} at ${L40.text} + quotas`);
      const ecrxMs = [];
      const idealMs = [];
      const skMs = [];
      let failures = 0;
      await shaped(serveQ.host, L40, async (sh) => {
        for (let r = 0; r < RUNS; r++) {
          const repo = `bench/push-${n++}`;
          await preload(serveQ, undefined, repo);
          const m = await measure(
            process.execPath,
            [
              BIN,
              'push',
              img.small.dir,
              `${repo}:v1`,
              '--cache-dir',
              fresh('cache'),
              '-q',
              '--endpoint-url',
              sh.endpoint,
            ],
            { allowFail: true },
          );
          if (m.code !== 0) failures++;
          ecrxMs.push(m.ms);
          const ideal = `bench/ideal-push-${n++}`;
          await preload(serveQ, undefined, ideal);
          const im = await measure(process.execPath, [
            IDEAL,
            'push',
            '--endpoint',
            sh.endpoint,
            '--layout',
            img.small.dir,
            '--image',
            `${ideal}:v1`,
            '--connections',
            '16',
            '--quotas',
            'ecr',
          ]);
          idealMs.push(im.ms);
        }
      });
      if (skopeo) {
        for (let r = 0; r < RUNS; r++) {
          // A fresh registry per run: skopeo would otherwise mount blobs it saw before instead of uploading them.
          const reg = await startRegistry(dir);
          await shaped(reg.host, L40, async (sh) => {
            skMs.push((await skopeoPush(img.small.dir, sh.host, 'bench/push:v1')).ms);
          });
          reg.stop();
        }
      }
      const e = median(ecrxMs);
      const i = median(idealMs);
      const sk = skMs.length ? median(skMs) : undefined;
      row({
        scenario: `push ${label(v)}, cold`,
        link: `shaper: ${L40.text} + quotas`,
        ecrx: `${s(e)}, ${failures} failed`,
        ideal: `${s(pushModel(L40, img.small.blobs, 16, true))} / ${s(i)} (16 conns)`,
        ratio: ratio(e, i),
        skopeo: sk ? `${s(sk)} (registry, no quotas)` : 'n/a (no skopeo)',
        target: '<= 2x ideal, 0 failures, 2x faster than skopeo',
        met: `${e <= 2 * i && failures === 0 && sk >= 2 * e ? 'yes' : 'no'} (${faster(e, sk)})`,
      });
    },
    'push',
  );

  // Four pulls at once under ECR's quotas: failures are what counts.
  await attempt(
    '4 pulls at once',
    async () => {
      const v = sizes.small;
      say(`4 pulls at once of ${label(v)} at ${L40.text} + quotas`);
      const ecrxMs = [];
      const idealMs = [];
      const skMs = [];
      let failures = 0;
      const wall = async (jobs) => {
        const t = performance.now();
        const results = await Promise.all(jobs.map((j) => j()));
        return { ms: performance.now() - t, results };
      };
      await shaped(serveQ.host, L40, async (sh) => {
        for (let r = 0; r < RUNS; r++) {
          const w = await wall(
            Array.from({ length: 4 }, () => () => ecrxPull(sh.endpoint, 'bench/small:v1', { allowFail: true })),
          );
          failures += w.results.filter((m) => m.code !== 0).length;
          ecrxMs.push(w.ms);
          idealMs.push(
            (await wall(Array.from({ length: 4 }, () => () => idealPull(sh.endpoint, 'bench/small:v1', v.conns)))).ms,
          );
        }
      });
      if (registry) {
        await shaped(registry.host, L40, async (sh) => {
          for (let r = 0; r < RUNS; r++) {
            skMs.push(
              (
                await wall(
                  Array.from({ length: 4 }, () => () => skopeoPull(sh.host, 'bench/small:v1', fresh('skopeo'))),
                )
              ).ms,
            );
          }
        });
      }
      const e = median(ecrxMs);
      const i = median(idealMs);
      const sk = skMs.length ? median(skMs) : undefined;
      row({
        scenario: `4 pulls at once of ${label(v)}, cold`,
        link: `shaper: ${L40.text} + quotas`,
        ecrx: `${s(e)}, ${failures} of ${4 * RUNS} failed`,
        ideal: `${s(pullModel(L40, img.small.blobs, v.conns))} / ${s(i)} (4 x ${v.conns} conns)`,
        ratio: ratio(e, i),
        skopeo: sk ? `${s(sk)} (registry, no quotas)` : 'n/a (no skopeo)',
        target: '0 failures',
        met: failures === 0 ? 'yes' : 'no',
      });
    },
    'concurrent',
  );

  // Copy between two serves against pull alone and push alone (issue #12: copy <= 1.2x the longer of the two).
  await attempt(
    'copy serve to serve',
    async () => {
      const v = sizes.medium;
      say(`copy ${label(v)} between two serves at ${L20.text}`);
      const pushMs = [];
      const copyMs = [];
      const pullMs = [];
      await shaped(serveA.host, L20, (shA) =>
        shaped(serveB.host, L20, async (shB) => {
          for (let r = 0; r < RUNS; r++) {
            // Pull alone: from the pull rows when they ran, else measured here on the same link.
            if (pullMedians.medium === undefined) pullMs.push((await ecrxPull(shA.endpoint, 'bench/medium:v1')).ms);
            const pushRepo = `bench/push-${n++}`;
            await preload(serveB, undefined, pushRepo);
            pushMs.push(
              (
                await measure(process.execPath, [
                  BIN,
                  'push',
                  img.medium.dir,
                  `${pushRepo}:v1`,
                  '--cache-dir',
                  fresh('cache'),
                  '-q',
                  '--endpoint-url',
                  shB.endpoint,
                ])
              ).ms,
            );
            const copyRepo = `bench/copy-${n++}`;
            await preload(serveB, undefined, copyRepo);
            copyMs.push(
              (
                await measure(process.execPath, [
                  BIN,
                  'copy',
                  'bench/medium:v1',
                  `${copyRepo}:v1`,
                  '--cache-dir',
                  fresh('cache'),
                  '-q',
                  '--endpoint-url',
                  shA.endpoint,
                  '--to-endpoint-url',
                  shB.endpoint,
                ])
              ).ms,
            );
          }
        }),
      );
      const p = median(pushMs);
      const c = median(copyMs);
      pullMedians.medium ??= median(pullMs);
      const bound = 1.2 * Math.max(pullMedians.medium, p);
      const model = Math.max(
        pullModel(L20, img.medium.blobs, v.conns),
        pushModel(L20, img.medium.blobs, v.conns, false),
      );
      row({
        scenario: `push ${label(v)}, cold (for copy)`,
        link: `shaper: ${L20.text}`,
        ecrx: s(p),
        ideal: `${s(pushModel(L20, img.medium.blobs, v.conns, false))} / n/a`,
        ratio: '',
        skopeo: '',
        target: '',
        met: '',
      });
      row({
        scenario: `copy ${label(v)} serve to serve, cold`,
        link: `shaper: ${L20.text}, each side`,
        ecrx: s(c),
        ideal: `${s(model)} / n/a`,
        ratio: ratio(c, Math.max(pullMedians.medium, p)),
        skopeo: '',
        target: `<= 1.2x max(pull ${s(pullMedians.medium)}, push ${s(p)}) = ${s(bound)}`,
        met: c <= bound ? 'yes' : 'no',
      });
    },
    'copy',
  );

  // Resume after a kill at ~60 % (issue #14): bytes sent again on the re-run, as a share of the blob.
  await attempt('resume', () => resumeScenarios({ sizes, img, serveA, serveB, dir, row, say, fresh, label }), 'resume');
}

async function resumeScenarios({ sizes, img, serveA, serveB, row, say, fresh, label }) {
  const v = sizes.big;
  const blob = img.big.layers[0].size;
  for (const mode of ['pull', 'push']) {
    const scenario = `${mode} ${label(v)} killed at ~60 %, re-run`;
    const base = {
      scenario,
      link: `shaper: ${L20.text}`,
      ideal: '',
      ratio: '',
      skopeo: '',
      target: 're-run moves < 45 % of the blob',
    };
    // BENCH_RESUME=always measures even without resume, to see today's baseline (the whole blob again).
    if (process.env.BENCH_RESUME !== 'always' && !helpHas([mode, '--help'], '--no-resume')) {
      row({ ...base, ecrx: 'n/a (resume missing: no --no-resume in ecrx ' + mode + ' --help)', met: 'n/a' });
      continue;
    }
    say(`${scenario} at ${L20.text}`);
    const serve = mode === 'pull' ? serveA : serveB;
    const shaper = await startShaperProcess(serve.host, L20);
    try {
      const cache = fresh('cache');
      // What crosses the link for the blob: the bytes down for a pull, base64 in JSON up for a push.
      const wire = mode === 'pull' ? blob : blob * BASE64;
      const moved = (st) => (mode === 'pull' ? st.down : st.up);
      let repo = 'bench/big';
      if (mode === 'push') {
        repo = `bench/resume-${Date.now()}`;
        await preload(serve, undefined, repo);
      }
      const args =
        mode === 'pull'
          ? [
              BIN,
              'pull',
              `${repo}:v1`,
              '-o',
              fresh('out'),
              '--cache-dir',
              cache,
              '-q',
              '--endpoint-url',
              shaper.endpoint,
            ]
          : [BIN, 'push', img.big.dir, `${repo}:v1`, '--cache-dir', cache, '-q', '--endpoint-url', shaper.endpoint];
      await shaper.reset();
      let killedAt = 0;
      await measure(process.execPath, args, {
        allowFail: true,
        onStart: (child) => {
          const poll = async () => {
            while (child.exitCode === null && child.signalCode === null) {
              const st = await shaper.stats();
              if (moved(st) >= 0.6 * wire) {
                killedAt = moved(st);
                child.kill('SIGKILL');
                return;
              }
              await sleep(50);
            }
          };
          void poll();
        },
      });
      await shaper.reset();
      const again = await measure(
        process.execPath,
        mode === 'pull' ? args.map((a, i) => (i === 4 ? fresh('out') : a)) : args,
        {
          allowFail: true,
        },
      );
      const st = await shaper.stats();
      const pct = (100 * moved(st)) / wire;
      row({
        ...base,
        ecrx: `${pct.toFixed(0)} % re-sent (killed at ${((100 * killedAt) / wire).toFixed(0)} %; re-run ${s(again.ms)}${again.code ? `, exit ${again.code}` : ''})`,
        met: killedAt && !again.code && pct < 45 ? 'yes' : 'no',
      });
    } finally {
      shaper.stop();
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  runLink({ quick: args.includes('--quick') || Boolean(process.env.BENCH_QUICK), only }).catch((err) => {
    console.error(`bench link: ${err.stack ?? err}`);
    process.exitCode = 1;
  });
}
