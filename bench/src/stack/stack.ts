import { randomBytes } from 'node:crypto';
import { envSchema } from '@pinnacle/config';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { createStores, type Stores } from '@pinnacle/redis-store';
import { LIMITS_OUT_OF_THE_WAY } from './limits.js';
import { BenchRedis } from './redis.js';
import { SimulatorProcess } from './simulator.js';

/**
 * What the figures share: the simulator process (for the whole bench: each
 * figure adds tenants of its own) and a private Redis (a fresh one per
 * figure), with the environment the roles start with.
 */
export class Stack {
  readonly prefix = 'bench';
  readonly secretKey = randomBytes(32).toString('base64');
  readonly apiAuthSecret = randomBytes(32).toString('base64url');
  private sim: Promise<SimulatorProcess> | undefined;
  private redisServer: Promise<BenchRedis> | undefined;
  private storesOf = new WeakMap<BenchRedis, Stores>();

  simulator(): Promise<SimulatorProcess> {
    this.sim ??= SimulatorProcess.start();
    return this.sim;
  }

  redis(): Promise<BenchRedis> {
    this.redisServer ??= BenchRedis.start();
    return this.redisServer;
  }

  /** The repositories over the current Redis, as the roles see them. */
  async stores(): Promise<Stores> {
    const redis = await this.redis();
    let stores = this.storesOf.get(redis);
    if (!stores) {
      stores = createStores(redis.connect(), this.prefix, this.secretKey);
      this.storesOf.set(redis, stores);
    }
    return stores;
  }

  async syncQueue(): Promise<TypedQueue<'sync'>> {
    const redis = await this.redis();
    return new TypedQueue('sync', {
      connection: redis.connect(),
      prefix: this.prefix,
      env: envSchema.parse({}),
    });
  }

  /** The environment every role starts with here, plus `extra`. */
  async roleEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const [sim, redis] = await Promise.all([this.simulator(), this.redis()]);
    return {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      REDIS_URL: redis.url,
      QUEUE_PREFIX: this.prefix,
      SECRET_ENCRYPTION_KEY: this.secretKey,
      API_AUTH_SECRET: this.apiAuthSecret,
      OPS_USER: 'bench',
      OPS_PASSWORD: 'bench-ops-password',
      ENTRA_AUTHORITY_HOST: sim.url,
      GRAPH_BASE_URL: sim.url,
      NODE_EXTRA_CA_CERTS: sim.caPath,
      WORKER_HEALTH_PORT: '0',
      NOTIFIER_HEALTH_PORT: '0',
      ...LIMITS_OUT_OF_THE_WAY,
      ...extra,
    };
  }

  /** Stops the current Redis: the next figure gets a fresh one. */
  async releaseRedis(): Promise<void> {
    const redis = this.redisServer;
    this.redisServer = undefined;
    if (redis) await (await redis).stop();
  }

  async close(): Promise<void> {
    await this.releaseRedis();
    const sim = this.sim;
    this.sim = undefined;
    if (sim) await (await sim).stop();
  }
}
