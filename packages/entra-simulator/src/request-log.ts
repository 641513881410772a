/**
 * `graph-batch`: a `POST /v1.0/$batch` itself; the requests inside it are
 * logged on their own (`graph` or `graph-write`), with the batch's `seq`.
 */
export type RequestKind = 'token' | 'discovery' | 'graph' | 'graph-batch' | 'graph-write' | 'other';

export interface RequestLogEntry {
  /** Position in the log, from 1; keeps rising after entries drop out. */
  seq: number;
  /** ISO time the request arrived. */
  time: string;
  method: string;
  /** Path and query string as received. */
  path: string;
  status: number;
  kind: RequestKind;
  /** Tenant ID when known (resolved from the path or the token). */
  tenantId: string | null;
  appId: string | null;
  /** Injected fault, if any: throttle, unavailable, serverError, reset, graphError, entraUnavailable, tokenError. */
  fault: string | null;
  /** AADSTS code of a token error. */
  aadsts: number | null;
  /** Graph error code of a Graph error. */
  graphError: string | null;
  /** For a request inside a JSON batch: the `seq` of the `$batch` request that carried it. */
  batchSeq: number | null;
}

export type NewLogEntry = Omit<RequestLogEntry, 'seq' | 'time'> & { time: Date };

/** Totals since start; they never drop, whatever the log's capacity or clears. */
export interface SimulatorCounters {
  requests: number;
  tokenRequests: number;
  tokensIssued: number;
  tokenErrors: number;
  /** HTTP requests to Graph (a `$batch` counts once). */
  graphRequests: number;
  /** Requests carried inside `$batch` requests. */
  batchedRequests: number;
  graphWriteAttempts: number;
  graphErrors: number;
  throttled: number;
  unavailable: number;
  serverErrors: number;
  connectionResets: number;
}

export interface LogQuery {
  tenantId?: string;
  kind?: RequestKind;
  /** Only entries with a seq greater than this. */
  afterSeq?: number;
  /** At most this many, the most recent. */
  limit?: number;
}

const FAULT_COUNTER: Record<string, keyof SimulatorCounters> = {
  throttle: 'throttled',
  unavailable: 'unavailable',
  entraUnavailable: 'unavailable',
  serverError: 'serverErrors',
  reset: 'connectionResets',
};

/** A fixed-size ring of the latest requests plus counters that never drop. */
export class RequestLog {
  private readonly ring: (RequestLogEntry | undefined)[];
  private next = 0;
  private seq = 0;
  private readonly totals: SimulatorCounters = {
    requests: 0,
    tokenRequests: 0,
    tokensIssued: 0,
    tokenErrors: 0,
    graphRequests: 0,
    batchedRequests: 0,
    graphWriteAttempts: 0,
    graphErrors: 0,
    throttled: 0,
    unavailable: 0,
    serverErrors: 0,
    connectionResets: 0,
  };

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be >= 1');
    this.ring = new Array(capacity);
  }

  record(e: NewLogEntry): RequestLogEntry {
    this.seq++;
    const entry: RequestLogEntry = { ...e, seq: this.seq, time: e.time.toISOString() };
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    const t = this.totals;
    // HTTP requests: one batch is one, however many it carries.
    if (e.batchSeq === null) t.requests++;
    if (e.kind === 'token') {
      t.tokenRequests++;
      if (e.status === 200) t.tokensIssued++;
      else t.tokenErrors++;
    }
    if (e.kind === 'graph' || e.kind === 'graph-write' || e.kind === 'graph-batch') {
      if (e.batchSeq === null) t.graphRequests++;
      else t.batchedRequests++;
      if (e.kind === 'graph-write') t.graphWriteAttempts++;
      if (e.status >= 400) t.graphErrors++;
    }
    const counter = e.fault ? FAULT_COUNTER[e.fault] : undefined;
    if (counter) t[counter]++;
    return entry;
  }

  /** Retained entries, oldest first. */
  entries(query: LogQuery = {}): RequestLogEntry[] {
    const out: RequestLogEntry[] = [];
    for (let k = 0; k < this.capacity; k++) {
      const e = this.ring[(this.next + k) % this.capacity];
      if (!e) continue;
      if (query.tenantId && e.tenantId !== query.tenantId.toLowerCase()) continue;
      if (query.kind && e.kind !== query.kind) continue;
      if (query.afterSeq !== undefined && e.seq <= query.afterSeq) continue;
      out.push(e);
    }
    return query.limit !== undefined ? out.slice(Math.max(0, out.length - query.limit)) : out;
  }

  /** Empties the log; counters and seq keep counting. */
  clear(): void {
    this.ring.fill(undefined);
    this.next = 0;
  }

  counters(): SimulatorCounters {
    return { ...this.totals };
  }

  lastSeq(): number {
    return this.seq;
  }
}
