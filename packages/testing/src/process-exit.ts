/**
 * Synchronous last-chance cleanup (kill children, remove temp dirs) when the test
 * process exits without having stopped its fixtures. The registry lives on
 * globalThis so test files that re-evaluate this module in one process share a
 * single 'exit' listener.
 */
const registryKey = Symbol.for('@pinnacle/testing/process-exit');

type Registry = Set<() => void>;

function registry(): Registry {
  const holder = globalThis as { [registryKey]?: Registry };
  let handlers = holder[registryKey];
  if (handlers === undefined) {
    const created: Registry = new Set();
    holder[registryKey] = created;
    process.once('exit', () => {
      for (const handler of created) {
        try {
          handler();
        } catch {
          // Exiting anyway: one failed cleanup must not stop the others.
        }
      }
    });
    handlers = created;
  }
  return handlers;
}

/** Runs `handler` at process exit unless the returned function is called first. */
export function onProcessExit(handler: () => void): () => void {
  const handlers = registry();
  handlers.add(handler);
  return () => {
    handlers.delete(handler);
  };
}
