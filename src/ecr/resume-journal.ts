/**
 * What an upload needs from a push journal (src/store/upload-journal.ts implements it; the CLI hands one to the
 * connection). Declared here, not imported from the store, because API clients sit below the store.
 */
export interface UploadPlace {
  /** The registry as the client sees it: endpoint, region and registry id. */
  registry: string;
  repository: string;
  digest: string;
}

export interface ResumePoint extends UploadPlace {
  uploadId: string;
  partSize: number;
  size: number;
  /** Bytes ECR has acknowledged: the next part starts here. */
  offset: number;
}

export interface ResumeJournal {
  read(place: UploadPlace): Promise<ResumePoint | undefined>;
  write(entry: ResumePoint): Promise<void>;
  remove(place: UploadPlace): Promise<void>;
}
