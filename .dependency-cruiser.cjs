/**
 * Layer boundaries of src/ (README, "Architecture"): lower layers never import higher ones, and nothing imports in a
 * cycle. Order, low to high: core -> oci, net -> ecr, registry, store -> sources, sinks -> engine -> report -> cli.
 * serve (the emulator) stands beside the client: it may use core and oci, never the client's layers.
 */
/**
 * Contracts: interface-only files a layer below their owner implements or emits through (a sink reports progress
 * through TransferEvents; the ECR download writes into a BlobStore). Lower layers may import them, types only
 * (the rule "contracts-type-only" below).
 */
const CONTRACTS = '^src/(engine/events|store/blob-store)[.]ts$';
const layer = (from, forbidden, comment) => ({
  name: `${from}-not-to-${forbidden.join('-')}`,
  comment,
  severity: 'error',
  from: { path: `^src/${from}/` },
  to: { path: `^src/(${forbidden.join('|')})/`, pathNot: CONTRACTS },
});
const above = (...names) => names;
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles hide the direction of a dependency.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'contracts-type-only',
      severity: 'error',
      comment: 'A contract reaches below its layer as types only: no code of a higher layer runs in a lower one.',
      from: { path: '^src/(core|oci|net|ecr|registry|store|sources|sinks)/' },
      to: { path: CONTRACTS, dependencyTypesNot: ['type-only'] },
    },
    layer(
      'core',
      above('oci', 'net', 'ecr', 'registry', 'store', 'sources', 'sinks', 'engine', 'report', 'cli', 'serve'),
      'core is the bottom layer',
    ),
    layer(
      'oci',
      above('net', 'ecr', 'registry', 'store', 'sources', 'sinks', 'engine', 'report', 'cli', 'serve'),
      'oci is image-format logic only',
    ),
    layer(
      'net',
      above('oci', 'ecr', 'registry', 'store', 'sources', 'sinks', 'engine', 'report', 'cli', 'serve'),
      'net is transport only',
    ),
    layer(
      '(ecr|registry)',
      above('store', 'sources', 'sinks', 'engine', 'report', 'cli', 'serve'),
      'API clients know nothing of images in flight',
    ),
    layer(
      'store',
      above('ecr', 'registry', 'sources', 'sinks', 'engine', 'report', 'cli', 'serve'),
      'the store knows only blobs',
    ),
    layer(
      '(sources|sinks)',
      above('engine', 'report', 'cli', 'serve'),
      'sources and sinks are used by the engine, never the reverse',
    ),
    layer('engine', above('report', 'cli', 'serve'), 'the engine emits events; it never prints'),
    layer(
      'sync',
      above('ecr', 'registry', 'store', 'sources', 'sinks', 'engine', 'cli', 'serve'),
      'the sync plan is pure logic: images move through the backend the CLI injects (src/sync/run.ts)',
    ),
    layer('report', above('cli', 'serve', 'sources', 'sinks', 'ecr', 'registry', 'store'), 'reporters render events'),
    layer(
      'serve',
      above('ecr', 'registry', 'store', 'sources', 'sinks', 'engine', 'report', 'cli'),
      'the emulator shares no code with the client it checks',
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
