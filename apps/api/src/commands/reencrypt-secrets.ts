/**
 * `pnpm secrets:reencrypt`: re-seals every stored secret with the current
 * SECRET_ENCRYPTION_KEY, opening each with whichever configured key sealed
 * it (SECRET_ENCRYPTION_KEY or one in SECRET_DECRYPTION_KEYS). Safe to run
 * against the live service and to run again. Logs JSON lines: one per
 * secret no configured key opens (org ID and reason), then the counts.
 * Exit 0 when every secret is now under the current key, 2 when some could
 * not be decrypted, 1 on bad configuration or when Redis does not answer.
 */
import { ConfigError, loadEnv, type RoleEnv } from '@pinnacle/config';
import { createLogger } from '@pinnacle/logging';
import { createRedisConnection, redisTarget, waitForReady } from '@pinnacle/queue-runtime';
import {
  certificateKeyKind,
  clientSecretKind,
  createStores,
  reencryptSecrets,
  type SealedSecretKind,
  SecretKeyring,
} from '@pinnacle/redis-store';

const REDIS_READY_TIMEOUT_MS = 10_000;

async function main(): Promise<number> {
  let env: RoleEnv<'worker'>;
  try {
    // The worker's requirements: the keys and Redis, nothing of the api's.
    env = loadEnv(process.env, 'worker');
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const logger = createLogger({ name: 'secrets-reencrypt', level: env.LOG_LEVEL });
  const keyring = new SecretKeyring({
    current: env.SECRET_ENCRYPTION_KEY,
    previous: env.SECRET_DECRYPTION_KEYS,
  });
  const redis = createRedisConnection(redisTarget(env), 'producer', {
    connectionName: 'entra-sync-secrets-reencrypt',
  });
  redis.on('error', () => {});
  try {
    await waitForReady(redis, REDIS_READY_TIMEOUT_MS);
    const stores = createStores(redis, env.QUEUE_PREFIX, env.SECRET_ENCRYPTION_KEY, {
      previousSecretKeys: env.SECRET_DECRYPTION_KEYS,
    });
    const kinds: SealedSecretKind[] = [
      clientSecretKind(stores.integrations),
      certificateKeyKind(stores.certificates),
    ];
    logger.info(
      {
        currentKeyId: keyring.current.id,
        previousKeyIds: keyring.entries.slice(1).map((e) => e.id),
        kinds: kinds.map((k) => k.name),
      },
      're-encrypting stored secrets with the current key',
    );
    const report = await reencryptSecrets({
      orgIdBatches: stores.integrations.orgIdBatches(),
      kinds,
      currentKeyId: keyring.current.id,
      onFailure: (failure) =>
        logger.warn(failure, 'a stored secret could not be decrypted by any configured key'),
    });
    const { failures, ...counts } = report;
    logger.info(
      { ...counts, failedOrgIds: [...new Set(failures.map((f) => f.orgId))] },
      report.failed > 0
        ? 'secrets re-encrypted, except those no configured key decrypts'
        : 'secrets re-encrypted',
    );
    return report.failed > 0 ? 2 : 0;
  } catch (error) {
    logger.fatal({ err: error }, 're-encryption stopped');
    return 1;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

process.exitCode = await main();
