/**
 * Which tags of a source repository a sync entry takes: glob (`3.21*`), regex (`/^v\d+$/`), semver range
 * (`>=1.2 <2`), newest N, and excludes, combined. Pure functions: the tag list comes from the caller.
 */
import { createRequire } from 'node:module';
import type * as Semver from 'semver';

let loaded: typeof Semver | undefined;
/** semver, on first use: a plan without version filters or tag lists never loads its ~50 files (start-up time). */
const semver = (): typeof Semver => (loaded ??= createRequire(import.meta.url)('semver') as typeof Semver);

export type TagPattern =
  | { kind: 'exact'; text: string }
  | { kind: 'glob'; text: string; re: RegExp }
  | { kind: 'regex'; text: string; re: RegExp };

export interface TagFilter {
  /** A tag is a candidate when it matches any of these (every tag when empty). */
  include: TagPattern[];
  /** ... and none of these. */
  exclude: TagPattern[];
  /** ... and, when given, reads as a version inside this semver range. */
  semver?: string;
  /** Keep only the N newest of the candidates (version order, then lexical). */
  newest?: number;
}

/** Throws an Error whose message says what is wrong with the pattern (the plan adds where it is). */
export function parseTagPattern(text: string): TagPattern {
  if (text.length >= 2 && text.startsWith('/') && text.endsWith('/')) {
    const body = text.slice(1, -1);
    try {
      return { kind: 'regex', text, re: new RegExp(body) };
    } catch (err) {
      throw new Error(`'${text}' is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if (!/^[A-Za-z0-9_.*?-]{1,300}$/.test(text))
    throw new Error(
      `'${text}' is not a tag, a glob (* and ?) or a /regex/: tags are letters, digits, _ . - (up to 300 characters)`,
    );
  if (!/[*?]/.test(text)) return { kind: 'exact', text };
  const body = text
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return { kind: 'glob', text, re: new RegExp(`^${body}$`) };
}

/** Throws when the range is not one semver understands. */
export function checkSemverRange(range: string): void {
  if (semver().validRange(range) === null)
    throw new Error(`'${range}' is not a semver range (for example '>=1.2 <2', '^3.20', '~1.4.0', '1.x')`);
}

export const matchesPattern = (tag: string, p: TagPattern): boolean =>
  p.kind === 'exact' ? tag === p.text : p.re.test(tag);

const VERSION_RE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?$/;

/**
 * The version a tag reads as: `[v]MAJOR[.MINOR[.PATCH]][-PRERELEASE]`, missing parts as 0 (`3.21` is 3.21.0).
 * A suffix such as `-alpine` is a prerelease, so ranges leave it out unless they name one, as semver does.
 */
export function tagVersion(tag: string): Semver.SemVer | undefined {
  const m = VERSION_RE.exec(tag);
  if (!m) return undefined;
  return semver().parse(`${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}${m[4] ?? ''}`) ?? undefined;
}

/** Newest first: tags that read as versions by version (then lexical on a tie), then the others lexical, descending. */
export function newestFirst(tags: string[]): string[] {
  const keyed = tags.map((tag) => ({ tag, v: tagVersion(tag) }));
  return keyed
    .sort((a, b) => {
      if (a.v && b.v) return semver().rcompare(a.v, b.v) || (a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0);
      if (a.v) return -1;
      if (b.v) return 1;
      return a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0;
    })
    .map((k) => k.tag);
}

/** The tags of `all` the filter keeps, newest first, each once. */
export function selectTags(all: string[], filter: TagFilter): string[] {
  const picked = [...new Set(all)].filter((tag) => {
    if (filter.include.length && !filter.include.some((p) => matchesPattern(tag, p))) return false;
    if (filter.exclude.some((p) => matchesPattern(tag, p))) return false;
    if (filter.semver !== undefined) {
      const v = tagVersion(tag);
      if (!v || !semver().satisfies(v, filter.semver)) return false;
    }
    return true;
  });
  const ordered = newestFirst(picked);
  return filter.newest !== undefined ? ordered.slice(0, filter.newest) : ordered;
}

/** The tags, when the filter names them all literally: then nothing needs listing (no call to the registry). */
export function literalTags(filter: TagFilter): string[] | undefined {
  if (!filter.include.length || filter.exclude.length || filter.semver !== undefined || filter.newest !== undefined)
    return undefined;
  if (!filter.include.every((p) => p.kind === 'exact')) return undefined;
  return [...new Set(filter.include.map((p) => p.text))];
}
