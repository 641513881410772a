import { Redis } from 'ioredis';

/**
 * Runs `fn` on a short-lived client that gives up after `timeoutMs` and never
 * retries. Resolves undefined on any failure: a refused or silent port is "no".
 */
async function withQuickClient<T>(
  url: string,
  timeoutMs: number,
  fn: (client: Redis) => Promise<T>,
): Promise<T | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  });
  // Without a listener ioredis reports connection errors on stderr; here they are the answer.
  client.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  const attempt = (async () => {
    await client.connect();
    return await fn(client);
  })().catch(() => undefined);
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** True when the Redis at `url` answers PING within `timeoutMs`. Never throws, never logs. */
export async function pingRedis(url: string, timeoutMs = 500): Promise<boolean> {
  const reply = await withQuickClient(url, timeoutMs, (client) => client.ping());
  return reply === 'PONG';
}

/** The pid the Redis at `url` reports (INFO server), or undefined when it does not answer. */
export async function redisProcessId(url: string, timeoutMs = 500): Promise<number | undefined> {
  const info = await withQuickClient(url, timeoutMs, (client) => client.info('server'));
  const match = info?.match(/^process_id:(\d+)/m);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
