import type { ValidationIssue } from '@pinnacle/domain';
import { formatIssuePath, toValidationIssues } from '@pinnacle/domain';
import { secretScrubber } from '@pinnacle/logging';
import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import { type AuthClaims, assertOrgAccess, authOf } from './auth.js';
import { validationFailed } from './errors.js';
import { requestContext } from './request-context.js';

export type HttpMethod = 'get' | 'put' | 'post' | 'delete';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** A response that is not JSON (e.g. `application/pkix-cert`): described as binary. */
  contentType?: string;
}

/** A reply sent as is rather than as JSON: a file to download. */
export interface RawReply {
  contentType: string;
  data: Buffer;
  /** Offered as an attachment under this name. */
  fileName?: string;
}

export interface Reply {
  status: number;
  body: unknown;
  raw?: RawReply;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  auth: AuthClaims;
  /**
   * Scrubs a clear-text secret from every log line until the response is
   * done, so an error logged after the handler still cannot carry it.
   */
  holdSecret(secret: string): void;
}

export interface BodySpec<B extends z.ZodType> {
  schema: B;
  /** When false, a request without a body is read as `{}`. */
  required: boolean;
}

/** A route as written: its schemas type the handler's input. */
export interface RouteDefinition<
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodType = z.ZodUndefined,
> {
  method: HttpMethod;
  /** Under `/api/v1`, OpenAPI style: `/orgs/{orgId}/syncs`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  params: P;
  query: Q;
  body?: BodySpec<B>;
  /** The success responses; the error responses are added for every route. */
  responses: Record<number, ResponseSpec>;
  handle(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<Reply>;
}

/** A route with its types erased: what the router mounts and OpenAPI describes. */
export interface ApiRoute {
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  params: z.ZodType;
  query: z.ZodType;
  body?: BodySpec<z.ZodType>;
  responses: Record<number, ResponseSpec>;
  handle(req: Request, res: Response): Promise<Reply>;
}

function collect<S extends z.ZodType>(
  schema: S,
  value: unknown,
  issues: ValidationIssue[],
): z.output<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  issues.push(...toValidationIssues(result.error));
  return undefined;
}

/**
 * `?limit=1&limit=2` arrives as an array; say so plainly instead of letting
 * the field's schema answer a vague "invalid input".
 */
function singleValued(query: Request['query'], issues: ValidationIssue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) {
      issues.push({ path: formatIssuePath([key]), message: 'must be given once' });
      continue;
    }
    out[key] = value;
  }
  return out;
}

/**
 * Every /api/v1 route goes through here: the org check comes first (a
 * token for another org learns nothing, not even what is malformed), then
 * path, query and body are validated together so one 400 names every bad
 * field, and only then does the handler, which may write, run.
 */
export function defineRoute<
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodType = z.ZodUndefined,
>(def: RouteDefinition<P, Q, B>): ApiRoute {
  return {
    method: def.method,
    path: def.path,
    operationId: def.operationId,
    summary: def.summary,
    tag: def.tag,
    params: def.params,
    query: def.query,
    ...(def.body ? { body: def.body } : {}),
    responses: def.responses,
    async handle(req, res) {
      const auth = authOf(req);
      assertOrgAccess(auth, req.params.orgId);
      const issues: ValidationIssue[] = [];
      const params = collect(def.params, { ...req.params }, issues);
      const query = collect(def.query, singleValued(req.query, issues), issues);
      let body: z.output<B> | undefined;
      if (def.body) {
        const raw: unknown = req.body === undefined && !def.body.required ? {} : req.body;
        body = collect(def.body.schema, raw, issues);
      }
      // A repeated required parameter is named once ("must be given once"), not again as missing.
      if (issues.length > 0) {
        throw validationFailed(
          issues.filter((i, n) => issues.findIndex((j) => j.path === i.path) === n),
        );
      }
      const context = requestContext(req);
      const orgId = (params as { orgId?: unknown }).orgId;
      if (typeof orgId === 'string') context.orgId = orgId;
      const runId = (params as { runId?: unknown }).runId;
      if (typeof runId === 'string') context.runId = runId;
      // Released together when the response is done: one listener however
      // many secrets (a private key is held as each of its PEM lines).
      const held: (() => void)[] = [];
      const result = await def.handle({
        params: params as z.output<P>,
        query: query as z.output<Q>,
        body: body as z.output<B>,
        auth,
        holdSecret(secret) {
          if (held.length === 0) {
            res.once('close', () => {
              for (const release of held) release();
            });
          }
          held.push(secretScrubber.track(secret));
        },
      });
      const createdRunId = (result.body as { runId?: unknown } | undefined)?.runId;
      if (typeof createdRunId === 'string') context.runId = createdRunId;
      return result;
    },
  };
}

/** `/orgs/{orgId}` → `/orgs/:orgId` (Express 5 path syntax). */
export function toExpressPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}

export function mountRoutes(router: Router, basePath: string, routes: readonly ApiRoute[]): void {
  for (const route of routes) {
    router[route.method](toExpressPath(route.path), async (req: Request, res: Response) => {
      requestContext(req).route = `${basePath}${route.path}`;
      const reply = await route.handle(req, res);
      if (reply.raw) {
        res.status(reply.status).type(reply.raw.contentType);
        if (reply.raw.fileName) res.attachment(reply.raw.fileName);
        res.send(reply.raw.data);
        return;
      }
      // A 204 (or any reply without a body) says nothing more.
      if (reply.body === undefined) res.status(reply.status).end();
      else res.status(reply.status).json(reply.body);
    });
  }
}
