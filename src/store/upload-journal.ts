/**
 * The push journal: for each blob whose upload to ECR is under way, the uploadId ECR gave it and how many bytes ECR
 * has acknowledged, in `<cache>/uploads-v1/<key>.json` (key: sha256 of registry, repository and digest). A push
 * killed part-way leaves its entries behind and the next push of the same blob continues that upload instead of
 * sending it again from byte 0. An entry is only ever a hint: ECR is asked where the upload stands before anything
 * is trusted, and an upload ECR no longer knows is started afresh. Entries are written to a temporary name and
 * renamed, so a kill never leaves a half-written one; one that cannot be read is ignored and removed.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
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

export class UploadJournal {
  readonly dir: string;

  constructor(cacheDir: string) {
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
    const path = this.pathOf(entry);
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify({ ...entry, updatedAt: Date.now() }));
    await rename(tmp, path);
  }

  async remove(place: UploadPlace): Promise<void> {
    await rm(this.pathOf(place), { force: true });
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
