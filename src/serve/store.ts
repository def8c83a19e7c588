/**
 * The emulator's storage: blobs content-addressed under `blobs/sha256/`, one JSON file per repository and per
 * upload, every file written to a temporary name and renamed, so a crash never leaves a half-written file visible
 * and a restart finds everything as it was. A repository's file is named by the sha256 of its name (the name
 * itself lives inside), so a legal 256-character name never meets the file system's 255-byte limit.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { writeFileAtomicSync } from '../core/atomic-write.js';
import { SHA256_DIGEST, sha256Hex } from '../core/digest.js';

export interface ImageRecord {
  digest: string;
  manifest: string;
  mediaType: string;
  artifactMediaType?: string;
  sizeInBytes: number;
  pushedAt: number;
  tags: string[];
  lastRecordedPullTime?: number;
  /** Blobs (config and layers) the manifest references. */
  blobs: string[];
  /** Child manifests an index references. */
  children: string[];
  /** Storage class (see ops/storage-class.ts): absent means ACTIVE. */
  status?: 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';
  lastArchivedAt?: number;
  lastActivatedAt?: number;
  /** While ACTIVATING: when the restore completes, epoch ms. */
  activeAt?: number;
  /** OCI 1.1 referrers (see ops/referrers.ts): the manifest's subject digest, artifactType and annotations. */
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface LayerRecord {
  size: number;
  /** When CompleteLayerUpload finished, epoch ms (for the consistency-lag fault). */
  completedAt: number;
}

export interface ExclusionFilter {
  filterType: string;
  filter: string;
}

export interface RepoRecord {
  registryId: string;
  name: string;
  createdAt: number;
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters?: ExclusionFilter[];
  scanOnPush: boolean;
  encryptionType: string;
  kmsKey?: string;
  images: Record<string, ImageRecord>;
  layers: Record<string, LayerRecord>;
}

export interface UploadRecord {
  id: string;
  registryId: string;
  repositoryName: string;
  received: number;
  parts: number[];
  createdAt: number;
  /** When the last part arrived (createdAt until then), epoch ms: an upload idle too long expires. */
  updatedAt?: number;
}

export class Store {
  readonly blobsDir: string;
  readonly uploadsDir: string;
  private readonly reposDir: string;
  private readonly repos = new Map<string, RepoRecord>();
  private readonly uploads = new Map<string, UploadRecord>();

  constructor(readonly dataDir: string) {
    this.blobsDir = join(dataDir, 'blobs', 'sha256');
    this.uploadsDir = join(dataDir, 'uploads');
    this.reposDir = join(dataDir, 'repositories');
    for (const d of [this.blobsDir, this.uploadsDir, this.reposDir]) mkdirSync(d, { recursive: true });
    this.load();
  }

  private load(): void {
    for (const registry of readdirSync(this.reposDir)) {
      const dir = join(this.reposDir, registry);
      for (const f of readdirSync(dir)) {
        if (f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
        if (!f.endsWith('.json')) continue;
        const rec = JSON.parse(readFileSync(join(dir, f), 'utf8')) as RepoRecord;
        this.repos.set(key(rec.registryId, rec.name), rec);
        // Data directories from before names were hashed keep working: the file moves to its hashed name.
        if (f !== repoFileName(rec.name)) renameSync(join(dir, f), this.repoPath(rec));
      }
    }
    for (const f of readdirSync(this.uploadsDir)) {
      if (f.endsWith('.tmp')) rmSync(join(this.uploadsDir, f), { force: true });
      else if (f.endsWith('.json')) {
        const up = JSON.parse(readFileSync(join(this.uploadsDir, f), 'utf8')) as UploadRecord;
        // The data file is the truth for how many bytes arrived (a crash may have cut the metadata write short).
        const data = this.uploadDataPath(up.id);
        if (!existsSync(data)) continue;
        const size = statSync(data).size;
        if (size !== up.received) continue; // inconsistent after a crash: the upload is gone, as ECR's would expire
        this.uploads.set(up.id, up);
      }
    }
    // Temporary blob files of an interrupted CompleteLayerUpload are never visible under a digest name; sweep them.
    for (const f of readdirSync(this.blobsDir)) if (f.endsWith('.tmp')) rmSync(join(this.blobsDir, f), { force: true });
  }

  getRepo(registryId: string, name: string): RepoRecord | undefined {
    return this.repos.get(key(registryId, name));
  }

  listRepos(registryId: string): RepoRecord[] {
    return [...this.repos.values()]
      .filter((r) => r.registryId === registryId)
      .sort((a, b) => a.createdAt - b.createdAt || (a.name < b.name ? -1 : 1));
  }

  /** Written first, then visible: a repository that could not be stored never exists half-way. */
  addRepo(rec: RepoRecord): void {
    this.saveRepo(rec);
    this.repos.set(key(rec.registryId, rec.name), rec);
  }

  private repoPath(rec: RepoRecord): string {
    return join(this.reposDir, rec.registryId, repoFileName(rec.name));
  }

  saveRepo(rec: RepoRecord): void {
    mkdirSync(join(this.reposDir, rec.registryId), { recursive: true });
    writeFileAtomicSync(this.repoPath(rec), JSON.stringify(rec));
  }

  deleteRepo(rec: RepoRecord): void {
    rmSync(this.repoPath(rec), { force: true });
    this.repos.delete(key(rec.registryId, rec.name));
  }

  /** Where a sha256 blob lives; any other digest has no place in the store. */
  blobPath(digest: string): string {
    if (!SHA256_DIGEST.test(digest)) throw new Error(`not a sha256 digest: ${digest.slice(0, 80)}`);
    return join(this.blobsDir, digest.slice('sha256:'.length));
  }

  hasBlob(digest: string): boolean {
    return SHA256_DIGEST.test(digest) && existsSync(this.blobPath(digest));
  }

  /** Moves a fully verified file into the blob store; an existing blob with the same digest wins. */
  commitBlob(tmpFile: string, digest: string): void {
    const dest = this.blobPath(digest);
    if (existsSync(dest)) rmSync(tmpFile, { force: true });
    else renameSync(tmpFile, dest);
  }

  newUpload(registryId: string, repositoryName: string): UploadRecord {
    const up: UploadRecord = {
      id: randomUUID(),
      registryId,
      repositoryName,
      received: 0,
      parts: [],
      createdAt: Date.now(),
    };
    writeFileSync(this.uploadDataPath(up.id), Buffer.alloc(0));
    this.uploads.set(up.id, up);
    this.saveUpload(up);
    return up;
  }

  getUpload(id: string): UploadRecord | undefined {
    return this.uploads.get(id.toLowerCase());
  }

  saveUpload(up: UploadRecord): void {
    writeFileAtomicSync(join(this.uploadsDir, `${up.id}.json`), JSON.stringify(up));
  }

  uploadDataPath(id: string): string {
    return join(this.uploadsDir, `${id}.data`);
  }

  dropUpload(up: UploadRecord): void {
    this.uploads.delete(up.id);
    rmSync(join(this.uploadsDir, `${up.id}.json`), { force: true });
    rmSync(this.uploadDataPath(up.id), { force: true });
  }

  dropUploadsOf(registryId: string, repositoryName: string): void {
    for (const up of [...this.uploads.values()]) {
      if (up.registryId === registryId && up.repositoryName === repositoryName) this.dropUpload(up);
    }
  }
}

const key = (registryId: string, name: string) => `${registryId}/${name}`;
const repoFileName = (name: string) => `${sha256Hex(name)}.json`;
