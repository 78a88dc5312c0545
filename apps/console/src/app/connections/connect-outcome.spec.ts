import { connectOutcomeMessage, isConnectOutcome } from './connect-outcome';

describe(connectOutcomeMessage.name, () => {
  it('names the connection on success', () => {
    expect(connectOutcomeMessage('connected', { label: 'Acme' })).toEqual({
      text: 'Connected “Acme”. Its tokens are now kept fresh.',
      failed: false,
    });
    expect(connectOutcomeMessage('reconnected', { label: 'Acme' }).text).toBe(
      'Reconnected “Acme”. Its tokens are fresh again.',
    );
  });

  it("says what failed, in the API's words when it gave a reason", () => {
    expect(
      connectOutcomeMessage('amazon_error', {
        reason: 'Amazon refused the request (invalid_scope).',
      }),
    ).toEqual({
      text: 'Not connected: Amazon answered with an error. Amazon refused the request (invalid_scope).',
      failed: true,
    });
    expect(connectOutcomeMessage('state_expired', {}).text).toBe(
      'Not connected: the sign-in expired. It took longer than 10 minutes. Start again.',
    );
  });

  it('cuts a reason that is too long to be one', () => {
    const { text } = connectOutcomeMessage('access_denied', {
      reason: 'x'.repeat(5000),
    });

    expect(text.length).toBeLessThan(400);
  });

  it('knows the outcomes of the contract only', () => {
    expect(isConnectOutcome('connected')).toBe(true);
    expect(isConnectOutcome('pwned')).toBe(false);
    expect(isConnectOutcome(null)).toBe(false);
  });
});
