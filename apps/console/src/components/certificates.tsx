import { type FormEvent, useId, useState } from 'react';
import { unwrap } from '../api/client.js';
import { ApiError, describeFailure, failureOf } from '../api/errors.js';
import type {
  AuthMethod,
  Certificate,
  IntegrationSettings,
  OverviewCertificate,
  SyncOverview,
} from '../api/types.js';
import { useSession } from '../auth/session.js';
import {
  AUTH_METHOD_LABELS,
  CERTIFICATE_STATUS,
  DEFAULT_VALIDITY_DAYS,
  daysUntil,
  fileNameOf,
  groupedThumbprint,
  isLastUsable,
  switchMethodInput,
  VALIDITY_CHOICES,
} from '../lib/certificates.js';
import { dateOnly, secretExpiryText, secretExpiryTone } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { orgPath } from '../lib/routes.js';
import { failureFromError, useAction } from '../lib/use-action.js';
import { useResource } from '../lib/use-resource.js';
import { ErrorView, LoadingView } from './states.js';
import { Alert, Badge, Button, Card, Facts } from './ui.js';
import '../styles/certificates.css';

/** Where certificates are managed: Settings → Certificates. */
export const certificatesPath = (orgId: string) => `${orgPath(orgId, 'settings')}#certificates`;

/**
 * Downloads a certificate's `.cer` (DER, as the Entra admin center's upload
 * takes it) through the API with the held token, and hands it to the
 * browser as a file.
 */
function useDownload(orgId: string) {
  const { api } = useSession();
  return async (certificate: Pick<Certificate, 'id' | 'thumbprint'>) => {
    let result: Awaited<ReturnType<typeof api.GET>> | undefined;
    try {
      result = await api.GET('/api/v1/orgs/{orgId}/integration/certificates/{id}/certificate.cer', {
        params: { path: { orgId, id: certificate.id } },
        parseAs: 'blob',
      });
    } catch {
      throw new ApiError({ kind: 'network' });
    }
    const { response } = result;
    const data: unknown = result.data;
    if (!response.ok || !(data instanceof Blob)) {
      throw new ApiError(failureOf(response.status, result.error, null));
    }
    const url = URL.createObjectURL(data);
    const link = document.createElement('a');
    link.href = url;
    link.download = fileNameOf(
      response.headers.get('Content-Disposition'),
      orgId,
      certificate.thumbprint,
    );
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
}

function Thumbprint({ value, label = 'Thumbprint' }: { value: string; label?: string }) {
  return (
    <code className="thumbprint" title={`${label}: ${value}`} data-thumbprint={value}>
      {groupedThumbprint(value)}
    </code>
  );
}

function UploadSteps({ clientId }: { clientId: string | null }) {
  return (
    <ol className="certificate-steps">
      <li>Download the certificate (.cer).</li>
      <li>
        In the Microsoft Entra admin center, open Entra ID → App registrations → the app
        {clientId ? (
          <>
            {' '}
            with client ID <code>{clientId}</code>
          </>
        ) : null}{' '}
        → Certificates &amp; secrets → Certificates → Upload certificate, and upload the file.
      </li>
      <li>
        Run a sync: it switches to the new certificate as soon as Entra ID accepts it; until then
        the current credential keeps working.
      </li>
    </ol>
  );
}

/** One click: a new certificate, and what to do with it. For expiry notifications and the overview. */
export function CreateCertificateAction({
  orgId,
  label = 'Create a new certificate',
  onCreated,
}: {
  orgId: string;
  label?: string;
  onCreated?: (certificate: Certificate) => void;
}) {
  const { api } = useSession();
  const download = useDownload(orgId);
  const { busy, failure, setFailure, run } = useAction();
  const [created, setCreated] = useState<Certificate | null>(null);
  const create = () =>
    run(async () => {
      const certificate = await unwrap(
        api.POST('/api/v1/orgs/{orgId}/integration/certificates', {
          params: { path: { orgId } },
          body: {},
        }),
      );
      setCreated(certificate);
      onCreated?.(certificate);
    });
  if (created) {
    return (
      <Alert tone="success" live="status" title="New certificate created">
        <p>
          Thumbprint <Thumbprint value={created.thumbprint} />, valid until{' '}
          {dateOnly(created.notAfter)}. Upload it to the app registration to put it in use.
        </p>
        <div className="button-row">
          <Button
            variant="primary"
            onClick={() => void download(created).catch((e) => setFailure(failureFromError(e)))}
          >
            Download .cer
          </Button>
          <Link to={certificatesPath(orgId)}>Open the certificates in Settings</Link>
        </div>
        {failure ? <p className="field__errors">{describeFailure(failure)}</p> : null}
      </Alert>
    );
  }
  return (
    <div className="stack stack--tight">
      <div className="button-row">
        <Button variant="primary" busy={busy} onClick={() => void create()}>
          {label}
        </Button>
      </div>
      {failure ? (
        <Alert tone="danger" live="alert" title="No certificate was created">
          {describeFailure(failure)}
        </Alert>
      ) : null}
    </div>
  );
}

/** Client secret or certificate: switches the method only, the stored settings otherwise kept. */
function AuthMethodSwitch({
  orgId,
  settings,
  usable,
  onSaved,
}: {
  orgId: string;
  settings: IntegrationSettings;
  usable: number;
  onSaved: (settings: IntegrationSettings) => void;
}) {
  const { api } = useSession();
  const [choice, setChoice] = useState<AuthMethod>(settings.authMethod);
  const { busy, failure, run } = useAction();
  const [saved, setSaved] = useState<AuthMethod | null>(null);
  const name = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(null);
    await run(async () => {
      const result = await unwrap(
        api.PUT('/api/v1/orgs/{orgId}/integration', {
          params: { path: { orgId } },
          body: switchMethodInput(settings, choice),
        }),
      );
      setSaved(result.authMethod);
      onSaved(result);
    });
  };
  return (
    <form className="form certificate-method" onSubmit={(e) => void submit(e)} noValidate>
      <p className="field__label" id={`${name}-label`}>
        Authenticate with
      </p>
      <fieldset className="segmented" aria-labelledby={`${name}-label`}>
        {(['client_secret', 'certificate'] as const).map((method) => (
          <label
            key={method}
            className={
              choice === method ? 'segmented__option segmented__option--on' : 'segmented__option'
            }
          >
            <input
              type="radio"
              name={name}
              value={method}
              checked={choice === method}
              onChange={() => setChoice(method)}
            />{' '}
            {AUTH_METHOD_LABELS[method]}
          </label>
        ))}
      </fieldset>
      {choice === 'certificate' && usable === 0 ? (
        <p className="field__hint">
          There is no usable certificate yet: create one below and upload it, or syncs stop with
          "settings incomplete".
        </p>
      ) : null}
      <div className="button-row">
        <Button type="submit" busy={busy} disabled={choice === settings.authMethod}>
          Use {AUTH_METHOD_LABELS[choice].toLowerCase()}
        </Button>
        {saved ? (
          <p className="form__saved" role="status">
            Syncs now authenticate with the {AUTH_METHOD_LABELS[saved].toLowerCase()}.
          </p>
        ) : null}
      </div>
      {failure ? (
        <Alert tone="danger" live="alert" title="The method was not changed">
          {describeFailure(failure)}
        </Alert>
      ) : null}
    </form>
  );
}

function CertificateItem({
  orgId,
  certificate: c,
  lastUsable,
  onRetired,
}: {
  orgId: string;
  certificate: Certificate;
  lastUsable: boolean;
  onRetired: (certificate: Certificate) => void;
}) {
  const { api } = useSession();
  const download = useDownload(orgId);
  const [confirming, setConfirming] = useState(false);
  const { busy, failure, setFailure, run } = useAction();
  const now = new Date();
  const status = CERTIFICATE_STATUS[c.status];
  const left = daysUntil(c.notAfter, now);
  const expired = Date.parse(c.notAfter) <= now.getTime();
  const retire = () =>
    run(async () => {
      onRetired(
        await unwrap(
          api.DELETE('/api/v1/orgs/{orgId}/integration/certificates/{id}', {
            params: { path: { orgId, id: c.id } },
          }),
        ),
      );
      setConfirming(false);
    });
  return (
    <li className="certificate" data-certificate-id={c.id} data-status={c.status}>
      <div className="certificate__head">
        <p className="certificate__title">
          <Thumbprint value={c.thumbprint} />
        </p>
        <Badge tone={status.tone}>{status.label}</Badge>{' '}
        {c.status !== 'retired' ? (
          <Badge tone={secretExpiryTone(left, expired)}>
            {secretExpiryText(left, expired, c.notAfter, now)}
          </Badge>
        ) : null}
      </div>
      <p className="muted certificate__help">{status.help}</p>
      <Facts
        columns
        items={[
          ['Valid until', dateOnly(c.notAfter)],
          ['Created', dateOnly(c.createdAt)],
          ...(c.activatedAt
            ? ([['First accepted', dateOnly(c.activatedAt)]] as [string, string][])
            : []),
          ...(c.retiredAt ? ([['Retired', dateOnly(c.retiredAt)]] as [string, string][]) : []),
        ]}
      />
      <div className="button-row">
        <Button onClick={() => void download(c).catch((e) => setFailure(failureFromError(e)))}>
          Download .cer
        </Button>
        {c.status !== 'retired' && !confirming ? (
          <Button variant="quiet" onClick={() => setConfirming(true)}>
            Retire
          </Button>
        ) : null}
      </div>
      {confirming ? (
        <Alert
          tone={lastUsable ? 'warning' : 'neutral'}
          live="status"
          title="Retire this certificate?"
        >
          {lastUsable ? (
            <p>
              It is the last usable certificate and syncs authenticate with certificates: the
              service will refuse. Create and upload a new one first, or switch to the client
              secret.
            </p>
          ) : (
            <p>
              Syncs stop using it and its private key is deleted for good. Remove it from the app
              registration too.
            </p>
          )}
          <div className="button-row">
            <Button variant="danger" busy={busy} onClick={() => void retire()}>
              Retire certificate
            </Button>
            <Button variant="quiet" onClick={() => setConfirming(false)}>
              Keep it
            </Button>
          </div>
        </Alert>
      ) : null}
      {failure ? (
        <Alert tone="danger" live="alert" title="The certificate was not retired">
          {describeFailure(failure)}
        </Alert>
      ) : null}
    </li>
  );
}

/**
 * Settings → Certificates: the method in use, new certificates (the key
 * pair is made by the service; only the public certificate is downloaded),
 * their status, download and retirement.
 */
export function CertificatesCard({
  orgId,
  settings,
  onSettingsChanged,
}: {
  orgId: string;
  settings: IntegrationSettings;
  onSettingsChanged: (settings: IntegrationSettings) => void;
}) {
  const { api } = useSession();
  const download = useDownload(orgId);
  const { state, reload } = useResource(
    () =>
      unwrap(
        api.GET('/api/v1/orgs/{orgId}/integration/certificates', { params: { path: { orgId } } }),
      ),
    [api, orgId],
  );
  const [validity, setValidity] = useState(DEFAULT_VALIDITY_DAYS);
  const { busy: creating, failure, setFailure, run } = useAction();
  const [created, setCreated] = useState<Certificate | null>(null);
  const validityId = useId();
  const now = new Date();
  const items = state.status === 'ready' ? state.data.items : [];
  const current = items.filter((c) => c.status !== 'retired');
  const retired = items.filter((c) => c.status === 'retired');
  const usable = current.filter((c) => Date.parse(c.notAfter) > now.getTime()).length;

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setCreated(null);
    await run(async () => {
      const certificate = await unwrap(
        api.POST('/api/v1/orgs/{orgId}/integration/certificates', {
          params: { path: { orgId } },
          body: { validityDays: validity },
        }),
      );
      setCreated(certificate);
      await reload();
    });
  };

  return (
    <Card title="Certificates" headingId="certificates">
      <p className="muted">
        The recommended credential. The service makes a key pair, keeps the private key encrypted
        and never shows it; you upload only the public certificate to the app registration. There is
        no secret to copy, paste wrong or send around.
      </p>
      <AuthMethodSwitch
        orgId={orgId}
        settings={settings}
        usable={usable}
        onSaved={onSettingsChanged}
      />

      <form className="form certificate-create" onSubmit={(e) => void create(e)} noValidate>
        <div className="field">
          <label className="field__label" htmlFor={validityId}>
            Validity of a new certificate
          </label>
          <select
            id={validityId}
            className="input input--short"
            value={validity}
            onChange={(e) => setValidity(Number(e.target.value))}
          >
            {VALIDITY_CHOICES.map((v) => (
              <option key={v.days} value={v.days}>
                {v.label}
              </option>
            ))}
          </select>
        </div>
        <Button type="submit" variant="primary" busy={creating}>
          Create certificate
        </Button>
      </form>
      {failure ? (
        <Alert tone="danger" live="alert" title="No certificate was created">
          {describeFailure(failure)}
        </Alert>
      ) : null}
      {created ? (
        <Alert tone="success" live="status" title="Certificate created">
          <p>
            Thumbprint <Thumbprint value={created.thumbprint} />, valid until{' '}
            {dateOnly(created.notAfter)}.
          </p>
          <UploadSteps clientId={settings.clientId} />
          <div className="button-row">
            <Button
              variant="primary"
              onClick={() => void download(created).catch((e) => setFailure(failureFromError(e)))}
            >
              Download .cer
            </Button>
          </div>
        </Alert>
      ) : null}

      {state.status === 'loading' ? (
        <LoadingView label="Loading the certificates…" lines={3} />
      ) : null}
      {state.status === 'error' ? (
        <ErrorView
          title="The certificates could not be loaded"
          failure={state.failure}
          onRetry={() => void reload()}
        />
      ) : null}
      {state.status === 'ready' ? (
        <>
          <h3 className="subheading">In use and waiting</h3>
          {current.length === 0 ? (
            <p className="muted">No certificate yet.</p>
          ) : (
            <ul className="certificate-list">
              {current.map((c) => (
                <CertificateItem
                  key={c.id}
                  orgId={orgId}
                  certificate={c}
                  lastUsable={isLastUsable(items, c.id, settings.authMethod, now)}
                  onRetired={() => void reload()}
                />
              ))}
            </ul>
          )}
          {retired.length > 0 ? (
            <details className="disclosure certificate-retired">
              <summary className="disclosure__summary">
                <span className="disclosure__title">Retired ({retired.length})</span>
              </summary>
              <ul className="certificate-list">
                {retired.map((c) => (
                  <CertificateItem
                    key={c.id}
                    orgId={orgId}
                    certificate={c}
                    lastUsable={false}
                    onRetired={() => void reload()}
                  />
                ))}
              </ul>
            </details>
          ) : null}
        </>
      ) : null}
    </Card>
  );
}

/** The overview's credential card for an org on certificates: which one, and how long it lasts. */
export function CertificateOverviewCard({
  orgId,
  overview,
  onCreated,
}: {
  orgId: string;
  overview: SyncOverview;
  onCreated?: () => void;
}) {
  const c: OverviewCertificate | null = overview.certificate;
  const soon = c !== null && (c.expired || c.daysLeft <= 30);
  return (
    <Card title="Certificate" headingLevel={3}>
      {c ? (
        <>
          <p>
            <Badge tone={secretExpiryTone(c.daysLeft, c.expired)}>
              {secretExpiryText(c.daysLeft, c.expired, c.notAfter)}
            </Badge>{' '}
            <Badge tone={CERTIFICATE_STATUS[c.status].tone}>
              {CERTIFICATE_STATUS[c.status].label}
            </Badge>
          </p>
          <Facts
            items={[
              ['Method', AUTH_METHOD_LABELS[overview.authMethod ?? 'certificate']],
              ['Thumbprint', <Thumbprint key="t" value={c.thumbprint} />],
              ['Valid until', dateOnly(c.notAfter)],
              ['Days left', String(Math.max(c.daysLeft, 0))],
            ]}
          />
          {soon ? <CreateCertificateAction orgId={orgId} onCreated={() => onCreated?.()} /> : null}
        </>
      ) : (
        <p className="muted">The integration authenticates with a certificate, and has none yet.</p>
      )}
      <p>
        <Link to={certificatesPath(orgId)}>Manage certificates</Link>
      </p>
    </Card>
  );
}
