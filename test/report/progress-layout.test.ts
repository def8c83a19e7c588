/** The bars' layout: fits any width from 40 columns, keeps totals in human units, collapses when rows run out. */
import { ProgressModel } from '../../src/report/progress-model.js';
import { ASCII_GLYPHS, UNICODE_GLYPHS, layoutProgress } from '../../src/report/progress-layout.js';
import { displayWidth } from '../../src/report/format.js';
import { PhaseSpinner } from '../../src/report/phase-spinner.js';

const MiB = 1024 * 1024;

/** A model half-way through: config done, two layers moving, the rest waiting, on a fake clock. */
function model(layers: number): ProgressModel {
  let now = 1_000_000;
  const m = new ProgressModel(() => now);
  const blobs = [
    { digest: `sha256:${'c'.repeat(64)}`, size: 1500, label: 'config' },
    ...Array.from({ length: layers }, (_, i) => ({
      digest: `sha256:${String(i).padStart(64, '0')}`,
      size: 20 * MiB,
      label: `layer ${i + 1}/${layers}`,
    })),
  ];
  m.expect(blobs, 'download');
  m.start(blobs[0]);
  m.done(blobs[0].digest);
  m.start(blobs[1]);
  m.start(blobs[2]);
  for (let t = 1; t <= 10; t++) {
    now += 500;
    m.progress(blobs[1].digest, t * MiB);
    m.progress(blobs[2].digest, t * 0.5 * MiB);
  }
  return m;
}

test.each([40, 60, 80, 120, 200])(
  'at %d columns every line fits, bars are whole, and the total shows bytes, rate and ETA',
  (width) => {
    const lines = layoutProgress({
      model: model(5),
      status: 'pull: fetching 6 blobs from team/app',
      width,
      height: 30,
      glyphs: UNICODE_GLYPHS,
    });
    expect(lines).toHaveLength(1 + 1 + 6);
    for (const l of lines) expect(displayWidth(l)).toBeLessThan(width);
    expect(lines[1]).toMatch(/^(total )?1\/6 .*15\.0\/100\.0 MiB +[\d.]+ MiB\/s +ETA \d+s$/);
    for (const l of lines.slice(1)) expect(l).toMatch(/^\S[^█░]* [█░]*[^█░]*$/);
    expect(lines.find((l) => l.includes('layer 1/5'))).toMatch(/10\.0\/20\.0 MiB/);
    expect(lines.some((l) => /\d{4,} B\b|\bbytes\b/.test(l))).toBe(false); // human units, never raw byte counts
  },
);

test('with more blobs than rows: the spinner line, the total, the moving blobs first, and a line counting the rest', () => {
  // The status line is the spinner's (ora's first frame, then the phase), never started: nothing is drawn here.
  const spinner = new PhaseSpinner(process.stderr, ASCII_GLYPHS.frames);
  spinner.text = 'pull: fetching';
  const lines = layoutProgress({
    model: model(30),
    status: spinner.line(),
    width: 60,
    height: 6,
    glyphs: ASCII_GLYPHS,
  });
  expect(lines).toHaveLength(6);
  expect(lines[0]).toBe('| pull: fetching');
  expect(lines[1]).toMatch(/^total 1\/31 /);
  expect(lines.slice(2, 5).map((l) => /^(config|layer \d+\/30)/.exec(l)?.[1])).toEqual([
    'config',
    'layer 1/30',
    'layer 2/30',
  ]);
  expect(lines[5]).toBe('… 28 more blobs: 28 waiting');
});

test('a waiting, a cached and a finished blob say so; the total excludes what did not have to move', () => {
  let now = 0;
  const m = new ProgressModel(() => now);
  m.expect(
    [
      { digest: 'sha256:a', size: MiB, label: 'layer 1/2' },
      { digest: 'sha256:b', size: 2 * MiB, label: 'layer 2/2' },
    ],
    'upload',
  );
  m.skip({ digest: 'sha256:a', size: MiB, label: 'layer 1/2' }, 'exists');
  const lines = layoutProgress({ model: m, status: 'push', width: 80, height: 10, glyphs: UNICODE_GLYPHS });
  expect(lines[1]).toMatch(/^total 1\/2 .* 0\.0\/2\.0 MiB/);
  expect(lines[2]).toMatch(/1\.0 MiB +exists$/);
  expect(lines[3]).toMatch(/2\.0 MiB +waiting$/);
  now = 1000;
  m.start({ digest: 'sha256:b', size: 2 * MiB, label: 'layer 2/2' });
  m.done('sha256:b');
  expect(m.totals()).toMatchObject({ count: 2, finished: 2, bytesTotal: 2 * MiB, bytesDone: 2 * MiB, skipped: 1 });
});

test("times left are cli-progress's: zero-padded minutes and seconds, rounded to 5 seconds above 10", () => {
  // 30 layers of 20 MiB, 15 MiB moved at 3 MiB/s: 585 MiB left is 195 seconds.
  const lines = layoutProgress({ model: model(30), status: 'pull', width: 200, height: 40, glyphs: UNICODE_GLYPHS });
  expect(lines[1]).toMatch(/^total 1\/31 +█[█░]* +15\.0\/600\.0 MiB +3\.0 MiB\/s +ETA 03m15s$/);
  expect(lines.find((l) => l.includes('layer 1/30'))).toMatch(/10\.0\/20\.0 MiB +2\.0 MiB\/s +ETA 05s$/);
});
