export type TestingErrorCode =
  /** No Redis could be found or started for the tests. */
  | 'redis_unavailable'
  /** A throwaway redis-server did not come up (or back up). */
  | 'redis_server_failed'
  /** The SMTP sink could not listen or restart. */
  | 'smtp_sink_failed'
  /** A child process ended before what was being waited for happened. */
  | 'process_exited'
  /** No Chromium to drive (none installed at the path), or it did not start. */
  | 'browser_unavailable'
  /** Something awaited did not happen in time. */
  | 'timeout'
  /** A fixture was used in a way it does not support (wrong argument or state). */
  | 'invalid_usage';

/** Every failure of this package: branch on `code`, never on the message. */
export class TestingError extends Error {
  override readonly name = 'TestingError';

  constructor(
    readonly code: TestingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
