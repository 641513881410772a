import type { IncomingMessage, ServerResponse } from 'node:http';
import { SimulatorError } from './errors.js';
import type { RequestKind } from './request-log.js';
import type {
  FaultSpecInput,
  SimulatorSettingsPatch,
  TenantInput,
  TenantSettingsPatch,
} from './schemas.js';
import type { Simulator } from './simulator.js';

type ReadBody = (req: IncomingMessage) => Promise<string>;
type SendJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
) => void;

const STATUS: Record<SimulatorError['code'], number> = {
  invalid_tenant_input: 400,
  invalid_fault_spec: 400,
  invalid_settings: 400,
  tenant_exists: 409,
  domain_taken: 409,
  tenant_not_found: 404,
  app_not_found: 404,
  invalid_certificate: 400,
  certificate_exists: 409,
  certificate_not_found: 404,
};

const KINDS = new Set<RequestKind>([
  'token',
  'discovery',
  'graph',
  'graph-batch',
  'graph-write',
  'other',
]);

function intParam(v: string | null): number | undefined {
  return v !== null && /^\d+$/.test(v) ? Number(v) : undefined;
}

/**
 * The simulator's own control API under /_sim (JSON, no auth: it only ever
 * listens on this machine). Lets tests and other processes switch faults,
 * manage tenants and read the request log over HTTP.
 */
export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  sim: Simulator,
  readBody: ReadBody,
  sendJson: SendJson,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const parts = url.pathname
    .split('/')
    .filter(Boolean)
    .slice(1)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const json = async (): Promise<unknown> => {
    const text = await readBody(req);
    return text.trim() === '' ? {} : JSON.parse(text);
  };
  try {
    const [a, b, c, d, e, f] = parts;
    if (a === 'health' && method === 'GET')
      return sendJson(res, 200, { status: 'ok', url: sim.url });
    if (a === 'tenants' && b === undefined) {
      if (method === 'GET') return sendJson(res, 200, { tenants: sim.tenants() });
      // Bodies are validated by the simulator (zod); errors come back as 400 with issues.
      if (method === 'POST')
        return sendJson(res, 201, sim.addTenant((await json()) as TenantInput));
    }
    if (a === 'tenants' && b !== undefined && c === undefined && method === 'DELETE') {
      return sim.removeTenant(b)
        ? sendJson(res, 204, undefined)
        : sendJson(res, 404, { error: 'tenant_not_found', message: `no tenant ${b}` });
    }
    if (a === 'settings' && b === undefined) {
      if (method === 'GET') return sendJson(res, 200, sim.settings());
      if (method === 'PATCH')
        return sendJson(res, 200, sim.updateSettings((await json()) as SimulatorSettingsPatch));
    }
    if (a === 'tenants' && b !== undefined && c === 'settings') {
      if (method === 'GET') return sendJson(res, 200, sim.tenantSettings(b));
      if (method === 'PATCH') {
        return sendJson(
          res,
          200,
          sim.updateTenantSettings(b, (await json()) as TenantSettingsPatch),
        );
      }
    }
    // An app's certificates: /tenants/{t}/applications/{appId}/certificates[/{keyIdOrThumbprint}]
    if (a === 'tenants' && b !== undefined && c === 'applications' && d && e === 'certificates') {
      if (f === undefined && method === 'GET') {
        return sendJson(res, 200, { certificates: sim.certificates(b, d) });
      }
      if (f === undefined && method === 'POST') {
        return sendJson(
          res,
          201,
          sim.addCertificate(b, d, (await json()) as Parameters<Simulator['addCertificate']>[2]),
        );
      }
      if (f !== undefined && parts.length === 6 && method === 'DELETE') {
        return sim.removeCertificate(b, d, f)
          ? sendJson(res, 204, undefined)
          : sendJson(res, 404, {
              error: 'certificate_not_found',
              message: `application ${d} has no certificate ${f}`,
            });
      }
    }
    if (a === 'tenants' && b !== undefined && c === 'invalidate-tokens' && method === 'POST') {
      sim.invalidateTokens(b);
      return sendJson(res, 204, undefined);
    }
    if (a === 'tenants' && b !== undefined && c === 'faults') {
      if (method === 'GET') return sendJson(res, 200, sim.faults(b));
      if (method === 'PUT')
        return sendJson(res, 200, sim.setFaults(b, (await json()) as FaultSpecInput));
      if (method === 'DELETE') {
        sim.clearFaults(b);
        return sendJson(res, 204, undefined);
      }
    }
    if (a === 'requests' && b === undefined) {
      if (method === 'GET') {
        const q = url.searchParams;
        const kind = q.get('kind');
        return sendJson(res, 200, {
          entries: sim.requests({
            ...(q.get('tenant') ? { tenantId: q.get('tenant')! } : {}),
            ...(kind && KINDS.has(kind as RequestKind) ? { kind: kind as RequestKind } : {}),
            ...(intParam(q.get('afterSeq')) !== undefined
              ? { afterSeq: intParam(q.get('afterSeq'))! }
              : {}),
            ...(intParam(q.get('limit')) !== undefined ? { limit: intParam(q.get('limit'))! } : {}),
          }),
        });
      }
      if (method === 'DELETE') {
        sim.clearRequests();
        return sendJson(res, 204, undefined);
      }
    }
    if (a === 'counters' && method === 'GET') return sendJson(res, 200, sim.counters());
    if (a === 'reset' && method === 'POST') {
      sim.reset();
      return sendJson(res, 204, undefined);
    }
    if (a === 'memory' && method === 'GET') {
      return sendJson(res, 200, {
        ...process.memoryUsage(),
        gcAvailable: typeof globalThis.gc === 'function',
      });
    }
    if (a === 'gc' && method === 'POST') {
      // Only when the process runs with --expose-gc (the benchmark does).
      const ran = typeof globalThis.gc === 'function';
      if (ran) globalThis.gc?.();
      return sendJson(res, 200, { ran, ...process.memoryUsage() });
    }
    return sendJson(res, 404, {
      error: 'not_found',
      message: `no control route ${method} ${url.pathname}`,
    });
  } catch (err) {
    if (err instanceof SimulatorError) {
      return sendJson(res, STATUS[err.code], {
        error: err.code,
        message: err.message,
        issues: err.issues,
      });
    }
    if (err instanceof SyntaxError) {
      return sendJson(res, 400, { error: 'invalid_json', message: err.message });
    }
    throw err;
  }
}
