/**
 * Secrets the process currently holds in clear text (a decrypted client
 * secret during a sync, say). Every log line is scrubbed of them, so a
 * secret that leaks into an error message or a library's debug output
 * still never reaches the log. Path-based redaction alone cannot catch that.
 */
export class SecretScrubber {
  private readonly held = new Map<string, number>();

  /** Starts scrubbing `value`; call the returned function when it is no longer held. */
  track(value: string): () => void {
    // Very short values would scrub innocent text and protect little.
    if (value.length < 6) return () => {};
    this.held.set(value, (this.held.get(value) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.held.get(value) ?? 1) - 1;
      if (n <= 0) this.held.delete(value);
      else this.held.set(value, n);
    };
  }

  get size(): number {
    return this.held.size;
  }

  scrubString(text: string): string {
    let out = text;
    for (const secret of this.held.keys()) {
      if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
    }
    return out;
  }

  /** Deep copy with every held secret replaced; non-plain objects are stringified first. */
  scrub(value: unknown, depth = 0): unknown {
    if (this.held.size === 0) return value;
    if (typeof value === 'string') return this.scrubString(value);
    if (value === null || typeof value !== 'object' || depth > 8) return value;
    if (Array.isArray(value)) return value.map((v) => this.scrub(v, depth + 1));
    if (value instanceof Error) {
      return {
        type: value.name,
        message: this.scrubString(value.message),
        stack: value.stack === undefined ? undefined : this.scrubString(value.stack),
      };
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.scrub(v, depth + 1);
    return out;
  }
}

/**
 * What of a PEM private key to scrub from logs while it is held: the whole
 * of it, and each line of its body (a library may log a line on its own).
 */
export function pemSecretParts(pem: string): string[] {
  const lines = pem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith('-----'));
  return [pem, pem.trim(), ...lines];
}

/** One per process: every logger made by createLogger consults it. */
export const secretScrubber = new SecretScrubber();
