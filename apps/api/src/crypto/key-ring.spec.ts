import { Fernet, keyIdOf } from '@keeper/fernet';
import { inspect } from 'node:util';
import { KeyRing } from './key-ring';
import { UnreadableSecretError } from './unreadable-secret.error';

describe(KeyRing.name, () => {
  const [primary, old, foreign] = [
    Fernet.generateKey(),
    Fernet.generateKey(),
    Fernet.generateKey(),
  ];

  it('encrypts under the primary key and reads any configured key', () => {
    const sut = new KeyRing([primary, old]);

    const underOld = new Fernet(old).encrypt('Atzr|refresh');

    expect(sut.decrypt(sut.encrypt('Atza|access'))).toBe('Atza|access');
    expect(new Fernet(primary).decrypt(sut.encrypt('x')).toString()).toBe('x');
    expect(sut.decrypt(underOld)).toBe('Atzr|refresh');
    expect(sut.keyIds).toEqual([keyIdOf(primary), keyIdOf(old)]);
    expect(sut.oldKeyIds).toEqual([keyIdOf(old)]);
    expect(sut.holds(keyIdOf(old))).toBe(true);
    expect(sut.holds(keyIdOf(foreign))).toBe(false);
  });

  it('never expires a stored secret', () => {
    const sut = new KeyRing([primary]);
    const tenYearsOld = new Fernet(primary).encrypt('Atzr|old', {
      now: Math.floor(Date.now() / 1000) - 10 * 365 * 86_400,
    });

    expect(sut.decrypt(tenYearsOld)).toBe('Atzr|old');
  });

  it('rotates to the primary key, keeping the Fernet timestamp', () => {
    const sut = new KeyRing([primary, old]);
    const token = new Fernet(old).encrypt('Atzr|refresh', {
      now: 1_700_000_000,
    });

    const rotated = sut.rotate(token);

    expect(new Fernet(primary).decrypt(rotated).toString()).toBe(
      'Atzr|refresh',
    );
    const timestamp = (fernetToken: string) =>
      Buffer.from(fernetToken, 'base64url').subarray(1, 9).toString('hex');
    expect(timestamp(rotated)).toBe(timestamp(token));
  });

  it('answers a ciphertext no configured key opens with a domain error that shows nothing of it', () => {
    const sut = new KeyRing([primary]);
    const token = new Fernet(foreign).encrypt('Atzr|canary');

    const failure = (() => {
      try {
        sut.decrypt(token);
      } catch (error) {
        return error as Error;
      }
      throw new Error('expected a failure');
    })();

    expect(failure).toBeInstanceOf(UnreadableSecretError);
    expect(failure.message).not.toContain(token.slice(0, 20));
    expect(failure.message).not.toContain('canary');
    expect(() => sut.rotate(token)).toThrow(UnreadableSecretError);
  });

  it('shows no key when logged or serialised', () => {
    const sut = new KeyRing([primary, old]);

    expect(JSON.stringify(sut)).not.toContain(primary.slice(0, 20));
    expect(inspect(sut, { depth: 5 })).not.toContain(primary.slice(0, 20));
  });
});
