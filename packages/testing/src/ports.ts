import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago on `host`: the OS picks it, we release it.
 * Another process can still take it before the caller binds, so callers that own
 * the port choice retry on EADDRINUSE.
 */
export function getFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected listen address ${String(address)}`));
        return;
      }
      server.close((error) => (error ? reject(error) : resolve(address.port)));
    });
  });
}
