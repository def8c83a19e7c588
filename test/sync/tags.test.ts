/** Tag selection: globs, regexes, semver ranges, newest N and excludes, alone and combined. */
import {
  literalTags,
  newestFirst,
  parseTagPattern,
  selectTags,
  tagVersion,
  type TagFilter,
} from '../../src/sync/tags.js';

const ALPINE = [
  '3.19',
  '3.19.1',
  '3.20',
  '3.20.3',
  '3.21',
  '3.21.0',
  '3.21.2',
  'edge',
  'latest',
  '3.21-rc1',
  '3.21.2-alpine',
];
const filter = (f: Partial<TagFilter> & { tags?: string[]; not?: string[] }): TagFilter => ({
  include: (f.tags ?? []).map(parseTagPattern),
  exclude: (f.not ?? []).map(parseTagPattern),
  ...(f.semver !== undefined ? { semver: f.semver } : {}),
  ...(f.newest !== undefined ? { newest: f.newest } : {}),
});

test('a glob matches whole tags, * any run and ? one character; dots are literal', () => {
  expect(selectTags(ALPINE, filter({ tags: ['3.21*'] })).sort()).toEqual([
    '3.21',
    '3.21-rc1',
    '3.21.0',
    '3.21.2',
    '3.21.2-alpine',
  ]);
  expect(selectTags(['3x20', '3.20'], filter({ tags: ['3.20'] }))).toEqual(['3.20']);
  expect(selectTags(['3.2', '3.20', '3.21'], filter({ tags: ['3.2?'] })).sort()).toEqual(['3.20', '3.21']);
});

test('a /regex/ is a JavaScript regular expression, unanchored unless it anchors itself', () => {
  expect(selectTags(['v1', 'v22', 'v1.2', 'xv3'], filter({ tags: ['/^v\\d+$/'] })).sort()).toEqual(['v1', 'v22']);
  expect(selectTags(['v1', 'xv3'], filter({ tags: ['/v\\d/'] })).sort()).toEqual(['v1', 'xv3']);
  expect(() => parseTagPattern('/(/')).toThrow(/not a valid regular expression/);
});

test('patterns that are neither tag, glob nor regex are refused with the reason', () => {
  expect(() => parseTagPattern('3.20 ')).toThrow(/not a tag, a glob/);
  expect(() => parseTagPattern('a/b')).toThrow(/not a tag, a glob/);
  expect(parseTagPattern('3.20')).toEqual({ kind: 'exact', text: '3.20' });
});

test('tags read as versions with missing parts as 0; a suffix is a prerelease; other tags are not versions', () => {
  expect(tagVersion('3.21')?.version).toBe('3.21.0');
  expect(tagVersion('v2')?.version).toBe('2.0.0');
  expect(tagVersion('3.21.2-alpine')?.prerelease).toEqual(['alpine']);
  expect(tagVersion('latest')).toBeUndefined();
  expect(tagVersion('3.21.2.4')).toBeUndefined();
});

test('a semver range keeps the tags inside it and leaves prereleases and non-versions out', () => {
  expect(selectTags(ALPINE, filter({ semver: '>=3.20 <3.21.1' }))).toEqual(['3.21.0', '3.21', '3.20.3', '3.20']);
  expect(selectTags(['1.0.0', '1.5.2', '2.0.0', 'v1.9.0', 'latest'], filter({ semver: '^1.2' }))).toEqual([
    'v1.9.0',
    '1.5.2',
  ]);
});

test('newest N orders by version, ties and non-versions lexically, versions before other tags', () => {
  expect(newestFirst(['3.9', '3.10', 'edge', '3.10.0', 'latest'])).toEqual(['3.10.0', '3.10', '3.9', 'latest', 'edge']);
  // A suffix is a prerelease: below its release, above the release before (semver's order).
  expect(selectTags(ALPINE, filter({ newest: 3 }))).toEqual(['3.21.2', '3.21.2-alpine', '3.21.0']);
  expect(selectTags(['b', 'c', 'a'], filter({ newest: 2 }))).toEqual(['c', 'b']);
});

test('combined: include any pattern, then exclude, then the range, then newest N', () => {
  const f = filter({ tags: ['3.2*', 'edge'], not: ['*-rc*', '3.20'], semver: '>=3', newest: 3 });
  expect(selectTags(ALPINE, f)).toEqual(['3.21.2', '3.21.0', '3.21']);
  expect(selectTags(ALPINE, filter({ tags: ['edge', 'latest'], not: ['latest'] }))).toEqual(['edge']);
  expect(selectTags([...ALPINE, ...ALPINE], filter({ tags: ['3.19*'] }))).toEqual(['3.19.1', '3.19']);
});

test('literal tags need no listing; anything else does', () => {
  expect(literalTags(filter({ tags: ['3.20', '3.21', '3.20'] }))).toEqual(['3.20', '3.21']);
  expect(literalTags(filter({ tags: ['3.20', '3.21*'] }))).toBeUndefined();
  expect(literalTags(filter({ tags: ['3.20'], newest: 1 }))).toBeUndefined();
  expect(literalTags(filter({ semver: '^1' }))).toBeUndefined();
});
