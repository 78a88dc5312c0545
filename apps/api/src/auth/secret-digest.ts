import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Compares secrets (the admin password, service keys) in constant time: both sides are
 * HMAC-ed with one key first, so the comparison sees equal-length digests and reveals neither
 * the length nor a matching prefix.
 */
export class SecretDigest {
  private readonly key: Buffer;

  constructor(keyMaterial: string, purpose: string) {
    this.key = Buffer.from(
      hkdfSync('sha256', keyMaterial, 'ads-token-keeper', purpose, 32),
    );
  }

  digest(value: string): Buffer {
    return createHmac('sha256', this.key).update(value, 'utf8').digest();
  }

  matches(candidate: string, expectedDigest: Buffer): boolean {
    return timingSafeEqual(this.digest(candidate), expectedDigest);
  }
}
