import { type FormEvent, useState } from 'react';
import { unwrap } from '../api/client.js';
import { ApiError, type ApiFailure, describeFailure } from '../api/errors.js';
import type { IntegrationSettings, ValidationIssue } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { dateOnly } from '../lib/format.js';
import { issuesByField } from '../lib/issues.js';
import { failureFromError } from '../lib/use-action.js';
import { controlProps, Field } from './field.js';
import { SyncNowPanel } from './sync-now.js';
import { Alert, Button, Card } from './ui.js';

/** Replaces the client secret and its expiry only, then offers Sync Now. */
export function RotateSecretForm({
  orgId,
  onRotated,
}: {
  orgId: string;
  onRotated: (settings: IntegrationSettings) => void;
}) {
  const { api } = useSession();
  const [secret, setSecret] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  const [issues, setIssues] = useState<ValidationIssue[]>([]);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [busy, setBusy] = useState(false);
  const [rotated, setRotated] = useState<IntegrationSettings | null>(null);
  const { byField, form } = issuesByField(issues, {
    secret: ['clientSecret'],
    expiresAt: ['expiresAt'],
  });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setIssues([]);
    setFailure(null);
    setRotated(null);
    try {
      const result = await unwrap(
        api.PUT('/api/v1/orgs/{orgId}/integration/client-secret', {
          params: { path: { orgId } },
          body: { clientSecret: secret, expiresAt },
        }),
      );
      setSecret('');
      setExpiresAt('');
      setRotated(result);
      onRotated(result);
    } catch (error) {
      if (error instanceof ApiError && error.failure.kind === 'validation')
        setIssues(error.failure.issues);
      else setFailure(failureFromError(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Rotate client secret" headingId="rotate-secret">
      <p className="muted">
        Replaces the client secret and its expiry date. Nothing else changes. Create the new secret
        in Entra ID first (App registrations → your app → Certificates &amp; secrets → New client
        secret).
      </p>
      <form onSubmit={(e) => void submit(e)} noValidate className="form">
        {form.length > 0 || failure ? (
          <Alert tone="danger" live="alert" title="The secret was not rotated">
            {failure ? describeFailure(failure) : form.join(' ')}
          </Alert>
        ) : null}
        <Field
          id="rotate-secret-value"
          label="New client secret"
          hint="The Value column, not the Secret ID."
          errors={byField.secret}
        >
          <input
            {...controlProps('rotate-secret-value', true, byField.secret)}
            className="input"
            type="password"
            autoComplete="new-password"
            spellCheck={false}
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
          />
        </Field>
        <Field
          id="rotate-secret-expires"
          label="Expires"
          hint="The Expires date shown next to the new secret."
          errors={byField.expiresAt}
        >
          <input
            {...controlProps('rotate-secret-expires', true, byField.expiresAt)}
            className="input input--short"
            type="date"
            value={expiresAt}
            onChange={(e) => setExpiresAt(e.target.value)}
          />
        </Field>
        <Button type="submit" variant="primary" busy={busy}>
          Rotate secret
        </Button>
      </form>
      {rotated ? (
        <div className="stack stack--tight">
          <Alert tone="success" live="status" title="The client secret was rotated">
            <p>
              The new secret
              {rotated.clientSecret.hint ? (
                <>
                  {' '}
                  ends in <code>…{rotated.clientSecret.hint}</code>
                </>
              ) : null}
              {rotated.clientSecret.expiresAt
                ? ` and expires on ${dateOnly(rotated.clientSecret.expiresAt)}`
                : ''}
              . Run a sync now to check that it works.
            </p>
          </Alert>
          <SyncNowPanel orgId={orgId} activeRun={null} lastRun={null} headingLevel={3} />
        </div>
      ) : null}
    </Card>
  );
}
