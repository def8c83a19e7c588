/**
 * What a transfer tells the outside world while it runs. The engine, sources and sinks emit these and never print;
 * the CLI hands them to a reporter (terminal bars, plain CI lines, nothing for --json and --quiet).
 */
export interface BlobInfo {
  digest: string;
  size: number;
  /** What the blob is: "config", "layer 2/5", "manifest". */
  label: string;
}

export type Direction = 'download' | 'upload';

export interface TransferEvents {
  /** A stage of the run ("Resolving alpine:3.20", "Writing the layout"). */
  phase(text: string): void;
  /** The blobs a stage will go through, before the first starts (a copy has two stages: down and up). */
  expect?(blobs: BlobInfo[], direction: Direction): void;
  blobStart(blob: BlobInfo): void;
  /**
   * Bytes of this blob moved so far (a position, not a delta: it goes back when a part is tried again, which is what
   * the uploads and downloads report and what the bars draw).
   */
  blobProgress(digest: string, bytes: number): void;
  blobSkipped(blob: BlobInfo, why: 'cached' | 'exists'): void;
  blobDone(digest: string): void;
  /** Something failed and is being tried again: what, and why. */
  retry(what: string, reason: string): void;
  /** A one-line fact the user should know (an old output replaced, a quota setting the pace). */
  notice(text: string): void;
}

/** Events nobody listens to: for library use and tests. */
export const noEvents: TransferEvents = {
  phase() {},
  blobStart() {},
  blobProgress() {},
  blobSkipped() {},
  blobDone() {},
  retry() {},
  notice() {},
};
