/**
 * A Redis in a container, for machines with a Docker engine but no Redis.
 * testcontainers is imported only when needed: it is heavy, and most runs never
 * get this far.
 */
export interface RedisContainer {
  url: string;
  stop(): Promise<void>;
}

/** Resolves undefined, quietly, when no container engine answers within `probeTimeoutMs`. */
export async function startRedisContainer(
  probeTimeoutMs = 5000,
): Promise<RedisContainer | undefined> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), probeTimeoutMs);
    timer.unref();
  });
  // Where no engine runs, testcontainers tries its socket strategies and rejects within
  // about a second; the timeout guards against a socket whose daemon hangs.
  const runtime = await Promise.race([
    getContainerRuntimeClient().catch(() => undefined),
    timedOut,
  ]);
  clearTimeout(timer);
  if (runtime === undefined) return undefined;

  const container = await new GenericContainer('redis:7')
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    stop: async () => {
      await container.stop();
    },
  };
}
