import { z } from 'zod';
import type { ApiRoute, ResponseSpec } from './route.js';
import {
  errorResponseSchema,
  fleetListSchema,
  fleetQuerySchema,
  healthzResponseSchema,
  rateLimitedResponseSchema,
  readyzResponseSchema,
  validationErrorResponseSchema,
} from './schemas.js';

type JsonSchema = Record<string, unknown>;

interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  security: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<
    string,
    {
      description: string;
      headers?: Record<string, { description: string; schema: JsonSchema }>;
      content?: Record<string, { schema: JsonSchema }>;
    }
  >;
}

interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: JsonSchema;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  components: { securitySchemes: Record<string, Record<string, string>> };
  paths: Record<string, Record<string, Operation>>;
}

export const API_BASE_PATH = '/api/v1';

/**
 * JSON Schema (2020-12, which OpenAPI 3.1 uses) of a zod schema. Requests
 * are described by what they accept (io: input: defaults optional, before
 * transforms), responses by what they carry (io: output). Refinements and
 * transforms have no JSON Schema form; their messages still come from zod.
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    reused: 'inline',
  }) as JsonSchema;
  return rest;
}

function parametersOf(schema: z.ZodType, location: 'path' | 'query'): Parameter[] {
  const object = jsonSchema(schema, 'input');
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    schema: property,
  }));
}

function jsonContent(schema: z.ZodType, io: 'input' | 'output') {
  return { 'application/json': { schema: jsonSchema(schema, io) } };
}

function response(spec: ResponseSpec) {
  if (spec.contentType) {
    return {
      description: spec.description,
      content: { [spec.contentType]: { schema: { type: 'string', format: 'binary' } } },
    };
  }
  return spec.schema
    ? { description: spec.description, content: jsonContent(spec.schema, 'output') }
    : { description: spec.description };
}

const errorResponse = (description: string) =>
  response({ description, schema: errorResponseSchema });

function operationOf(route: ApiRoute): Operation {
  const responses: Operation['responses'] = {};
  for (const [status, spec] of Object.entries(route.responses)) responses[status] = response(spec);
  responses['400'] = response({
    description: 'A path parameter, query parameter or body field is invalid (`issues` names each)',
    schema: validationErrorResponseSchema,
  });
  responses['401'] = errorResponse(
    'No, malformed, expired or wrongly signed bearer token; or one whose issuer, audience or lifetime this service refuses (`message` says which)',
  );
  responses['403'] = errorResponse('The token is for another org');
  responses['404'] = errorResponse('Not found');
  if (route.body) {
    responses['413'] = errorResponse('Body larger than 64 kB');
    responses['415'] = errorResponse('Body is not application/json');
  }
  // Every route counts against the token's request rate; a route may say more (Sync Now's budget).
  responses['429'] = {
    ...response(
      route.responses[429] ?? {
        description:
          'The token\'s request rate limit (API_RATE_LIMIT_PER_MINUTE per `sub` and `org`; API_RATE_LIMIT_ANY_ORG_PER_MINUTE for `org: "*"`) is spent; `Retry-After` and `retryAfterSeconds` say when to try again',
        schema: rateLimitedResponseSchema,
      },
    ),
    headers: {
      'Retry-After': {
        description: 'Seconds until the limit lets the request through',
        schema: { type: 'integer', minimum: 1 },
      },
    },
  };
  responses['500'] = errorResponse('Internal error (details are in the service log only)');
  responses['503'] = errorResponse('Redis is unavailable; retry later');
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    security: [{ bearerAuth: [] }],
    parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
    ...(route.body
      ? {
          requestBody: {
            required: route.body.required,
            content: jsonContent(route.body.schema, 'input'),
          },
        }
      : {}),
    responses,
  };
}

function probe(
  operationId: string,
  summary: string,
  schema: z.ZodType,
  unavailable: boolean,
): Operation {
  return {
    operationId,
    summary,
    tags: ['operations'],
    security: [],
    responses: {
      '200': response({ description: 'OK', schema }),
      ...(unavailable ? { '503': response({ description: 'Not ready', schema }) } : {}),
    },
  };
}

/** The OpenAPI 3.1 document of the API, generated from the routes' own schemas. */
export function buildOpenApiDocument(routes: readonly ApiRoute[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const path = `${API_BASE_PATH}${route.path}`;
    paths[path] ??= {};
    paths[path][route.method] = operationOf(route);
  }
  paths['/healthz'] = {
    get: probe('healthz', 'Liveness: 200 while the process runs', healthzResponseSchema, false),
  };
  paths['/readyz'] = {
    get: probe(
      'readyz',
      'Readiness: 200 when Redis answers and not shutting down',
      readyzResponseSchema,
      true,
    ),
  };
  paths['/ops/orgs'] = {
    get: {
      operationId: 'listFleetOrgs',
      summary:
        'The fleet: every org with its status, open failure code and since when, last success, staleness and secret days left, paged by org ID and filtered by status or code, with counts over the whole fleet (ops credentials)',
      tags: ['operations'],
      security: [{ opsBasicAuth: [] }],
      parameters: parametersOf(fleetQuerySchema, 'query'),
      responses: {
        '200': response({ description: 'A page of orgs and the counts', schema: fleetListSchema }),
        '400': response({
          description: 'A query parameter is invalid (`issues` names each)',
          schema: validationErrorResponseSchema,
        }),
        '401': errorResponse('No or wrong ops credentials (`WWW-Authenticate: Basic`)'),
        '429': errorResponse('Too many failed ops logins from this address; see `Retry-After`'),
        '503': errorResponse('Redis is unavailable; retry later'),
      },
    },
  };
  paths['/openapi.json'] = {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      tags: ['operations'],
      security: [],
      responses: {
        '200': {
          description: 'OpenAPI 3.1 document',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Pinnacle Series Entra ID sync API',
      version: '1.0.0',
      description:
        'Connects an org to its Microsoft Entra ID tenant, runs and reports syncs, and serves the synced directory. Every /api/v1 route needs a portal-issued HS256 bearer JWT (claims sub, org, role "admin", exp).',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        // OPS_USER / OPS_PASSWORD: /metrics, /admin/queues and /ops/orgs.
        opsBasicAuth: { type: 'http', scheme: 'basic' },
      },
    },
    paths,
  };
}
