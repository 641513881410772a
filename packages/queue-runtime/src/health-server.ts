import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@pinnacle/logging';
import type { RedisClient } from './connections.js';

export type HealthReadiness = 'ready' | 'unavailable' | 'shutting_down';

export interface HealthServerOptions {
  /** Port to listen on; 0 picks a free one (callers treat a configured 0 as "disabled"). */
  port: number;
  /** Interface to listen on. Default: all. */
  host?: string;
  /** `/readyz` is ready while every one of these answers PING. */
  redis: readonly RedisClient[];
  /** Bound of one readiness check. Default 2000 ms. */
  pingTimeoutMs?: number;
  logger?: Logger;
}

export interface HealthServer {
  server: Server;
  /** The port listened on (the one picked for port 0). */
  port: number;
  /** From now on `/readyz` answers 503 `shutting_down`; `/healthz` still answers. */
  shuttingDown(): void;
  readiness(): Promise<HealthReadiness>;
  close(): Promise<void>;
}

const DEFAULT_PING_TIMEOUT_MS = 2_000;

async function pingAll(connections: readonly RedisClient[], timeoutMs: number): Promise<boolean> {
  // A connection that is not `ready` would queue the PING (worker connections
  // keep an offline queue); it is down as far as readiness goes.
  if (connections.some((c) => c.status !== 'ready')) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      Promise.all(connections.map((c) => c.ping())).then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/**
 * The probes of a process without an HTTP API of its own (worker, notifier),
 * on a port of its own: `/healthz` answers while the process runs (liveness),
 * `/readyz` while Redis answers PING and shutdown has not begun (503 otherwise).
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const timeoutMs = options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  let stopping = false;

  const readiness = async (): Promise<HealthReadiness> => {
    if (stopping) return 'shutting_down';
    return (await pingAll(options.redis, timeoutMs)) ? 'ready' : 'unavailable';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      reply(res, 405, { error: 'method_not_allowed' });
      return;
    }
    if (path === '/healthz') {
      reply(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      const status = await readiness();
      reply(res, status === 'ready' ? 200 : 503, { status });
      return;
    }
    reply(res, 404, { error: 'not_found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.logger?.warn({ err: error }, 'health server request failed');
      if (!res.headersSent) reply(res, 500, { error: 'internal_error' });
      else res.destroy();
    });
  });
  // Probes are short; do not let a stuck client hold the port at shutdown.
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  options.logger?.info({ port }, 'health server listening');

  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    shuttingDown() {
      stopping = true;
    },
    readiness,
    close() {
      stopping = true;
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
