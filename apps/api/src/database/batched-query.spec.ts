import { BatchedQuery } from './batched-query';

describe(BatchedQuery.name, () => {
  it('runs the calls of one turn of the event loop as one batch, each answered its own output', async () => {
    const batches: number[][] = [];
    const sut = new BatchedQuery<number, string>(async (inputs) => {
      batches.push([...inputs]);
      return inputs.map((input) => `#${input}`);
    });

    const answers = await Promise.all([1, 2, 3].map((input) => sut.run(input)));

    expect(answers).toEqual(['#1', '#2', '#3']);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('starts a new batch for calls made while one is running', async () => {
    const batches: number[][] = [];
    const sut = new BatchedQuery<number, number>(async (inputs) => {
      batches.push([...inputs]);
      return inputs;
    });

    const first = sut.run(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = sut.run(2);

    await expect(Promise.all([first, second])).resolves.toEqual([1, 2]);
    expect(batches).toEqual([[1], [2]]);
  });

  it('splits batches at the size limit', async () => {
    const sizes: number[] = [];
    const sut = new BatchedQuery<number, number>(async (inputs) => {
      sizes.push(inputs.length);
      return inputs;
    }, 2);

    await Promise.all([1, 2, 3, 4, 5].map((input) => sut.run(input)));

    expect(sizes).toEqual([2, 2, 1]);
  });

  it('fails every call of a failed batch with its error, and goes on with the next batch', async () => {
    let fail = true;
    const sut = new BatchedQuery<number, number>(async (inputs) => {
      if (fail) throw new Error('connection terminated');
      return inputs;
    });

    const failed = await Promise.allSettled([sut.run(1), sut.run(2)]);
    fail = false;

    expect(
      failed.map(
        (result) =>
          result.status === 'rejected' && (result.reason as Error).message,
      ),
    ).toEqual(['connection terminated', 'connection terminated']);
    await expect(sut.run(3)).resolves.toBe(3);
  });

  it('fails the batch when the query throws before it returns a promise', async () => {
    const sut = new BatchedQuery<number, number>(() => {
      throw new Error('the database is not connected');
    });

    await expect(sut.run(1)).rejects.toThrow('the database is not connected');
  });

  it("fails the batch rather than answer a call with another call's output", async () => {
    const sut = new BatchedQuery<number, number>(async (inputs) =>
      inputs.slice(1),
    );

    await expect(Promise.all([sut.run(1), sut.run(2)])).rejects.toThrow(
      'answered 1 results for 2 calls',
    );
  });

  it('fails the batch, and never hangs a caller, when the query answers something other than a list', async () => {
    const sut = new BatchedQuery<number, number>(
      async () => undefined as unknown as number[],
    );

    await expect(sut.run(1)).rejects.toThrow(
      'answered undefined results for 1 calls',
    );
  });
});
