// One line per step, ✓ or ✗ with the reason, and the closing `N passed, M failed` CI reads.
// The journey is a chain: once a step fails, the later ones cannot mean anything, so they are
// reported as failed ("not run"), never skipped silently.

function firstLine(error) {
  const text = error instanceof Error ? error.message : String(error);
  // Playwright's messages carry a call log after the first lines: keep the gist.
  return (
    text
      .split('\n')
      .filter((line) => line.trim() && !/^\s*(Call log|- |=+)/.test(line))
      .slice(0, 3)
      .join(' | ')
      // eslint-disable-next-line no-control-regex -- ANSI colour codes
      .replace(/\x1b\[[0-9;]*m/g, '')
  );
}

export class StepRunner {
  results = [];
  #blockedBy = null;
  #closed = false;

  /** @param {{ out?: (line: string) => unknown, onFailure?: (name: string, error: any) => unknown }} [options] */
  constructor({
    out = (line) => process.stdout.write(`${line}\n`),
    onFailure,
  } = {}) {
    this.out = out;
    this.onFailure = onFailure;
  }

  /**
   * Runs `work`. `blocking: false` for checks whose failure leaves the journey able to go on
   * (accessibility, console errors).
   */
  async step(name, work, { blocking = true } = {}) {
    if (this.#blockedBy) {
      this.#record(name, false, `not run: “${this.#blockedBy}” failed`, 0);
      return false;
    }
    const started = Date.now();
    try {
      const note = await work();
      this.#record(
        name,
        true,
        typeof note === 'string' ? note : '',
        Date.now() - started,
      );
      return true;
    } catch (error) {
      this.#record(name, false, firstLine(error), Date.now() - started);
      await this.onFailure?.(name, error);
      if (blocking) this.#blockedBy = name;
      return false;
    }
  }

  /** A failure outside any step (the stack did not start, the run took too long). */
  fail(name, reason) {
    this.#record(name, false, reason, 0);
    this.#blockedBy ??= name;
  }

  /** From now on nothing is recorded: the run is ending (a step cut short says nothing). */
  close() {
    this.#closed = true;
  }

  #record(name, ok, detail, ms) {
    if (this.#closed) return;
    this.results.push({ name, ok, detail, ms });
    const time = ms ? ` (${(ms / 1000).toFixed(1)} s)` : '';
    this.out(`${ok ? '✓' : '✗'} ${name}${time}${detail ? ` — ${detail}` : ''}`);
  }

  get passed() {
    return this.results.filter((result) => result.ok).length;
  }

  get failed() {
    return this.results.length - this.passed;
  }

  summary() {
    return `${this.passed} passed, ${this.failed} failed`;
  }
}
