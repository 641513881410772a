import { type FormEvent, useState } from 'react';
import { unwrapNoContent } from '../api/client.js';
import { type ApiFailure, describeFailure } from '../api/errors.js';
import { useSession } from '../auth/session.js';
import { failureFromError } from '../lib/use-action.js';
import { controlProps, Field } from './field.js';
import { Alert, Button, Card } from './ui.js';

/** What DELETE .../integration deletes, as an admin would name it. */
export const REMOVED_ON_OFFBOARDING = [
  'the connection settings and the stored client secret',
  'the sync schedule, and any sync in progress (stopped without changing anything)',
  'the run history, with who each run added, removed and changed',
  'the synced user list',
  'the notifications, and the reminders and warnings still to come',
] as const;

/**
 * Remove integration (offboarding): says what will be deleted, and asks for
 * the organisation ID typed out before it deletes anything. Shown while the
 * org has an integration, and once removed, says so.
 */
export function RemoveIntegration({
  orgId,
  configured,
  onRemoved,
}: {
  orgId: string;
  configured: boolean;
  onRemoved: () => void;
}) {
  const { api } = useSession();
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [removed, setRemoved] = useState(false);
  const matches = typed.trim() === orgId;
  // Connected again after a removal: back to the action.
  if (configured && removed) setRemoved(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!matches) return;
    setBusy(true);
    setFailure(null);
    try {
      await unwrapNoContent(
        api.DELETE('/api/v1/orgs/{orgId}/integration', { params: { path: { orgId } } }),
      );
      setRemoved(true);
      setConfirming(false);
      setTyped('');
      onRemoved();
    } catch (error) {
      setFailure(failureFromError(error));
    } finally {
      setBusy(false);
    }
  };

  if (removed) {
    return (
      <Alert tone="success" live="status" title="The integration was removed">
        <p>
          Everything this service kept for {orgId} is deleted. Fill in the settings above to connect
          Microsoft Entra ID again.
        </p>
      </Alert>
    );
  }

  if (!configured) return null;

  return (
    <Card title="Remove integration" headingId="remove-integration">
      <p className="muted">Disconnects Microsoft Entra ID from this organisation and deletes:</p>
      <ul>
        {REMOVED_ON_OFFBOARDING.map((item) => (
          <li key={item}>{item}.</li>
        ))}
      </ul>
      <p className="muted">
        Nothing changes in Entra ID itself. This cannot be undone: connecting again starts afresh.
      </p>
      {failure ? (
        <Alert tone="danger" live="alert" title="The integration was not removed">
          {describeFailure(failure)}
        </Alert>
      ) : null}
      {confirming ? (
        <form onSubmit={(e) => void submit(e)} noValidate className="form">
          <Field
            id="remove-integration-confirm"
            label={`Type ${orgId} to confirm`}
            hint="The organisation ID, as shown in the address bar."
          >
            <input
              {...controlProps('remove-integration-confirm', true, undefined)}
              className="input"
              autoComplete="off"
              spellCheck={false}
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
            />
          </Field>
          <div className="button-row">
            <Button type="submit" variant="danger" busy={busy} disabled={!matches}>
              Remove the integration and delete its data
            </Button>
            <Button
              variant="quiet"
              onClick={() => {
                setConfirming(false);
                setTyped('');
              }}
            >
              Cancel
            </Button>
          </div>
        </form>
      ) : (
        <Button variant="danger" onClick={() => setConfirming(true)}>
          Remove integration…
        </Button>
      )}
    </Card>
  );
}
