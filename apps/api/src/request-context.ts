import type { Request } from 'express';

/** What the request log may say about a request beyond method and status. */
export interface RequestContext {
  /** The route pattern, e.g. `/api/v1/orgs/{orgId}/syncs`; never the raw URL. */
  route?: string;
  /** Set only once validated, so hostile text never reaches the log. */
  orgId?: string;
  /** The run a request reads, or the run Sync Now recorded (its job ID derives from it). */
  runId?: string;
}

const contexts = new WeakMap<Request, RequestContext>();

export function requestContext(req: Request): RequestContext {
  let context = contexts.get(req);
  if (!context) {
    context = {};
    contexts.set(req, context);
  }
  return context;
}
