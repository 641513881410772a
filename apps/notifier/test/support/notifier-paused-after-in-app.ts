/**
 * Test-only entry: the real notifier process (`src/main.ts`), except that an
 * alert's email is never handed to the email queue: the job stops for good
 * right after its in-app notification is stored. A crash test kills the
 * process there, then checks that a restarted notifier delivers each
 * channel exactly once. Production code carries no hook for this.
 */
import type { QueueKey, QueuePayload } from '@pinnacle/queue-contracts';
import { TypedQueue } from '@pinnacle/queue-runtime';
import type { Job } from 'bullmq';

const add = TypedQueue.prototype.add;
TypedQueue.prototype.add = function (
  this: TypedQueue<QueueKey>,
  payload: QueuePayload<QueueKey>,
): Promise<Job> {
  if (this.key !== 'email') return add.call(this, payload);
  // A log line the test waits for, in the service's own JSON shape.
  process.stdout.write(
    `${JSON.stringify({ level: 'warn', time: Date.now(), name: 'notifier', msg: 'test hook: paused after in-app' })}\n`,
  );
  return new Promise<Job>(() => {});
};

await import('../../src/main.js');
