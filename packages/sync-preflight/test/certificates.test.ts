import { randomUUID } from 'node:crypto';
import { createSelfSignedCertificate, type SelfSignedCertificate } from '@pinnacle/entra-graph';
import type { Simulator } from '@pinnacle/entra-simulator';
import { test } from '@pinnacle/testing/fixtures';
import { describe, expect, it } from 'vitest';
import {
  type CertificateSource,
  checkConnection,
  connectToGraph,
  type PreflightSettings,
  type SyncCertificate,
} from '../src/index.js';

const DAY = 86_400_000;
const tenantId = randomUUID();
const clientId = randomUUID();
const group = randomUUID();
let sim: Simulator;
let uploaded: SelfSignedCertificate;
let notUploaded: SelfSignedCertificate;

test.beforeAll(async ({ simulator }) => {
  sim = simulator;
  uploaded = await createSelfSignedCertificate({
    subject: { commonName: 'old' },
    validityDays: 90,
  });
  notUploaded = await createSelfSignedCertificate({
    subject: { commonName: 'new' },
    validityDays: 90,
  });
  sim.addTenant({
    kind: 'fixture',
    tenantId,
    displayName: 'Preflight certificates',
    domains: ['pfcert.onmicrosoft.com'],
    users: [],
    applications: [
      {
        appId: clientId,
        roles: ['User.Read.All', 'GroupMember.Read.All'],
        certificates: [{ certificatePem: uploaded.certificatePem }],
      },
    ],
    groups: [
      { id: group, displayName: 'Everyone', description: null, members: [], memberGroups: [] },
    ],
  });
});

function cert(
  made: SelfSignedCertificate,
  createdDaysAgo: number,
): SyncCertificate & { key: string } {
  return {
    id: randomUUID(),
    thumbprint: made.thumbprint,
    status: 'pending',
    notAfter: made.notAfter.toISOString(),
    createdAt: new Date(Date.now() - createdDaysAgo * DAY).toISOString(),
    activatedAt: null,
    certificatePem: made.certificatePem,
    key: made.privateKeyPem,
  };
}

function source(
  list: (SyncCertificate & { key: string })[],
  accepted: string[] = [],
): CertificateSource {
  return {
    certificates: list,
    revealPrivateKey: async (id) => list.find((c) => c.id === id)?.key ?? null,
    onAccepted: async (c) => {
      accepted.push(c.id);
    },
  };
}

const settings: PreflightSettings = {
  tenantId,
  clientId,
  groupIds: [group],
  // An expired secret's record is not looked at for an org on certificates.
  secret: { expiresAt: new Date(Date.now() - DAY).toISOString() },
  includeDisabledUsers: false,
  massRemovalGuard: { maxRemovedPercent: 20, minRemovedUsers: 10 },
  authMethod: 'certificate',
};
const input = (certificates: CertificateSource) => ({
  integration: settings,
  clientSecret: null,
  certificates,
  endpoints: { authorityHost: sim.authorityHost, graphBaseUrl: sim.graphBaseUrl },
  now: new Date(),
});

describe('preflight on certificates', () => {
  it('falls back to the older certificate while Entra refuses the newer, and says which it used', async () => {
    const accepted: string[] = [];
    const old = cert(uploaded, 30);
    const fresh = cert(notUploaded, 1);
    const connection = await connectToGraph(input(source([old, fresh], accepted)));
    expect(connection.certificate?.id).toBe(old.id);
    expect(connection.refusedTokenRequests).toBe(1);
    expect(accepted).toEqual([old.id]);
    expect(await checkConnection(input(source([old, fresh])))).toMatchObject({ ok: true });
  });

  it('answers settings_incomplete without a certificate, and certificate_not_registered naming the newest', async () => {
    expect(await checkConnection(input(source([])))).toMatchObject({
      ok: false,
      failure: { code: 'settings_incomplete', details: { missing: ['certificate'] } },
    });
    const alone = cert(notUploaded, 1);
    expect(await checkConnection(input(source([alone])))).toMatchObject({
      ok: false,
      failure: {
        code: 'certificate_not_registered',
        details: { thumbprint: notUploaded.thumbprint, errorCodes: [700027] },
      },
    });
  });
});
