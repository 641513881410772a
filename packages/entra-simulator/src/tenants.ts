import type { z } from 'zod';
import {
  type RegisteredCertificateSummary,
  registeredCertificates,
  summarizeCertificate,
} from './app-certificates.js';
import { buildDirectory, type Directory } from './directory.js';
import { SimulatorError } from './errors.js';
import { TenantFaults } from './faults.js';
import {
  type ParsedTenantInput,
  type TenantInput,
  type TenantSettings,
  tenantInputSchema,
} from './schemas.js';

export interface TenantState {
  input: ParsedTenantInput;
  directory: Directory;
  faults: TenantFaults;
  settings: TenantSettings;
  /**
   * Tokens with a lower serial (see entra.ts: the serial rides in `uti`)
   * were issued before the tenant's tokens were last invalidated.
   */
  tokensValidFromSerial: number;
}

/** The tenant's settings as its definition gives them. */
export function initialTenantSettings(input: ParsedTenantInput): TenantSettings {
  return { tokenLifetimeSeconds: input.tokenLifetimeSeconds ?? null };
}

export interface TenantSummary {
  tenantId: string;
  displayName: string;
  domains: string[];
  kind: 'fixture' | 'seeded';
  userCount: number;
  /** Null: the simulator's lifetime applies. */
  tokenLifetimeSeconds: number | null;
  groups: { id: string; displayName: string }[];
  applications: {
    appId: string;
    displayName: string;
    roles: string[];
    /** Certificates registered on the app (public parts). */
    certificates: RegisteredCertificateSummary[];
  }[];
}

export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

/** Tenants by ID and by verified domain, case-insensitively. */
export class TenantRegistry {
  private readonly byId = new Map<string, TenantState>();
  private readonly idByDomain = new Map<string, string>();

  /** Validates `raw` (it may come straight from JSON) and adds the tenant. */
  add(raw: TenantInput): TenantState {
    const parsed = tenantInputSchema.safeParse(raw);
    if (!parsed.success) {
      throw new SimulatorError(
        'invalid_tenant_input',
        'the tenant definition is invalid',
        issuesOf(parsed.error),
      );
    }
    for (const [ai, app] of parsed.data.applications.entries()) {
      try {
        registeredCertificates(app);
      } catch (error) {
        if (!(error instanceof SimulatorError)) throw error;
        throw new SimulatorError('invalid_tenant_input', 'the tenant definition is invalid', [
          { path: `applications.${ai}.certificates`, message: error.message },
        ]);
      }
    }
    const directory = buildDirectory(parsed.data);
    if (this.byId.has(directory.tenantId)) {
      throw new SimulatorError('tenant_exists', `tenant ${directory.tenantId} already exists`);
    }
    for (const d of directory.domains) {
      if (this.idByDomain.has(d)) {
        throw new SimulatorError('domain_taken', `domain ${d} already belongs to another tenant`);
      }
    }
    const state: TenantState = {
      input: parsed.data,
      directory,
      faults: new TenantFaults(),
      settings: initialTenantSettings(parsed.data),
      tokensValidFromSerial: 0,
    };
    this.byId.set(directory.tenantId, state);
    for (const d of directory.domains) this.idByDomain.set(d, directory.tenantId);
    return state;
  }

  /** By tenant ID or any verified domain. */
  resolve(idOrDomain: string): TenantState | undefined {
    const key = idOrDomain.toLowerCase();
    const id = this.idByDomain.get(key) ?? key;
    return this.byId.get(id);
  }

  /** Like resolve, but a missing tenant is an error value. */
  require(idOrDomain: string): TenantState {
    const t = this.resolve(idOrDomain);
    if (!t) throw new SimulatorError('tenant_not_found', `no tenant ${idOrDomain}`);
    return t;
  }

  remove(idOrDomain: string): boolean {
    const t = this.resolve(idOrDomain);
    if (!t) return false;
    this.byId.delete(t.directory.tenantId);
    for (const d of t.directory.domains) this.idByDomain.delete(d);
    return true;
  }

  list(): TenantState[] {
    return [...this.byId.values()];
  }
}

export function summarize(t: TenantState): TenantSummary {
  const d = t.directory;
  return {
    tenantId: d.tenantId,
    displayName: d.displayName,
    domains: d.domains,
    kind: t.input.kind,
    userCount: d.userCount,
    tokenLifetimeSeconds: t.settings.tokenLifetimeSeconds,
    groups: d.groups().map((g) => ({ id: g.id, displayName: g.displayName })),
    applications: d.applications.map((a) => ({
      appId: a.appId,
      displayName: a.displayName,
      roles: t.faults.effectiveRoles(a),
      certificates: registeredCertificates(a).map(summarizeCertificate),
    })),
  };
}
