import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import {
  addAppCertificate,
  registeredCertificates,
  removeAppCertificate,
  summarizeCertificate,
} from './app-certificates.js';
import { batchResponse, parseBatch } from './batch.js';
import { createTlsMaterial } from './certs.js';
import { AssertionReplayCache } from './client-assertion.js';
import { handleControl } from './control.js';
import {
  entraErrorBody,
  handleDiscoveryRequest,
  handleTokenRequest,
  instanceDiscovery,
  issueAccessToken,
  jwks,
} from './entra.js';
import { SimulatorError } from './errors.js';
import {
  authenticateGraph,
  type GraphAuthResult,
  type GraphCaller,
  type GraphDeps,
  type GraphRequest,
  isWriteMethod,
  serveGraph,
} from './graph.js';
import { type GraphResponse, graphErrors, type RequestIds } from './graph-errors.js';
import { newGuid } from './ids.js';
import { createSigningKey, type SigningKey } from './jwt.js';
import { type NewLogEntry, type RequestKind, RequestLog } from './request-log.js';
import {
  type Application,
  applicationCertificateSchema,
  faultSpecSchema,
  type SimulatorSettings,
  simulatorSettingsPatchSchema,
  simulatorSettingsSchema,
  tenantSettingsPatchSchema,
} from './schemas.js';
import type { Simulator, SimulatorOptions } from './simulator.js';
import {
  initialTenantSettings,
  issuesOf,
  summarize,
  TenantRegistry,
  type TenantState,
} from './tenants.js';

const MAX_BODY_BYTES = 1_000_000;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Path segment decoded, or as sent when its %-escapes are malformed. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    ...headers,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function graphHeaders(ids: RequestIds): Record<string, string> {
  return {
    'request-id': ids.requestId,
    'client-request-id': ids.clientRequestId,
    'x-ms-ags-diagnostic': JSON.stringify({
      ServerInfo: {
        DataCenter: 'Simulator',
        Slice: 'E',
        Ring: '1',
        ScaleUnit: '000',
        RoleInstance: 'SIM',
      },
    }),
    'cache-control': 'no-cache',
    'strict-transport-security': 'max-age=31536000',
  };
}

/** `/v1.0/$batch`, its `$` sent as is or %-encoded. */
function isBatchPath(pathname: string): boolean {
  return /^\/v1\.0\/(\$|%24)batch$/i.test(pathname);
}

function graphErrorCode(r: GraphResponse): string | null {
  const b = r.body as { error?: { code?: unknown } } | undefined;
  return r.status >= 400 && typeof b?.error?.code === 'string' ? b.error.code : null;
}

/** Validates settings (they may come straight from JSON); SimulatorError when invalid. */
function parseSettings<T>(schema: z.ZodType<T>, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new SimulatorError(
      'invalid_settings',
      'the settings are invalid',
      issuesOf(parsed.error),
    );
  }
  return parsed.data;
}

/**
 * Starts the Entra ID + Microsoft Graph simulator on HTTPS with a CA and
 * signing key made for this run.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  const tls = createTlsMaterial(
    host === '127.0.0.1' || host === '::1' || host === 'localhost'
      ? {}
      : { extraHostnames: [host] },
  );
  const signingKey: SigningKey = createSigningKey();
  const registry = new TenantRegistry();
  const log = new RequestLog(options.requestLogSize ?? 10_000);
  const startSettings = parseSettings(simulatorSettingsSchema, {
    clockSkewSeconds: options.clockSkewSeconds ?? 300,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3599,
    unknownTenantFailsAt: options.unknownTenantFailsAt ?? 'metadata_discovery',
    entraClockOffsetSeconds: options.entraClockOffsetSeconds ?? 0,
    clientAssertionReplay: options.clientAssertionReplay ?? 'accept',
  });
  const assertionReplays = new AssertionReplayCache();
  const appOf = (t: string, appId: string): Application => {
    const tenant = registry.require(t);
    const app = tenant.directory.applications.find(
      (a) => a.appId.toLowerCase() === appId.toLowerCase(),
    );
    if (!app) throw new SimulatorError('app_not_found', `no application ${appId} in ${t}`);
    return app;
  };
  let settings: SimulatorSettings = { ...startSettings };
  // Serials start at 1: a tenant that was never invalidated accepts serial 0 upward.
  let lastSerial = 0;
  const nextSerial = () => ++lastSerial;
  for (const t of options.tenants ?? []) registry.add(t);

  let origin = '';
  const graphDeps = (): GraphDeps => ({
    registry,
    signingKey,
    origin,
    clockSkewSeconds: settings.clockSkewSeconds,
  });
  const invalidate = (tenant: TenantState) => {
    tenant.tokensValidFromSerial = lastSerial + 1;
  };
  const record = (
    e: Omit<NewLogEntry, 'fault' | 'aadsts' | 'graphError' | 'batchSeq'> & Partial<NewLogEntry>,
  ) => log.record({ fault: null, aadsts: null, graphError: null, batchSeq: null, ...e });

  async function handleGraph(req: IncomingMessage, res: ServerResponse, url: URL, now: Date) {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = req.url ?? '/';
    const ids: RequestIds = {
      requestId: newGuid(),
      clientRequestId: header(req, 'client-request-id') ?? '',
    };
    if (!ids.clientRequestId) ids.clientRequestId = ids.requestId;
    const auth = authenticateGraph(header(req, 'authorization'), graphDeps(), ids, now);
    const send = (r: GraphResponse, extra: Partial<NewLogEntry>, kind: RequestKind = 'graph') => {
      if (typeof r.body === 'string') {
        // Not JSON: a gateway's page (the graphError fault without a code).
        res.writeHead(r.status, {
          ...graphHeaders(ids),
          ...r.headers,
          'content-length': Buffer.byteLength(r.body),
        });
        res.end(r.body);
      } else {
        sendJson(res, r.status, r.body, { ...graphHeaders(ids), ...r.headers });
      }
      record({
        time: now,
        method,
        path,
        status: r.status,
        kind,
        tenantId: auth.ok ? auth.caller.tenant.directory.tenantId : auth.tenantId,
        appId: auth.ok ? auth.caller.appId : auth.appId,
        graphError: graphErrorCode(r),
        ...extra,
      });
    };
    if (method === 'POST' && isBatchPath(url.pathname)) {
      return handleBatch(req, res, auth, ids, now, send);
    }
    // The service must never write: every write is refused and counted,
    // whoever sends it.
    if (isWriteMethod(method))
      return send(graphErrors.methodNotAllowed(ids, now), {}, 'graph-write');
    if (method !== 'GET' && method !== 'HEAD')
      return send(graphErrors.methodNotAllowed(ids, now), {});
    if (!auth.ok) return send(auth.response, {});

    const served = await serveRead(
      auth.caller,
      { method, pathname: url.pathname, search: url.searchParams, headers: req.headers },
      ids,
      now,
    );
    if (served.reset !== null) {
      // Headers promise the whole body; the socket dies part-way through it.
      const bytes = Buffer.from(JSON.stringify(served.response.body));
      const cut = Math.min(
        served.reset.afterBytes ?? Math.floor(bytes.length / 2),
        bytes.length - 1,
      );
      res.writeHead(served.response.status, {
        'content-type': 'application/json; charset=utf-8',
        ...graphHeaders(ids),
        ...served.response.headers,
        'content-length': bytes.length,
      });
      res.write(bytes.subarray(0, Math.max(cut, 0)), () => res.socket?.destroy());
      record({
        time: now,
        method,
        path,
        status: served.response.status,
        kind: 'graph',
        tenantId: auth.caller.tenant.directory.tenantId,
        appId: auth.caller.appId,
        fault: 'reset',
      });
      return;
    }
    return send(served.response, { fault: served.fault });
  }

  /**
   * One authenticated Graph read, alone or inside a batch: counted against
   * the tenant's faults, delayed by its latency, then answered (or the
   * fault's answer). `reset` when the connection is to drop mid-body.
   */
  async function serveRead(
    caller: GraphCaller,
    request: GraphRequest,
    ids: RequestIds,
    now: Date,
  ): Promise<{
    response: GraphResponse;
    fault: string | null;
    reset: { afterBytes: number | undefined } | null;
  }> {
    const tenant = caller.tenant;
    const { fault, latencyMs } = tenant.faults.onGraphRequest();
    // This request was authenticated already; the tenant's next ones are not.
    if (tenant.faults.takeTokenInvalidation()) invalidate(tenant);
    if (latencyMs > 0) await sleep(latencyMs);
    const answer = (response: GraphResponse) => ({
      response,
      fault: fault?.kind ?? null,
      reset: null,
    });
    if (fault?.kind === 'throttle') {
      return answer(graphErrors.throttled(caller.appId, fault.retryAfterSeconds, ids, now));
    }
    if (fault?.kind === 'unavailable') {
      return answer(graphErrors.unavailable(fault.retryAfterSeconds, ids, now));
    }
    if (fault?.kind === 'serverError') return answer(graphErrors.serverError(ids, now));
    if (fault?.kind === 'graphError') return answer(graphErrors.injected(fault, ids, now));
    const response = serveGraph(request, caller, graphDeps(), ids, now);
    if (fault?.kind === 'reset') {
      return { response, fault: 'reset', reset: { afterBytes: fault.afterBytes } };
    }
    return { response, fault: null, reset: null };
  }

  /**
   * `POST /v1.0/$batch`: each request inside served as if sent alone (faults
   * and latency per request, all at once, so the batch takes as long as its
   * slowest), logged with the batch's `seq`. A write inside is refused (405)
   * and counted as a write attempt, like one sent alone.
   */
  async function handleBatch(
    req: IncomingMessage,
    res: ServerResponse,
    auth: GraphAuthResult,
    ids: RequestIds,
    now: Date,
    send: (r: GraphResponse, extra: Partial<NewLogEntry>, kind?: RequestKind) => void,
  ) {
    const text = await readBody(req);
    if (!auth.ok) return send(auth.response, {}, 'graph-batch');
    const parsed = parseBatch(text, origin, ids, now);
    if (!parsed.ok) return send(parsed.response, {}, 'graph-batch');
    const { caller } = auth;
    const outer = record({
      time: now,
      method: 'POST',
      path: req.url ?? '/',
      status: 200,
      kind: 'graph-batch',
      tenantId: caller.tenant.directory.tenantId,
      appId: caller.appId,
    });
    let reset = false;
    const responses: ReturnType<typeof batchResponse>[] = [];
    await Promise.all(
      parsed.requests.map(async (inner) => {
        const innerIds: RequestIds = { requestId: newGuid(), clientRequestId: ids.clientRequestId };
        const write = isWriteMethod(inner.method);
        const served =
          write || (inner.method !== 'GET' && inner.method !== 'HEAD')
            ? { response: graphErrors.methodNotAllowed(innerIds, now), fault: null, reset: null }
            : await serveRead(caller, inner, innerIds, now);
        if (served.reset !== null) reset = true;
        // Graph's responses come back in whatever order they finish.
        responses.push(batchResponse(inner.id, served.response));
        record({
          time: now,
          method: inner.method,
          path: inner.path,
          status: served.response.status,
          kind: write ? 'graph-write' : 'graph',
          tenantId: caller.tenant.directory.tenantId,
          appId: caller.appId,
          graphError: graphErrorCode(served.response),
          fault: served.fault,
          batchSeq: outer.seq,
        });
      }),
    );
    const body = Buffer.from(JSON.stringify({ responses }));
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      ...graphHeaders(ids),
      'content-length': body.length,
    });
    if (reset) {
      // A request inside drew a dropped connection: the batch's answer is cut off.
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  }

  /** The tenant's `entraLatencyMs` fault, for the Entra request it just counted. */
  async function entraLatency(tenantId: string | null): Promise<void> {
    const ms = tenantId ? (registry.resolve(tenantId)?.faults.entraLatencyMs() ?? 0) : 0;
    if (ms > 0) await sleep(ms);
  }

  async function handleEntra(req: IncomingMessage, res: ServerResponse, url: URL, now: Date) {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = req.url ?? '/';
    const traceId = newGuid();
    const correlationId = header(req, 'client-request-id') ?? newGuid();
    const entraHeaders = {
      'cache-control': 'no-store, no-cache',
      'x-ms-request-id': traceId,
      'client-request-id': correlationId,
    };
    /** Answers the request and logs it: every Entra answer below goes through here. */
    const answer = (
      status: number,
      body: unknown,
      headers: Record<string, string>,
      entry: Pick<NewLogEntry, 'kind' | 'tenantId' | 'appId'> &
        Partial<Pick<NewLogEntry, 'aadsts' | 'fault'>>,
    ) => {
      sendJson(res, status, body, headers);
      record({ time: now, method, path, status, ...entry });
    };
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (token) {
      const tenantSegment = decodeSegment(token[1]!);
      if (method !== 'POST') {
        const e = {
          status: 400,
          error: 'invalid_request',
          code: 900561,
          message: `The endpoint only accepts POST requests. Received a ${method} request.`,
        };
        return answer(
          400,
          entraErrorBody(e, { now, origin, correlationId, traceId }),
          entraHeaders,
          { kind: 'token', tenantId: null, appId: null, aadsts: e.code },
        );
      }
      const body = await readBody(req);
      const outcome = handleTokenRequest(
        { tenantSegment, form: new URLSearchParams(body), correlationId, now },
        {
          registry,
          signingKey,
          origin,
          tokenLifetimeSeconds: settings.tokenLifetimeSeconds,
          nextSerial,
          assertionReplays,
          clientAssertionReplay: settings.clientAssertionReplay,
          entraClockOffsetSeconds: settings.entraClockOffsetSeconds,
        },
      );
      await entraLatency(outcome.tenantId);
      return answer(
        outcome.status,
        outcome.body,
        { ...entraHeaders, ...outcome.headers },
        {
          kind: 'token',
          tenantId: outcome.tenantId,
          appId: outcome.appId,
          aadsts: outcome.aadstsCode,
          fault: outcome.fault,
        },
      );
    }
    const discovery = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
    if (method === 'GET' && discovery) {
      const outcome = handleDiscoveryRequest(
        { tenantSegment: decodeSegment(discovery[1]!), correlationId, now },
        { registry, origin, unknownTenantFailsAt: settings.unknownTenantFailsAt },
      );
      await entraLatency(outcome.tenantId);
      return answer(
        outcome.status,
        outcome.body,
        { ...entraHeaders, ...outcome.headers },
        {
          kind: 'discovery',
          tenantId: outcome.tenantId,
          appId: null,
          aadsts: outcome.aadstsCode,
          fault: outcome.fault,
        },
      );
    }
    const keys = /^\/([^/]+)\/discovery\/v2\.0\/keys$/.exec(url.pathname);
    let body: unknown;
    if (method === 'GET' && keys) body = jwks(signingKey);
    else if (method === 'GET' && url.pathname.toLowerCase() === '/common/discovery/instance') {
      body = instanceDiscovery(origin, url.searchParams.get('authorization_endpoint'));
    }
    if (body !== undefined) {
      return answer(200, body, entraHeaders, { kind: 'discovery', tenantId: null, appId: null });
    }
    answer(
      404,
      { error: 'not_found', message: `The simulator serves nothing at ${method} ${url.pathname}.` },
      {},
      { kind: 'other', tenantId: null, appId: null },
    );
  }

  const sim: Simulator = {
    url: '',
    authorityHost: '',
    graphBaseUrl: '',
    port: 0,
    caCertPem: tls.caCertPem,
    caPath: undefined,
    addTenant: (input) => summarize(registry.add(input)),
    removeTenant: (t) => registry.remove(t),
    tenants: () => registry.list().map(summarize),
    setFaults(t, faults) {
      const tenant = registry.require(t);
      const parsed = faultSpecSchema.safeParse(faults);
      if (!parsed.success) {
        throw new SimulatorError(
          'invalid_fault_spec',
          'the fault specification is invalid',
          issuesOf(parsed.error),
        );
      }
      tenant.faults.set(parsed.data, new Date());
      if (tenant.faults.takeTokenInvalidation()) invalidate(tenant);
      return {
        faults: tenant.faults.current(),
        requestsSinceSet: tenant.faults.requestsSinceSet(),
      };
    },
    clearFaults(t) {
      const targets = t === undefined ? registry.list() : [registry.require(t)];
      for (const x of targets) x.faults.clear();
    },
    faults(t) {
      const tenant = registry.require(t);
      return {
        faults: tenant.faults.current(),
        requestsSinceSet: tenant.faults.requestsSinceSet(),
      };
    },
    requests: (query) => log.entries(query),
    clearRequests: () => log.clear(),
    counters: () => log.counters(),
    writeAttempts: () => log.counters().graphWriteAttempts,
    reset() {
      for (const x of registry.list()) {
        x.faults.clear();
        x.settings = initialTenantSettings(x.input);
      }
      settings = { ...startSettings };
      log.clear();
    },
    settings: () => ({ ...settings }),
    updateSettings(patch) {
      settings = { ...settings, ...parseSettings(simulatorSettingsPatchSchema, patch) };
      return { ...settings };
    },
    tenantSettings: (t) => ({ ...registry.require(t).settings }),
    updateTenantSettings(t, patch) {
      const tenant = registry.require(t);
      tenant.settings = { ...tenant.settings, ...parseSettings(tenantSettingsPatchSchema, patch) };
      return { ...tenant.settings };
    },
    invalidateTokens(t) {
      invalidate(registry.require(t));
    },
    addCertificate(t, appId, certificate) {
      const app = appOf(t, appId);
      const parsed = applicationCertificateSchema.safeParse(certificate);
      if (!parsed.success) {
        throw new SimulatorError(
          'invalid_certificate',
          'the certificate is invalid',
          issuesOf(parsed.error),
        );
      }
      return addAppCertificate(app, parsed.data);
    },
    removeCertificate: (t, appId, id) => removeAppCertificate(appOf(t, appId), id),
    certificates: (t, appId) => registeredCertificates(appOf(t, appId)).map(summarizeCertificate),
    mintAccessToken(o) {
      const tenant = registry.require(o.tenant);
      const app = tenant.directory.applications.find(
        (a) => a.appId.toLowerCase() === o.appId.toLowerCase(),
      );
      if (!app)
        throw new SimulatorError('app_not_found', `no application ${o.appId} in ${o.tenant}`);
      return issueAccessToken(
        tenant,
        app,
        o.roles ?? tenant.faults.effectiveRoles(app),
        signingKey,
        {
          lifetimeSeconds:
            o.expiresInSeconds ??
            tenant.settings.tokenLifetimeSeconds ??
            settings.tokenLifetimeSeconds,
          now: new Date(),
          serial: nextSerial(),
        },
      ).token;
    },
    close: async () => {},
  };

  const server: Server = createServer(
    { key: tls.serverKeyPem, cert: tls.serverCertPem },
    (req, res) => {
      const now = new Date();
      let url: URL;
      try {
        url = new URL(req.url ?? '/', origin);
      } catch {
        sendJson(res, 400, { error: 'bad_request' });
        return;
      }
      const p = url.pathname;
      let work: Promise<void>;
      if (p === '/_sim' || p.startsWith('/_sim/')) {
        work = handleControl(req, res, url, sim, readBody, sendJson);
      } else if (p === '/v1.0' || p.startsWith('/v1.0/') || p.startsWith('/beta/')) {
        work = handleGraph(req, res, url, now);
      } else {
        work = handleEntra(req, res, url, now);
      }
      work.catch((err: unknown) => {
        if (!res.headersSent) {
          sendJson(res, 500, { error: 'simulator_failure', message: String(err) });
        } else {
          res.destroy();
        }
      });
    },
  );

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  origin = `https://${hostPart}:${port}`;
  sim.url = origin;
  sim.authorityHost = origin;
  sim.graphBaseUrl = origin;
  sim.port = port;
  if (options.caPath) {
    const caPath = resolve(options.caPath);
    mkdirSync(dirname(caPath), { recursive: true });
    writeFileSync(caPath, tls.caCertPem);
    sim.caPath = caPath;
  }
  sim.close = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
  return sim;
}
