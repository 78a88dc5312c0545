import {
  DEFAULT_ACCOUNT,
  profilesFor,
  resolveAccount,
  SAMPLE_ACCOUNTS,
} from './accounts';

describe(resolveAccount.name, () => {
  it('finds sample accounts by id or name, in any case', () => {
    expect(resolveAccount('A1SANDBOXACME01')).toBe(DEFAULT_ACCOUNT);
    expect(resolveAccount('  sakura home kk ')).toBe(SAMPLE_ACCOUNTS[2]);
  });

  it('accepts Amazon-looking ids as they are', () => {
    expect(resolveAccount('ENTITY3ABCDEFGH')).toEqual(
      expect.objectContaining({ id: 'ENTITY3ABCDEFGH', type: 'vendor' }),
    );
    expect(resolveAccount('A2XYZ1234567')).toEqual(
      expect.objectContaining({ id: 'A2XYZ1234567', type: 'seller' }),
    );
  });

  it('derives the same seller id from the same name', () => {
    const sut = resolveAccount('Grace’s Garden Shop');

    expect(sut?.id).toMatch(/^A[0-9A-Z]{13}$/);
    expect(resolveAccount(' Grace’s   Garden Shop')?.id).toBe(sut?.id);
    expect(resolveAccount('Another shop')?.id).not.toBe(sut?.id);
  });

  it('refuses empty, overlong and control-character names', () => {
    expect(resolveAccount('   ')).toBeUndefined();
    expect(resolveAccount('x'.repeat(101))).toBeUndefined();
    expect(resolveAccount('bad\u0000name')).toBeUndefined();
  });
});

describe(profilesFor.name, () => {
  it('gives every sample account three believable profiles', () => {
    for (const account of SAMPLE_ACCOUNTS) {
      const sut = profilesFor(account);

      expect(sut).toHaveLength(3);
      for (const profile of sut) {
        expect(Number.isSafeInteger(profile.profileId)).toBe(true);
        expect(profile.accountInfo).toEqual(
          expect.objectContaining({
            id: account.id,
            type: account.type,
            name: account.name,
          }),
        );
        expect(profile.accountInfo.marketplaceStringId).toMatch(
          /^A[0-9A-Z]{8,14}$/,
        );
      }
    }
  });

  it('is deterministic and differs between accounts', () => {
    const typed = resolveAccount('Grace’s Garden Shop');
    if (!typed) throw new Error('account expected');

    expect(profilesFor(typed)).toEqual(profilesFor(typed));
    expect(profilesFor(typed).map((p) => p.countryCode)).toEqual([
      'US',
      'UK',
      'JP',
    ]);
    expect(profilesFor(typed)[0]?.profileId).not.toBe(
      profilesFor(DEFAULT_ACCOUNT)[0]?.profileId,
    );
  });

  it('uses the currencies and time zones of each marketplace', () => {
    const [us, ca, mx] = profilesFor(DEFAULT_ACCOUNT);

    expect(us).toEqual(
      expect.objectContaining({
        countryCode: 'US',
        currencyCode: 'USD',
        timezone: 'America/Los_Angeles',
      }),
    );
    expect(ca?.currencyCode).toBe('CAD');
    expect(mx?.accountInfo.validPaymentMethod).toBe(false);
  });
});
