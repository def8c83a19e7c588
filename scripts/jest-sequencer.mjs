// The order jest starts the suites in. Jest starts the suites it has timings for (in its cache) longest first, so no
// worker is left running a long suite alone at the end. CI runs in a fresh clone, without that cache, where jest
// falls back to the largest file first, and some of the slowest suites are small files. Without timings, the suites
// below (the slowest of a CI run, slowest first) start first and the rest follow in jest's own order. The list is a
// hint for speed only: a suite missing from it or renamed still runs, only perhaps later than it could.
import testSequencer from '@jest/test-sequencer';

const Sequencer = testSequencer.default; // a CommonJS module: its class is on `default`

const SLOWEST = [
  'cli/commands/pull-resume',
  'reliability/crash',
  'hostile/outputs-and-cache',
  'hostile/push-and-network',
  'cli/commands/push-quotas',
  'reliability/concurrency',
  'terminal/install',
  'serve/awscli',
  'hostile/export',
  'cli/commands/push-resume',
  'cli/commands/sync-registry',
  'serve/referrers-storage-awscli',
  'cli/commands/pull-faults',
  'cli/commands/archive',
  'cli/commands/copy-overlap',
  'cli/commands/push',
];

/** The suite's place in SLOWEST, or SLOWEST.length when it is not there. */
function rank(path) {
  const i = SLOWEST.findIndex((name) => path.endsWith(`/dist/test/${name}.test.js`));
  return i === -1 ? SLOWEST.length : i;
}

export default class SlowestFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (sorted.some((test) => test.duration != null)) return sorted; // jest has timings: its order is better
    // Array.prototype.sort is stable: the suites off the list keep jest's order among themselves.
    return sorted.sort((a, b) => rank(a.path.replaceAll('\\', '/')) - rank(b.path.replaceAll('\\', '/')));
  }
}
