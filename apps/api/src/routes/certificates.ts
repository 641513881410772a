import { randomUUID } from 'node:crypto';
import {
  certificateCreateInputSchema,
  certificateFileName,
  certificateSubject,
  certificateViewSchema,
  MAX_UNRETIRED_CERTIFICATES,
} from '@pinnacle/domain';
import { certificateDerOf, createSelfSignedCertificate } from '@pinnacle/entra-graph';
import { pemSecretParts } from '@pinnacle/logging';
import { recordAudit } from '../audit.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { type ApiRoute, defineRoute } from '../route.js';
import {
  certificateListSchema,
  certificateParamsSchema,
  emptyBodySchema,
  errorResponseSchema,
  noQuerySchema,
  orgParamsSchema,
} from '../schemas.js';
import { certificateView } from '../views.js';

const tag = 'integration';
/** What Entra's upload takes: the certificate, DER (a `.cer` file). */
export const CERTIFICATE_CONTENT_TYPE = 'application/pkix-cert';

const conflict = (message: string) => new ApiError(409, 'conflict', undefined, message);

/**
 * The org's certificates: made here (a key pair per certificate; the private
 * key is sealed at once and never leaves the service), listed, downloaded as
 * the `.cer` an app registration takes, and retired.
 */
export function certificateRoutes(deps: ApiDeps): ApiRoute[] {
  const { integrations, certificates } = deps.stores;
  const requireIntegration = async (orgId: string) => {
    if (!(await integrations.get(orgId))) throw notFound();
  };
  return [
    defineRoute({
      method: 'post',
      path: '/orgs/{orgId}/integration/certificates',
      operationId: 'createCertificate',
      summary:
        'Makes an RSA 2048 key pair and a self-signed certificate (validityDays 30-730, default 365); the private key never leaves the service',
      tag,
      params: orgParamsSchema,
      query: noQuerySchema,
      body: { schema: certificateCreateInputSchema, required: false },
      responses: {
        201: {
          description: 'The new certificate (pending until Entra accepts it)',
          schema: certificateViewSchema,
        },
        409: {
          description: `The org holds ${MAX_UNRETIRED_CERTIFICATES} certificates that are not retired`,
          schema: errorResponseSchema,
        },
      },
      async handle({ params, body, auth, holdSecret }) {
        const { orgId } = params;
        await requireIntegration(orgId);
        const now = deps.clock();
        const made = await createSelfSignedCertificate({
          subject: certificateSubject(orgId),
          validityDays: body.validityDays,
          now,
        });
        // Whatever is logged until the response is done cannot carry the key.
        for (const part of pemSecretParts(made.privateKeyPem)) holdSecret(part);
        const id = randomUUID();
        const result = await certificates.create(orgId, { id, ...made }, now);
        if (result.outcome === 'limit_reached') {
          throw conflict(
            `An organisation holds at most ${result.limit} certificates that are not retired: retire one first.`,
          );
        }
        const { certificate } = result;
        deps.logger.info(
          {
            orgId,
            certificateId: id,
            thumbprint: certificate.thumbprint,
            notAfter: certificate.notAfter,
          },
          'certificate created',
        );
        recordAudit(deps.logger, auth, {
          action: 'certificate.created',
          orgId,
          fields: ['certificates'],
          target: { certificateId: id, thumbprint: certificate.thumbprint },
        });
        return { status: 201, body: certificateView(certificate) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/orgs/{orgId}/integration/certificates',
      operationId: 'listCertificates',
      summary:
        "The org's certificates, newest first, with their status: pending, active or retired",
      tag,
      params: orgParamsSchema,
      query: noQuerySchema,
      responses: {
        200: { description: 'Every certificate of the org', schema: certificateListSchema },
      },
      async handle({ params }) {
        await requireIntegration(params.orgId);
        const list = await certificates.list(params.orgId);
        return { status: 200, body: { items: list.map(certificateView), nextCursor: null } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/orgs/{orgId}/integration/certificates/{id}/certificate.cer',
      operationId: 'downloadCertificate',
      summary:
        'The certificate, DER, to upload to the app registration (Certificates & secrets → Certificates)',
      tag,
      params: certificateParamsSchema,
      query: noQuerySchema,
      responses: {
        200: { description: 'The certificate (DER)', contentType: CERTIFICATE_CONTENT_TYPE },
      },
      async handle({ params }) {
        const certificate = await certificates.get(params.orgId, params.id);
        if (!certificate) throw notFound();
        return {
          status: 200,
          body: null,
          raw: {
            contentType: CERTIFICATE_CONTENT_TYPE,
            data: certificateDerOf(certificate.certificatePem),
            fileName: certificateFileName(params.orgId, certificate.thumbprint),
          },
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/orgs/{orgId}/integration/certificates/{id}',
      operationId: 'retireCertificate',
      summary:
        'Retires a certificate and deletes its private key (409 for the last usable one while authMethod is certificate)',
      tag,
      params: certificateParamsSchema,
      query: noQuerySchema,
      body: { schema: emptyBodySchema, required: false },
      responses: {
        200: { description: 'The certificate, retired', schema: certificateViewSchema },
        409: {
          description: 'The last usable certificate of an org that authenticates with certificates',
          schema: errorResponseSchema,
        },
      },
      async handle({ params, auth }) {
        const { orgId, id } = params;
        const result = await certificates.retire(orgId, id, deps.clock());
        if (result.outcome === 'not_found') throw notFound();
        if (result.outcome === 'last_usable') {
          throw conflict(
            'This is the last usable certificate and the integration authenticates with certificates: create and upload a new one first, or switch the authentication method to the client secret.',
          );
        }
        if (result.outcome === 'retired') {
          deps.logger.info({ orgId, certificateId: id }, 'certificate retired');
          recordAudit(deps.logger, auth, {
            action: 'certificate.retired',
            orgId,
            fields: ['certificates'],
            target: { certificateId: id, thumbprint: result.certificate.thumbprint },
          });
        }
        return { status: 200, body: certificateView(result.certificate) };
      },
    }),
  ];
}
