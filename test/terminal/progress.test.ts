/**
 * ecrx in a real terminal (tmux): pulls slowed by `ecrx serve --fault-bandwidth` and cut by `--fault-cut`, so bars
 * run for seconds while retries are printed, at 200, 80, 60 and 40 columns, resized while they run, and with more
 * blobs than rows. Every screen read while they run must be clean (see screenProblems), and the last one must hold
 * the summary and nothing of the progress display.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEnv } from '../helpers/cli.js';
import { startServe, type Serve } from '../helpers/serve.js';
import { Pane } from '../helpers/tmux.js';
import { leftovers, progressRows, screenProblems } from '../helpers/screen.js';
import { pushSlowImage } from '../helpers/slow-image.js';

let work: string;
let serve: Serve;
let digest: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-term-'));
  // 1 MiB/s per download and half of them cut: 2 MiB layers take about two seconds each, with retries.
  serve = await startServe(['--fault-bandwidth', String(1024 * 1024), '--fault-cut', '0.5', '--fault-seed', '11']);
  digest = await pushSlowImage(serve.endpoint, work, 'term/app', 6, 2 * 1024 * 1024);
});

afterAll(async () => {
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = () => ({ ...testEnv(serve.endpoint), TERM: 'xterm-256color' });

/**
 * Checks every screen as it is read. A screen caught while tmux was between two parts of one redraw would look
 * torn for a moment; a problem counts only if the next screen still shows it.
 */
function watcher(pane: Pane) {
  let suspect: string[] = [];
  const confirmed: string[] = [];
  const seen = { bars: 0, retries: 0, more: 0, maxRows: 0 };
  let paused = false;
  return {
    seen,
    confirmed,
    /** After a resize, the old frame is shown re-flowed until ecrx redraws: judge from the next clean screen on. */
    pauseUntilClean() {
      paused = true;
    },
    check(rows: string[]) {
      const { cols } = pane.size();
      const problems = screenProblems(rows, cols);
      if (paused) {
        if (problems.length) return;
        paused = false;
      }
      confirmed.push(...problems.filter((p) => suspect.includes(p)));
      suspect = problems;
      const bars = progressRows(rows);
      if (bars.length) seen.bars++;
      seen.maxRows = Math.max(seen.maxRows, bars.length);
      if (rows.some((r) => /^pull: retrying [0-9a-f]{12}: /.test(r))) seen.retries++;
      if (rows.some((r) => /^… \d+ more blobs?(:|$)/.test(r))) seen.more++;
    },
  };
}

test('a pull at 200 columns, resized to 80, 60 and 40 while bars run and retries print: clean at every step', async () => {
  const pane = Pane.open({ cols: 200, rows: 30, env: env(), cwd: work });
  try {
    const w = watcher(pane);
    pane.ecrx(`pull term/app:v1 -o out-resize --cache-dir cache-resize -j 3`);
    await pane.waitFor('bars at 200 columns', (s) => progressRows(s).length > 0, 30_000, w.check);
    for (const cols of [80, 60, 40]) {
      pane.resize(cols);
      w.pauseUntilClean();
      // Redrawn for the new width: a bar row, and nothing wider than the terminal.
      await pane.waitFor(
        `bars redrawn at ${cols} columns`,
        (s) => progressRows(s).length > 0 && screenProblems(s, cols).length === 0,
        15_000,
        w.check,
      );
    }
    expect(await pane.exitCode(60_000, w.check)).toBe(0);
    const last = pane.screen();
    expect(w.confirmed).toEqual([]);
    expect(w.seen.retries).toBeGreaterThan(0);
    expect(leftovers(last)).toEqual([]);
    expect(last.join(' ')).toContain('Pulled term/app:v1');
    expect(last.join('')).toContain(digest.slice(7, 30));
    expect(pane.cursorVisible()).toBe(true);
  } finally {
    pane.close();
  }
});

test('at 40 columns every row fits and the total keeps bytes, rate and time left; with fewer rows than blobs, one total and the most active', async () => {
  const pane = Pane.open({ cols: 40, rows: 24, env: env(), cwd: work });
  try {
    const narrow = watcher(pane);
    let totalWithRate = false;
    pane.ecrx(`pull term/app:v1 -o out-40 --cache-dir cache-40`);
    expect(
      await pane.exitCode(60_000, (s) => {
        narrow.check(s);
        if (s.some((r) => /^(total )?\d+\/7 .*MiB .*\/s/.test(r))) totalWithRate = true;
      }),
    ).toBe(0);
    expect(narrow.confirmed).toEqual([]);
    expect(narrow.seen.bars).toBeGreaterThan(0);
    expect(totalWithRate).toBe(true);
    expect(leftovers(pane.screen())).toEqual([]);

    // 8 rows: room for the status line, the total, 3 blobs and a "… more" line; 7 blobs do not fit.
    pane.resize(60, 8);
    const short = watcher(pane);
    pane.ecrx(`pull term/app:v1 -o out-short --cache-dir cache-short`);
    const code = await pane.exitCode(60_000, short.check);
    expect(code).toBe(0);
    expect(short.confirmed).toEqual([]);
    expect(short.seen.more).toBeGreaterThan(0);
    expect(short.seen.maxRows).toBeLessThanOrEqual(4);
    const last = pane.screen();
    expect(leftovers(last)).toEqual([]);
    expect(last.join(' ')).toContain('Pulled term/app:v1');
  } finally {
    pane.close();
  }
});
