/**
 * A serial job queue: jobs run one at a time in call order, whatever their outcome. One per model, so
 * that concurrent callers never share the native engine (one job in flight per model and device).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `job` after every job queued before it has settled; settles as the job does. */
  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
