/**
 * The plan of `ecrx sync PLAN.yaml` (JSON too: YAML reads it): parsed with the `yaml` package so every problem is
 * reported at its file, line and column (`plan.yaml:7:5: sync[0].tags[1]: ...`), all of them at once.
 * The schema is in the README ("Mirroring"); this file is its one implementation.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { LineCounter as Lines, Node, YAMLMap } from 'yaml';
import { EcrxError } from '../core/errors.js';
import { parseAnyReference, parseReference, type AnyImageRef } from '../core/reference.js';
import { parsePlatform } from '../oci/platform.js';
import { MAX_SHARDS } from './shard.js';
import { checkSemverRange, parseTagPattern, type TagFilter, type TagPattern } from './tags.js';

// require(), not import(): yaml is CommonJS, and the ESM loader would first scan each of its files for exports
// (start-up time of every sync).
const { isMap, isScalar, isSeq, LineCounter, parseDocument } = createRequire(import.meta.url)(
  'yaml',
) as typeof import('yaml');

export interface CreateSettings {
  tagMutability: 'MUTABLE' | 'IMMUTABLE';
  scanOnPush: boolean;
  encryption: 'AES256' | 'KMS' | 'KMS_DSSE';
  kmsKey?: string;
}

export interface PlanEntry {
  /** Position in the plan's `sync` list. */
  index: number;
  /** `plan.yaml:LINE:COL` of the entry, for messages about it later. */
  where: string;
  /** The source as written. */
  source: string;
  /** The source's registry host (undefined: the default ECR registry) and repository. */
  ref: AnyImageRef;
  /** Set when the source names one image (a tag or a digest); else `tags` says which. */
  tags?: TagFilter;
  /** The target ECR repository, template filled in: `repo` or `<account>.dkr.ecr.<region>.amazonaws.com/repo`. */
  target: string;
  platforms: 'all' | string[];
  referrers: boolean;
  create: CreateSettings;
}

export interface Plan {
  file: string;
  shards?: number;
  entries: PlanEntry[];
}

export const DEFAULT_CREATE: CreateSettings = { tagMutability: 'MUTABLE', scanOnPush: false, encryption: 'AES256' };

const TOP_KEYS = ['version', 'sync', 'target', 'create', 'platforms', 'referrers', 'shards'];
const ENTRY_KEYS = ['source', 'target', 'tags', 'exclude', 'semver', 'newest', 'platforms', 'referrers', 'create'];
const CREATE_KEYS = ['tagMutability', 'scanOnPush', 'encryption', 'kmsKey'];
const PLACEHOLDERS = ['repo', 'name'];

type Path = (string | number)[];

const pathText = (path: Path) =>
  path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');

class Problems {
  readonly list: { line: number; column: number; path: string; message: string }[] = [];
  constructor(
    readonly file: string,
    private readonly lines: Lines,
  ) {}

  at(node: Node | null | undefined, offset = 0): { line: number; column: number } {
    const pos = this.lines.linePos(node?.range ? node.range[0] : offset);
    return { line: pos.line, column: pos.col };
  }

  where(node: Node | null | undefined): string {
    const { line, column } = this.at(node);
    return `${this.file}:${line}:${column}`;
  }

  add(node: Node | null | undefined, path: Path, message: string, offset = 0): void {
    const problem = { ...this.at(node, offset), path: pathText(path), message };
    // A plan-level default is checked once per entry using it: say it once.
    if (!this.list.some((q) => q.line === problem.line && q.column === problem.column && q.message === message))
      this.list.push(problem);
  }

  /** One VALIDATION_ERROR listing every problem, each on its own line, in file order. */
  throwIfAny(): void {
    if (!this.list.length) return;
    const sorted = [...this.list].sort((a, b) => a.line - b.line || a.column - b.column);
    const lines = sorted.map((p) => `${this.file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
    throw new EcrxError('VALIDATION_ERROR', lines.join('\n'), {
      hint: 'Fix the plan at the places named; the README section "Mirroring" lists every key of a plan.',
      details: { file: this.file, problems: sorted },
    });
  }
}

const scalarValue = (node: Node | null | undefined): unknown => (isScalar(node) ? node.value : undefined);

/** Edit distance (insert, delete, substitute, swap two neighbours): catches `traget` and `shard`. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

function didYouMean(key: string, known: string[]): string {
  const close = known.find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
  return close ? ` (did you mean '${close}'?)` : ` (known keys: ${known.join(', ')})`;
}

/** The map's entries by key; unknown and non-string keys are problems. */
function entriesOf(map: YAMLMap, path: Path, known: string[], p: Problems): Map<string, Node | null> {
  const out = new Map<string, Node | null>();
  for (const pair of map.items) {
    const keyNode = pair.key as Node | null;
    const key = scalarValue(keyNode);
    if (typeof key !== 'string') {
      p.add(keyNode, path, 'keys are names (strings)');
      continue;
    }
    if (!known.includes(key)) p.add(keyNode, [...path, key], `unknown key${didYouMean(key, known)}`);
    else out.set(key, pair.value as Node | null);
  }
  return out;
}

function stringAt(node: Node | null | undefined, path: Path, p: Problems, what = 'a string'): string | undefined {
  const v = scalarValue(node);
  if (typeof v === 'string' && v.trim()) return v.trim();
  p.add(node, path, `must be ${what}${v === undefined || v === null ? '' : `, got ${JSON.stringify(v)}`}`);
  return undefined;
}

function booleanAt(node: Node | null | undefined, path: Path, p: Problems): boolean | undefined {
  const v = scalarValue(node);
  if (typeof v === 'boolean') return v;
  p.add(node, path, `must be true or false, got ${JSON.stringify(v ?? null)}`);
  return undefined;
}

function intAt(node: Node | null | undefined, path: Path, p: Problems, min: number, max: number): number | undefined {
  const v = scalarValue(node);
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  p.add(node, path, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v ?? null)}`);
  return undefined;
}

/** A string or a list of strings, each with its own node for positions. */
function stringsAt(node: Node | null | undefined, path: Path, p: Problems): { text: string; node: Node; path: Path }[] {
  if (isSeq(node)) return node.items.flatMap((item, i) => oneString(item as Node, [...path, i], p));
  if (isScalar(node)) return oneString(node, path, p);
  p.add(node, path, 'must be a string or a list of strings');
  return [];
}

function oneString(node: Node, path: Path, p: Problems): { text: string; node: Node; path: Path }[] {
  // `3.20` unquoted is the number 3.2 to YAML: refuse it rather than guess which tag was meant.
  if (isScalar(node) && typeof node.value === 'number') {
    p.add(node, path, `write it as a quoted string ("${node.source ?? node.value}"): YAML reads it as a number`);
    return [];
  }
  const text = stringAt(node, path, p, 'a string');
  return text !== undefined ? [{ text, node, path }] : [];
}

function patternsAt(node: Node | null | undefined, path: Path, p: Problems): TagPattern[] {
  return stringsAt(node, path, p).flatMap(({ text, node: n, path: at }) => {
    try {
      return [parseTagPattern(text)];
    } catch (err) {
      p.add(n, at, (err as Error).message);
      return [];
    }
  });
}

function platformsAt(node: Node | null | undefined, path: Path, p: Problems): 'all' | string[] | undefined {
  if (isScalar(node) && node.value === 'all') return 'all';
  const list = stringsAt(node, path, p);
  for (const { text, node: n, path: at } of list) {
    try {
      parsePlatform(text);
    } catch {
      p.add(n, at, `'${text}' is not a platform: use OS/ARCH or OS/ARCH/VARIANT (linux/arm64/v8), or all`);
    }
  }
  return list.length ? list.map((l) => l.text) : undefined;
}

function createAt(
  node: Node | null | undefined,
  path: Path,
  p: Problems,
  base: CreateSettings,
): CreateSettings | undefined {
  if (!isMap(node)) {
    p.add(node, path, 'must be a mapping of tagMutability, scanOnPush, encryption, kmsKey');
    return undefined;
  }
  const keys = entriesOf(node, path, CREATE_KEYS, p);
  const out: CreateSettings = { ...base };
  if (keys.has('tagMutability')) {
    const v = stringAt(keys.get('tagMutability'), [...path, 'tagMutability'], p)?.toUpperCase();
    if (v === 'MUTABLE' || v === 'IMMUTABLE') out.tagMutability = v;
    else if (v !== undefined)
      p.add(keys.get('tagMutability'), [...path, 'tagMutability'], 'must be MUTABLE or IMMUTABLE');
  }
  if (keys.has('scanOnPush')) out.scanOnPush = booleanAt(keys.get('scanOnPush'), [...path, 'scanOnPush'], p) ?? false;
  if (keys.has('encryption')) {
    const v = stringAt(keys.get('encryption'), [...path, 'encryption'], p)?.toUpperCase();
    if (v === 'AES256' || v === 'KMS' || v === 'KMS_DSSE') {
      out.encryption = v;
      if (v === 'AES256') delete out.kmsKey;
    } else if (v !== undefined)
      p.add(keys.get('encryption'), [...path, 'encryption'], 'must be AES256, KMS or KMS_DSSE');
  }
  if (keys.has('kmsKey')) {
    out.kmsKey = stringAt(keys.get('kmsKey'), [...path, 'kmsKey'], p);
    if (out.encryption === 'AES256')
      p.add(keys.get('kmsKey'), [...path, 'kmsKey'], 'goes with encryption: KMS or KMS_DSSE');
  }
  return out;
}

/** Fills `{repo}` and `{name}` from the source's repository path. */
export function fillTemplate(template: string, repository: string): string {
  return template.replace(/\{(\w*)\}/g, (_, name: string) =>
    name === 'repo' ? repository : name === 'name' ? (repository.split('/').pop() ?? repository) : `{${name}}`,
  );
}

function targetOf(template: string, node: Node | null | undefined, path: Path, ref: AnyImageRef, p: Problems) {
  for (const m of template.matchAll(/\{(\w*)\}/g))
    if (!PLACEHOLDERS.includes(m[1])) {
      p.add(
        node,
        path,
        `unknown placeholder {${m[1]}}: use {repo} (the source's repository path) or {name} (its last part)`,
      );
      return undefined;
    }
  const filled = fillTemplate(template, ref.repository);
  try {
    const t = parseReference(filled, { defaultTag: false });
    if (t.tag || t.digest) {
      p.add(node, path, `'${filled}' names an image: a target is an ECR repository, the tag comes from the source`);
      return undefined;
    }
    return filled;
  } catch (err) {
    p.add(
      node,
      path,
      `'${filled}' is not an ECR repository: ${(err as EcrxError).message.replace(/^Invalid image reference '[^']*': /, '')}`,
    );
    return undefined;
  }
}

interface Defaults {
  target?: { text: string; node: Node | null | undefined; path: Path };
  create: CreateSettings;
  platforms: 'all' | string[];
  referrers: boolean;
}

function entryAt(node: Node | null, index: number, d: Defaults, p: Problems): PlanEntry | undefined {
  const path: Path = ['sync', index];
  if (!isMap(node)) {
    p.add(node, path, 'must be a mapping with at least source and target');
    return undefined;
  }
  const keys = entriesOf(node, path, ENTRY_KEYS, p);
  if (!keys.has('source')) {
    p.add(node, path, 'needs a source (an image such as ghcr.io/org/app:1.4, or a repository with tags)');
    return undefined;
  }
  const source = stringAt(keys.get('source'), [...path, 'source'], p, 'an image reference or a repository');
  if (source === undefined) return undefined;
  let ref: AnyImageRef;
  try {
    ref = parseAnyReference(source, { defaultTag: false });
  } catch (err) {
    p.add(keys.get('source'), [...path, 'source'], (err as EcrxError).message);
    return undefined;
  }
  const names = ['tags', 'exclude', 'semver', 'newest'].filter((k) => keys.has(k));
  let tags: TagFilter | undefined;
  if (ref.tag || ref.digest) {
    for (const k of names)
      p.add(
        keys.get(k),
        [...path, k],
        `the source names one image ('${source}'): drop ${k}, or give the repository alone`,
      );
  } else if (!names.length) {
    p.add(
      keys.get('source'),
      [...path, 'source'],
      `'${source}' is a repository: say which tags, e.g. tags: ["1.4", "2.*"] (or ["*"] for all)`,
    );
  } else {
    tags = {
      include: keys.has('tags') ? patternsAt(keys.get('tags'), [...path, 'tags'], p) : [],
      exclude: keys.has('exclude') ? patternsAt(keys.get('exclude'), [...path, 'exclude'], p) : [],
    };
    const tagsNode = keys.get('tags');
    // An empty list would select every tag: say so instead of mirroring a whole repository by accident.
    if (isSeq(tagsNode) && !tagsNode.items.length)
      p.add(tagsNode, [...path, 'tags'], 'is empty: give at least one tag or pattern (["*"] for every tag)');
    if (keys.has('semver')) {
      const range = stringAt(keys.get('semver'), [...path, 'semver'], p, 'a semver range');
      if (range !== undefined) {
        try {
          checkSemverRange(range);
          tags.semver = range;
        } catch (err) {
          p.add(keys.get('semver'), [...path, 'semver'], (err as Error).message);
        }
      }
    }
    if (keys.has('newest')) tags.newest = intAt(keys.get('newest'), [...path, 'newest'], p, 1, 10000);
  }
  const targetNode = keys.get('target');
  const template = keys.has('target')
    ? stringAt(targetNode, [...path, 'target'], p, 'an ECR repository name or template')
    : d.target?.text;
  let target: string | undefined;
  if (template === undefined) {
    if (!keys.has('target'))
      p.add(
        node,
        path,
        'needs a target (an ECR repository such as mirror/alpine), or a plan-level target template such as mirror/{repo}',
      );
  } else {
    target = keys.has('target')
      ? targetOf(template, targetNode, [...path, 'target'], ref, p)
      : targetOf(template, d.target?.node, d.target?.path ?? ['target'], ref, p);
  }
  const platforms = keys.has('platforms') ? platformsAt(keys.get('platforms'), [...path, 'platforms'], p) : d.platforms;
  const referrers = keys.has('referrers') ? booleanAt(keys.get('referrers'), [...path, 'referrers'], p) : d.referrers;
  const create = keys.has('create') ? createAt(keys.get('create'), [...path, 'create'], p, d.create) : d.create;
  if (target === undefined || platforms === undefined || referrers === undefined || create === undefined)
    return undefined;
  return { index, where: p.where(node), source, ref, ...(tags ? { tags } : {}), target, platforms, referrers, create };
}

/** Parses and validates a plan's text; `file` is the name messages give (as the user typed it). */
export function parsePlan(text: string, file: string): Plan {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const p = new Problems(file, lines);
  for (const e of doc.errors) p.add(null, [], e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, ''), e.pos[0]);
  p.throwIfAny();
  const root = doc.contents as Node | null;
  if (!isMap(root)) {
    p.add(root, [], 'a plan is a mapping with a `sync:` list of images (see the README, "Mirroring")');
    p.throwIfAny();
  }
  const keys = entriesOf(root as YAMLMap, [], TOP_KEYS, p);
  if (keys.has('version')) {
    const v = scalarValue(keys.get('version'));
    if (v !== 1)
      p.add(keys.get('version'), ['version'], `this ecrx reads plan version 1, got ${JSON.stringify(v ?? null)}`);
  }
  const defaults: Defaults = { create: DEFAULT_CREATE, platforms: 'all', referrers: false };
  if (keys.has('target')) {
    const t = stringAt(keys.get('target'), ['target'], p, 'an ECR repository template such as mirror/{repo}');
    if (t !== undefined) defaults.target = { text: t, node: keys.get('target'), path: ['target'] };
  }
  if (keys.has('create'))
    defaults.create = createAt(keys.get('create'), ['create'], p, DEFAULT_CREATE) ?? DEFAULT_CREATE;
  if (keys.has('platforms')) defaults.platforms = platformsAt(keys.get('platforms'), ['platforms'], p) ?? 'all';
  if (keys.has('referrers')) defaults.referrers = booleanAt(keys.get('referrers'), ['referrers'], p) ?? false;
  const shards = keys.has('shards') ? intAt(keys.get('shards'), ['shards'], p, 1, MAX_SHARDS) : undefined;
  const list = keys.get('sync');
  const entries: PlanEntry[] = [];
  if (!keys.has('sync')) p.add(root, [], 'needs a `sync:` list of images to mirror');
  else if (!isSeq(list) || !list.items.length) p.add(list, ['sync'], 'must be a non-empty list of images to mirror');
  else
    list.items.forEach((item, i) => {
      const e = entryAt(item as Node | null, i, defaults, p);
      if (e) entries.push(e);
    });
  p.throwIfAny();
  return { file, ...(shards !== undefined ? { shards } : {}), entries };
}

/** Reads and validates PLAN; an unreadable file is a VALIDATION_ERROR naming it. */
export function loadPlan(path: string): Plan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EcrxError(
      'VALIDATION_ERROR',
      `Cannot read the plan ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`,
      { hint: 'Give the path of a plan file (YAML or JSON), e.g. ecrx sync mirror.yaml.' },
    );
  }
  return parsePlan(text, path);
}
