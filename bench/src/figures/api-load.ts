import type { Figure, FigureContext } from '../figure.js';
import { fmt } from '../format.js';
import { intKnob } from '../knobs.js';
import { type ApiProcess, bearerToken, startApi } from '../stack/api.js';
import { loadTest } from '../stack/autocannon.js';
import { measureSync } from '../stack/sync-run.js';
import { benchTenant, FOUR_GROUPS } from '../stack/tenants.js';
import { ratioOf, round } from '../stats.js';
import { startSyncStack, stopSyncStack } from './sync-stack.js';

const CONNECTIONS = intKnob('BENCH_API_CONNECTIONS', 50);
const SECONDS = intKnob('BENCH_API_SECONDS', 10);
const USERS = 1000;
const PAGE = 100;
// A small page beside the full one: what a request costs apart from the
// users it carries (report only).
const SMALL_PAGE = 10;
const GOAL_RATIO = 0.5;
const GOAL_P99_MS = 50;

interface State {
  api: ApiProcess;
  orgId: string;
  token: string;
}

export const apiLoad: Figure<State> = {
  id: '6',
  key: 'api-load',
  title: 'API under load',
  about:
    `requests per second and p99 latency of GET /api/v1/orgs/{org}/sync-overview and of GET .../directory/users?limit=${PAGE} ` +
    `(an org of ${USERS.toLocaleString('en-US')} synced users, its admin's bearer token), from autocannon in a second ` +
    `process (${CONNECTIONS} connections, ${SECONDS} s after a 1 s warm-up), against GET /healthz on the same server ` +
    '(the Express floor: the same request logging and metrics); the api role alone, from its build. ' +
    `A page of ${SMALL_PAGE} users is measured beside it (report only), and the bytes of each answer, ` +
    'to tell what a request costs from what the users it carries cost.',
  async setup(ctx: FigureContext) {
    // A committed snapshot and a run history, made by a real sync.
    const tenant = benchTenant('api', USERS, FOUR_GROUPS);
    const s = await startSyncStack(ctx);
    await s.simulator.addTenant(tenant.input);
    const { orgId } = await measureSync(s, tenant);
    await stopSyncStack(s);
    const api = await startApi(ctx.stack);
    return { api, orgId, token: await bearerToken(ctx.stack, orgId) };
  },
  async run(s) {
    const load = (path: string, auth: boolean) =>
      loadTest({
        url: `${s.api.url}${path}`,
        connections: CONNECTIONS,
        seconds: SECONDS,
        headers: auth ? { authorization: `Bearer ${s.token}` } : {},
      });
    const floor = await load('/healthz', false);
    const overview = await load(`/api/v1/orgs/${s.orgId}/sync-overview`, true);
    const directory = await load(`/api/v1/orgs/${s.orgId}/directory/users?limit=${PAGE}`, true);
    const small = await load(`/api/v1/orgs/${s.orgId}/directory/users?limit=${SMALL_PAGE}`, true);
    const bytesPerResponse = (r: typeof floor) =>
      r.requests.average > 0 ? round(r.throughput.average / r.requests.average) : Number.NaN;
    return {
      healthzRps: round(floor.requests.average),
      healthzP99Ms: floor.latency.p99,
      healthzMeanMs: floor.latency.average,
      overviewRps: round(overview.requests.average),
      overviewP99Ms: overview.latency.p99,
      overviewMeanMs: overview.latency.average,
      overviewRatio: ratioOf(overview.requests.average, floor.requests.average),
      directoryRps: round(directory.requests.average),
      directoryP99Ms: directory.latency.p99,
      directoryMeanMs: directory.latency.average,
      directoryRatio: ratioOf(directory.requests.average, floor.requests.average),
      directoryBytes: bytesPerResponse(directory),
      smallPageRps: round(small.requests.average),
      smallPageP99Ms: small.latency.p99,
      smallPageRatio: ratioOf(small.requests.average, floor.requests.average),
      smallPageBytes: bytesPerResponse(small),
      overviewBytes: bytesPerResponse(overview),
      healthzBytes: bytesPerResponse(floor),
    };
  },
  teardown: (s) => s.api.role.stop(),
  rows: (m) => {
    const row = (
      name: string,
      rps: number,
      p99: number,
      ratio: number,
      bytes: number,
      judged = true,
    ) => ({
      measure: `${name}, ${CONNECTIONS} connections (p99 ${fmt.ms(p99)}; ${fmt.bytes(bytes)} a response)`,
      value: fmt.perSecond(rps),
      baseline: `${fmt.perSecond(m.healthzRps ?? Number.NaN)} (healthz, p99 ${fmt.ms(m.healthzP99Ms ?? Number.NaN)})`,
      ratio,
      goal: judged ? `≥ ${GOAL_RATIO}x, p99 < ${GOAL_P99_MS} ms` : 'report',
      met: judged ? ratio >= GOAL_RATIO && p99 < GOAL_P99_MS : null,
    });
    return [
      row(
        'GET sync-overview',
        m.overviewRps ?? Number.NaN,
        m.overviewP99Ms ?? Number.NaN,
        m.overviewRatio ?? Number.NaN,
        m.overviewBytes ?? Number.NaN,
      ),
      row(
        `GET directory/users?limit=${PAGE}`,
        m.directoryRps ?? Number.NaN,
        m.directoryP99Ms ?? Number.NaN,
        m.directoryRatio ?? Number.NaN,
        m.directoryBytes ?? Number.NaN,
      ),
      row(
        `GET directory/users?limit=${SMALL_PAGE}`,
        m.smallPageRps ?? Number.NaN,
        m.smallPageP99Ms ?? Number.NaN,
        m.smallPageRatio ?? Number.NaN,
        m.smallPageBytes ?? Number.NaN,
        false,
      ),
    ];
  },
};
