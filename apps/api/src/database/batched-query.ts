/** The most calls one statement carries; more wait for the next statement. */
export const MAX_BATCH_SIZE = 500;

interface PendingCall<Input, Output> {
  input: Input;
  resolve: (output: Output) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the calls made during one turn of the event loop as one statement.
 *
 * Under load many requests reach the same hot query in the same turn (Node handles every
 * socket that became readable before it runs `setImmediate` callbacks). Each statement costs a
 * pool checkout, a socket write and a read on both sides, and a parse, plan and commit in
 * PostgreSQL; one statement for the whole batch pays that once. A call made alone waits only
 * for the end of the current turn, not for a timer, so a quiet server answers as fast as with
 * one statement per call.
 *
 * `runBatch` answers one output per input, in order. When it fails, every call of its batch
 * fails with the same error (as each would have failed alone: these are database errors).
 *
 * Written here rather than taken from `dataloader`: that one batches per microtask queue, which
 * under load is one request per batch, and caches results, which these reads must not do.
 */
export class BatchedQuery<Input, Output> {
  private pending: PendingCall<Input, Output>[] = [];
  private scheduled = false;

  constructor(
    private readonly runBatch: (inputs: readonly Input[]) => Promise<readonly Output[]>,
    private readonly maxBatchSize = MAX_BATCH_SIZE,
  ) {}

  run(input: Input): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (this.pending.length >= this.maxBatchSize) {
        this.flush();
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flushScheduled);
      }
    });
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const inputs = batch.map((call) => call.input);
    // A synchronous throw (no database yet) rejects the batch like a failed statement.
    new Promise<readonly Output[]>((resolve) => resolve(this.runBatch(inputs))).then(
      (outputs) => {
        if (outputs.length !== batch.length) {
          const error = new Error(`A batched query answered ${outputs.length} results for ${batch.length} calls.`);
          for (const call of batch) call.reject(error);
          return;
        }
        batch.forEach((call, index) => call.resolve(outputs[index] as Output));
      },
      (error: unknown) => {
        for (const call of batch) call.reject(error);
      },
    );
  }
}
