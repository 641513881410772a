import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SecretKeyring } from './secret-keyring.js';

/** HMAC-SHA256 truncated to 128 bits: forging one is out of reach, and cursors stay short. */
const MAC_BYTES = 16;

/**
 * Authenticates opaque cursors: `base64url(payload ‖ mac)`, the MAC over a
 * purpose label, the context it was issued for (the org) and the payload.
 * A cursor altered in any bit, made up, or issued for another org does not
 * verify. The key is derived from the encryption keys (see SecretKeyring):
 * a cursor signed before a key rotation verifies as long as the previous
 * key is still configured.
 */
export class CursorSigner {
  private readonly keys: Buffer[];

  constructor(
    keyring: SecretKeyring,
    private readonly purpose: string,
  ) {
    this.keys = keyring.derive(`cursor mac: ${purpose}`);
  }

  private mac(key: Buffer, context: string, payload: Buffer): Buffer {
    return createHmac('sha256', key)
      .update(`${this.purpose}\0${context}\0`, 'utf8')
      .update(payload)
      .digest()
      .subarray(0, MAC_BYTES);
  }

  sign(context: string, payload: string): string {
    const body = Buffer.from(payload, 'utf8');
    const first = this.keys[0] as Buffer;
    return Buffer.concat([body, this.mac(first, context, body)]).toString('base64url');
  }

  /** The payload, or null when the cursor was not signed by this service for `context`. */
  verify(context: string, cursor: string): string | null {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
    const raw = Buffer.from(cursor, 'base64url');
    // Canonical encoding only: the same cursor has one spelling.
    if (raw.toString('base64url') !== cursor || raw.length <= MAC_BYTES) return null;
    const body = raw.subarray(0, raw.length - MAC_BYTES);
    const presented = raw.subarray(raw.length - MAC_BYTES);
    const valid = this.keys.some((key) => timingSafeEqual(this.mac(key, context, body), presented));
    return valid ? body.toString('utf8') : null;
  }
}
