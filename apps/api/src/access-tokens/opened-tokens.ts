/**
 * The last access token opened for each connection, kept while its ciphertext is the one
 * stored, so a job's burst of calls (the Ads API proxy's common case) does not verify and
 * decrypt the same Fernet token on every call: that was about 7 % of a proxied call's CPU in
 * the bench's profile (`npm run bench -- --proxy`).
 *
 * At most one token per connection is held (a refresh replaces it; a row without a token
 * forgets it) and at most {@link OPENED_TOKENS_MAX} connections (the oldest opened first
 * out), so the plaintext in memory is no more than the access tokens this process hands out
 * anyway, for no longer than they live. Refresh tokens never come here.
 */
export const OPENED_TOKENS_MAX = 2_000;

export class OpenedTokens {
  private readonly byConnection = new Map<
    string,
    { ciphertext: string; plaintext: string }
  >();

  /** The plaintext of `ciphertext`, opened with `open` unless it was the last one opened for `connectionId`. */
  open(
    connectionId: string,
    ciphertext: string,
    open: (ciphertext: string) => string,
  ): string {
    const held = this.byConnection.get(connectionId);
    if (held?.ciphertext === ciphertext) return held.plaintext;
    const plaintext = open(ciphertext);
    this.byConnection.delete(connectionId);
    this.byConnection.set(connectionId, { ciphertext, plaintext });
    if (this.byConnection.size > OPENED_TOKENS_MAX)
      this.byConnection.delete(this.byConnection.keys().next().value as string);
    return plaintext;
  }

  forget(connectionId: string): void {
    this.byConnection.delete(connectionId);
  }

  get size(): number {
    return this.byConnection.size;
  }
}
