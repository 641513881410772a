import { z } from 'zod';
import { orgKeys, type WriteFence } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { defineScript } from './redis-script.js';
import { assertNotFenced, FENCED, fenceArgs, luaFence } from './write-fence.js';

// Marks one warning sent for one recorded expiry and forgets the warnings of
// any other expiry: a rotated secret (a new expiry) starts afresh.
// Returns 1, or FENCED.
const markWarningSent = defineScript({
  name: 'markExpiryWarningSent',
  keys: ['warnings', 'fence'],
  args: ['expiresAt', 'label', 'sentAt', 'fenced'],
  lua: `
${luaFence('fence', 'fenced')}
local keep = expiresAt .. '|'
for _, field in ipairs(redis.call('HKEYS', warnings)) do
  if string.sub(field, 1, #keep) ~= keep then redis.call('HDEL', warnings, field) end
end
redis.call('HSET', warnings, keep .. label, sentAt)
return 1
`,
  parse: z.union([z.literal(1), z.literal(FENCED)]),
});

/** Whose expiry: the client secret's, or the current certificate's. */
export type ExpiringCredential = 'client_secret' | 'certificate';

/**
 * Which expiry warnings each org was sent, per recorded expiry (`30d`,
 * `14d`, `7d`, `1d`, `expired`), so the daily scans send each once: for the
 * client secret keyed by its recorded expiry, for a certificate by its ID
 * and `notAfter`, each in a hash of its own.
 */
export class ExpiryWarningRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(orgId: string, credential: ExpiringCredential): string {
    const keys = orgKeys(this.prefix, orgId);
    return credential === 'certificate' ? keys.certificateExpiryWarnings : keys.expiryWarnings;
  }

  /** The labels sent for this recorded expiry (an ISO instant, or for a certificate `<id>@<notAfter>`). */
  async sent(
    orgId: string,
    expiresAt: string,
    credential: ExpiringCredential = 'client_secret',
  ): Promise<Set<string>> {
    const fields = await this.redis.hkeys(this.key(orgId, credential));
    const mine = `${expiresAt}|`;
    return new Set(fields.filter((f) => f.startsWith(mine)).map((f) => f.slice(mine.length)));
  }

  /**
   * With a fence (the org's integration, whose expiry it is), throws
   * OrgOffboardedError once that is gone, writing nothing.
   */
  async markSent(
    orgId: string,
    expiresAt: string,
    label: string,
    at: Date,
    credential: ExpiringCredential = 'client_secret',
    fence?: WriteFence,
  ): Promise<void> {
    const k = orgKeys(this.prefix, orgId);
    const key = this.key(orgId, credential);
    const f = fenceArgs(k, fence, key);
    const result = await markWarningSent(this.redis, {
      keys: { warnings: key, fence: f.key },
      args: { expiresAt, label, sentAt: at.toISOString(), fenced: f.flag },
    });
    assertNotFenced(result, orgId);
  }
}
