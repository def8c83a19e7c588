/**
 * One signal per concurrent task. Every request adds an abort listener to the signal it is given (the AWS SDK's
 * retry race and HTTP handler, Node's http.request) and removes it when done; with one signal shared by 16 tasks,
 * more than 10 are attached at once and Node prints MaxListenersExceededWarning. Here each task runs with its own
 * child controller, and the scope itself holds a single listener on the outer signal and aborts the live children.
 */
export class AbortScope {
  private readonly ctrl = new AbortController();
  private readonly children = new Set<AbortController>();
  private readonly onOuterAbort = () => this.abort(this.outer?.reason);
  private failure?: { error: unknown };

  constructor(private readonly outer?: AbortSignal) {
    if (outer?.aborted) this.ctrl.abort(outer.reason);
    else outer?.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  /** Aborted when the outer signal is, or when abort() is called (the first failure stops the rest). */
  get signal(): AbortSignal {
    return this.ctrl.signal;
  }

  abort(reason?: unknown): void {
    if (this.ctrl.signal.aborted) return;
    this.ctrl.abort(reason);
    for (const child of this.children) child.abort(reason);
    this.children.clear();
  }

  /** Records the first task failure and stops the rest with it; later failures are what the first one caused. */
  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    this.abort(error);
  }

  /** After every task has ended: throws the first failure, or the outer reason when the outer signal stopped them. */
  throwIfFailed(): void {
    if (this.failure) throw this.outer?.aborted ? this.outer.reason : this.failure.error;
  }

  /** Runs one task with a signal of its own, aborted with the scope, forgotten when the task ends. */
  async run<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const child = new AbortController();
    if (this.ctrl.signal.aborted) child.abort(this.ctrl.signal.reason);
    else this.children.add(child);
    try {
      return await task(child.signal);
    } finally {
      this.children.delete(child);
    }
  }

  /** Detaches from the outer signal; call when every task has ended. */
  dispose(): void {
    this.outer?.removeEventListener('abort', this.onOuterAbort);
  }
}
