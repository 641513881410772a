import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { getFreePort, TestingError, waitFor } from '../src/index.js';

describe('getFreePort', () => {
  it('returns a port that can be listened on', async () => {
    const port = await getFreePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('waitFor', () => {
  it('polls until the predicate is truthy and returns its value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 5 });
    expect(value).toEqual({ calls: 3 });
  });

  it('treats a throwing predicate as not yet', async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        if (++calls < 3) throw new Error('not yet');
        return 'done';
      },
      { intervalMs: 5 },
    );
    expect(value).toBe('done');
  });

  it('times out with a timeout error naming the condition and keeping the last error', async () => {
    const error = await waitFor(
      () => {
        throw new Error('still broken');
      },
      { timeoutMs: 100, intervalMs: 10, description: 'the queue to drain' },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestingError);
    expect((error as TestingError).code).toBe('timeout');
    expect((error as TestingError).message).toContain('the queue to drain');
    expect(((error as TestingError).cause as Error).message).toBe('still broken');
  });
});
