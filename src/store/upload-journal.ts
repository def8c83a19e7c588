/**
 * The push journal: for each blob whose upload to ECR is under way, the uploadId ECR gave it and how many bytes ECR
 * has acknowledged, in `<cache>/uploads-v1/<key>.json` (key: sha256 of registry, repository and digest). A push
 * killed part-way leaves its entries behind and the next push of the same blob continues that upload instead of
 * sending it again from byte 0. An entry is only ever a hint: ECR is asked where the upload stands before anything
 * is trusted, and an upload ECR no longer knows is started afresh. Entries are written to a temporary name and
 * renamed, so a kill never leaves a half-written one; one that cannot be read is ignored and removed.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** Where an upload goes: the same three always name the same journal entry. */
export interface UploadPlace {
  /** The registry as the client sees it: endpoint, region and registry id. */
  registry: string;
  repository: string;
  digest: string;
}

export interface UploadJournalEntry extends UploadPlace {
  uploadId: string;
  /** The part size ECR answered at InitiateLayerUpload (parts after a resume must keep to it). */
  partSize: number;
  /** The blob's size, so an entry for a blob of another size is never used. */
  size: number;
  /** Bytes ECR has acknowledged: the next part starts here. */
  offset: number;
  /** When the entry was last written, epoch ms. */
  updatedAt: number;
}

/**
 * Entries (and temporary files of a write cut short) untouched for this long are swept: ECR has forgotten such
 * uploads long ago. An entry can outlive its upload when a run is killed between CompleteLayerUpload and removing
 * the entry; the next push finds that blob already in the repository and never looks at the entry again.
 */
export const STALE_MS = 7 * 24 * 3600 * 1000;

export class UploadJournal {
  readonly dir: string;
  private swept = false;

  /**
   * With `resume: false` (--no-resume) nothing recorded is ever continued, but uploads are still recorded and
   * cleared: this run's own upload, if killed, can be continued by the next run, and no entry outlives its blob.
   */
  constructor(
    cacheDir: string,
    private readonly opts: { resume?: boolean } = {},
  ) {
    this.dir = join(cacheDir, 'uploads-v1');
  }

  static keyOf(place: UploadPlace): string {
    return createHash('sha256').update(`${place.registry}\n${place.repository}\n${place.digest}`, 'utf8').digest('hex');
  }

  private pathOf(place: UploadPlace): string {
    return join(this.dir, `${UploadJournal.keyOf(place)}.json`);
  }

  /** The entry for `place`, or undefined when there is none or it does not describe this very upload. */
  async read(place: UploadPlace): Promise<UploadJournalEntry | undefined> {
    if (this.opts.resume === false) return undefined;
    let text: string;
    try {
      text = await readFile(this.pathOf(place), 'utf8');
    } catch {
      return undefined;
    }
    const entry = parseEntry(text);
    if (
      !entry ||
      entry.registry !== place.registry ||
      entry.repository !== place.repository ||
      entry.digest !== place.digest
    ) {
      await this.remove(place);
      return undefined;
    }
    return entry;
  }

  async write(entry: Omit<UploadJournalEntry, 'updatedAt'>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (!this.swept) {
      this.swept = true;
      await this.sweep(Date.now() - STALE_MS);
    }
    const path = this.pathOf(entry);
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify({ ...entry, updatedAt: Date.now() }));
    await rename(tmp, path);
  }

  async remove(place: UploadPlace): Promise<void> {
    await rm(this.pathOf(place), { force: true });
  }

  /** Removes entries and temporary files last written before `before` (epoch ms). */
  async sweep(before: number): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!/^[0-9a-f]{64}\.json(\..*\.tmp)?$/.test(name)) continue;
      const path = join(this.dir, name);
      const st = await stat(path).catch(() => undefined);
      if (st?.isFile() && st.mtimeMs < before) await rm(path, { force: true });
    }
  }
}

function parseEntry(text: string): UploadJournalEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Record<string, unknown>;
  const str = (k: string) => typeof e[k] === 'string' && (e[k] as string).length > 0;
  const count = (k: string) => Number.isSafeInteger(e[k]) && (e[k] as number) >= 0;
  if (!['registry', 'repository', 'digest', 'uploadId'].every(str)) return undefined;
  if (!['partSize', 'size', 'offset'].every(count)) return undefined;
  if ((e.offset as number) > (e.size as number) || (e.partSize as number) === 0) return undefined;
  return {
    registry: e.registry as string,
    repository: e.repository as string,
    digest: e.digest as string,
    uploadId: e.uploadId as string,
    partSize: e.partSize as number,
    size: e.size as number,
    offset: e.offset as number,
    updatedAt: Number.isFinite(e.updatedAt) ? (e.updatedAt as number) : 0,
  };
}
