import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { TestingError } from './errors.js';
import { type RedisServer, startRedisServer } from './redis-server.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export interface RedisClusterOptions {
  /** Primaries (each with a share of the 16384 slots). Default 3, at least 3. */
  primaries?: number;
  /** Replicas per primary: 1 for failover tests. Default 0. */
  replicasPerPrimary?: 0 | 1;
  /**
   * How long a node may be silent before it is failed over (ms). Default 2000:
   * short, so a test that kills a primary waits seconds, not the default 15.
   */
  nodeTimeoutMs?: number;
  /** How long to wait for `cluster_state:ok` everywhere. Default 30000. */
  readyTimeoutMs?: number;
}

export interface RedisClusterNode {
  readonly host: string;
  readonly port: number;
  /** `host:port`, as REDIS_CLUSTER_NODES takes it. */
  readonly address: string;
}

export interface RedisCluster {
  /** Every node, primaries and replicas (which is which changes with failovers). */
  readonly nodes: readonly RedisClusterNode[];
  /** The nodes as comma-separated `host:port`: a REDIS_CLUSTER_NODES value. */
  readonly seeds: string;
  /** The nodes that are primaries now, with slots. */
  primaries(): Promise<RedisClusterNode[]>;
  /** Promotes `primary`'s replica with a coordinated CLUSTER FAILOVER; resolves once it took over. */
  failover(primary: RedisClusterNode): Promise<RedisClusterNode>;
  /**
   * Graceful restart of one node on its port and dir (it rejoins with its
   * nodes.conf); resolves once it is back in sync. Nodes keep no data on
   * disk: restart replicas (a failed-over primary is one), as a restarted
   * primary would come back empty.
   */
  restartNode(node: RedisClusterNode): Promise<void>;
  /** SIGKILL, as a crash would. `restartNode` brings it back. */
  killNode(node: RedisClusterNode): Promise<void>;
  /** Resolves once every running node reports `cluster_state:ok`. */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their dirs. Final. */
  stop(): Promise<void>;
}

const host = '127.0.0.1';

/**
 * A local Redis Cluster for tests: `redis-server --cluster-enabled yes` on
 * free ports, each in its own temp dir, joined by `redis-cli --cluster
 * create`. Needs redis-cli (Debian: redis-tools, which redis-server pulls in).
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const primaryCount = options.primaries ?? 3;
  const replicas = options.replicasPerPrimary ?? 0;
  if (primaryCount < 3) {
    throw new TestingError(
      'invalid_usage',
      'redis-cli --cluster create needs at least 3 primaries',
    );
  }
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  await assertRedisCli();

  const servers: RedisServer[] = [];
  const stopAll = () => Promise.all(servers.map((s) => s.stop()));
  try {
    const started = await Promise.all(
      Array.from({ length: primaryCount * (1 + replicas) }, () =>
        startRedisServer({
          appendonly: false,
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(nodeTimeoutMs),
            // A replica may take over however long its primary was gone: tests kill primaries.
            '--cluster-replica-validity-factor',
            '0',
          ],
        }),
      ),
    );
    servers.push(...started);
  } catch (error) {
    await stopAll();
    throw error;
  }

  const nodes = servers.map((s) => nodeOf(s.port));
  const serverOf = (node: RedisClusterNode): RedisServer => {
    const server = servers.find((s) => s.port === node.port);
    if (server === undefined) {
      throw new TestingError('invalid_usage', `${node.address} is not a node of this cluster`);
    }
    return server;
  };
  const down = new Set<number>();

  const waitUntilOk = async (timeoutMs = readyTimeoutMs): Promise<void> => {
    await waitFor(
      async () => {
        const running = nodes.filter((n) => !down.has(n.port));
        const infos = await Promise.all(running.map((n) => command(n, ['CLUSTER', 'INFO'])));
        const ok = infos.every(
          (info) =>
            typeof info === 'string' &&
            /cluster_state:ok/.test(info) &&
            /cluster_slots_ok:16384/.test(info) &&
            /cluster_slots_pfail:0/.test(info),
        );
        if (!ok) return false;
        // Gossip settled: every node names the same primaries.
        const views = await Promise.all(running.map((n) => command(n, ['CLUSTER', 'NODES'])));
        const primarySets = views.map((v) =>
          typeof v === 'string' ? servingPrimaries(parseClusterNodes(v)).join(',') : '',
        );
        // ...and none of them is a node this fixture took down (its failover is done).
        const servedByDown = [...down].some((port) =>
          (primarySets[0] ?? '').split(',').includes(String(port)),
        );
        return !servedByDown && primarySets.every((set) => set !== '' && set === primarySets[0]);
      },
      { timeoutMs, intervalMs: 100, description: 'cluster_state:ok on every node' },
    );
  };

  // A replica counts once it has synced from its primary (a restarted one resyncs in full).
  const waitForReplicas = async (): Promise<void> => {
    await waitFor(
      async () => {
        const running = nodes.filter((n) => !down.has(n.port));
        const views = await Promise.all(running.map((n) => command(n, ['INFO', 'replication'])));
        return views.every(
          (v) =>
            typeof v === 'string' &&
            (/role:master/.test(v) ||
              (/master_link_status:up/.test(v) && /master_sync_in_progress:0/.test(v))),
        );
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 100, description: 'replicas in sync' },
    );
  };

  try {
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => n.address),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    await waitUntilOk();
    if (replicas > 0) await waitForReplicas();
  } catch (error) {
    await stopAll();
    throw error instanceof TestingError
      ? error
      : new TestingError(
          'redis_server_failed',
          `redis-cli --cluster create failed: ${message(error)}`,
          {
            cause: error,
          },
        );
  }

  const clusterNodes = async (): Promise<ClusterNodeLine[]> => {
    for (const node of nodes) {
      if (down.has(node.port)) continue;
      const reply = await command(node, ['CLUSTER', 'NODES']);
      if (typeof reply === 'string') return parseClusterNodes(reply);
    }
    throw new TestingError('redis_server_failed', 'no node of the cluster answers CLUSTER NODES');
  };

  return {
    nodes,
    seeds: nodes.map((n) => n.address).join(','),
    async primaries() {
      return servingPrimaries(await clusterNodes()).map(nodeOf);
    },
    async failover(primary) {
      const lines = await clusterNodes();
      const own = lines.find((l) => l.port === primary.port);
      const replica = lines.find(
        (l) => own !== undefined && l.primaryId === own.id && !l.flags.includes('fail'),
      );
      if (own === undefined || replica === undefined) {
        throw new TestingError(
          'invalid_usage',
          `${primary.address} has no live replica to fail over to`,
        );
      }
      const promoted = nodeOf(replica.port);
      await command(promoted, ['CLUSTER', 'FAILOVER']);
      await waitFor(
        async () => {
          const role = await command(promoted, ['ROLE']);
          return Array.isArray(role) && role[0] === 'master';
        },
        {
          timeoutMs: readyTimeoutMs,
          intervalMs: 50,
          description: `${promoted.address} to take over`,
        },
      );
      await waitUntilOk();
      return promoted;
    },
    async restartNode(node) {
      await serverOf(node).restart();
      down.delete(node.port);
      await waitUntilOk();
      await waitForReplicas();
    },
    async killNode(node) {
      down.add(node.port);
      await serverOf(node).kill();
    },
    waitUntilOk,
    async stop() {
      await stopAll();
    },
  };
}

function nodeOf(port: number): RedisClusterNode {
  return { host, port, address: `${host}:${port}` };
}

/** One command on a short-lived plain connection; undefined when the node does not answer. */
async function command(node: RedisClusterNode, args: [string, ...string[]]): Promise<unknown> {
  const client = new Redis({
    host: node.host,
    port: node.port,
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(...args);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

interface ClusterNodeLine {
  id: string;
  port: number;
  flags: string[];
  primaryId: string | undefined;
  slots: boolean;
}

/** Ports of the primaries that serve slots and are not marked failed, ascending. */
function servingPrimaries(lines: ClusterNodeLine[]): number[] {
  return lines
    .filter((l) => l.flags.includes('master') && !l.flags.includes('fail') && l.slots)
    .map((l) => l.port)
    .sort((a, b) => a - b);
}

function parseClusterNodes(reply: string): ClusterNodeLine[] {
  return reply
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', primary = '-', , , , , ...slots] = line.split(' ');
      return {
        id,
        port: Number(address.split('@')[0]?.split(':')[1]),
        flags: flags.split(','),
        primaryId: primary === '-' ? undefined : primary,
        slots: slots.length > 0,
      };
    });
}
async function assertRedisCli(): Promise<void> {
  try {
    await run('redis-cli', ['--version']);
  } catch (error) {
    throw new TestingError(
      'redis_server_failed',
      'redis-cli is needed to create a Redis Cluster (Debian: apt-get install redis-tools)',
      { cause: error },
    );
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
