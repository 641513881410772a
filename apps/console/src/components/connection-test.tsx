import { useCallback, useEffect, useRef, useState } from 'react';
import { unwrap } from '../api/client.js';
import { type ApiFailure, describeFailure } from '../api/errors.js';
import type { ConnectionTest, EntraGroup } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { dateTime } from '../lib/format.js';
import { failureFromError } from '../lib/use-action.js';
import { FailureDetails, Warnings } from './run.js';
import { Alert, Button, Card } from './ui.js';

/**
 * Test connection: the preflight alone, with the saved settings (the API's
 * contract), so it answers for what a sync would use. The settings form's
 * "Save and test connection" saves, then asks this card to run
 * (`runToken` changes); with unsaved edits the card says the test uses
 * what is saved. Nothing is synced, and no run or notification is made.
 */
export function ConnectionTestCard({
  orgId,
  saved,
  dirty,
  runToken,
  onGroups,
}: {
  orgId: string;
  /** Whether settings are stored at all. */
  saved: boolean;
  /** The form holds edits not saved yet. */
  dirty: boolean;
  /** Changes when the form asks for a test right after a save. */
  runToken: number;
  onGroups: (groups: EntraGroup[]) => void;
}) {
  const { api } = useSession();
  const [result, setResult] = useState<ConnectionTest | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [testing, setTesting] = useState(false);
  const resultRef = useRef<HTMLDivElement>(null);
  const groupsRef = useRef(onGroups);
  groupsRef.current = onGroups;

  const test = useCallback(async () => {
    setTesting(true);
    setFailure(null);
    try {
      const answer = await unwrap(
        api.POST('/api/v1/orgs/{orgId}/integration/test', { params: { path: { orgId } } }),
      );
      setResult(answer);
      groupsRef.current(
        (answer.groups ?? []).map((g) => ({ id: g.id, displayName: g.displayName })),
      );
      resultRef.current?.focus();
    } catch (error) {
      setFailure(failureFromError(error));
    } finally {
      setTesting(false);
    }
  }, [api, orgId]);

  const lastToken = useRef(runToken);
  useEffect(() => {
    if (runToken === lastToken.current) return;
    lastToken.current = runToken;
    resultRef.current?.scrollIntoView({ block: 'nearest' });
    void test();
  }, [runToken, test]);

  return (
    <Card
      title="Test connection"
      headingId="test-connection"
      actions={
        <Button variant="primary" busy={testing} disabled={!saved} onClick={() => void test()}>
          Test connection
        </Button>
      }
    >
      <p className="muted">
        Signs in to Microsoft Entra ID with the saved settings, checks the permissions and that the
        selected groups exist, as a sync's first stage does. Nothing is synced.
      </p>
      {!saved ? (
        <p className="muted">
          Save the settings first (or use <strong>Save and test connection</strong>): the test uses
          what is saved.
        </p>
      ) : dirty ? (
        <Alert tone="info">
          You have unsaved changes. The test uses the saved settings: use{' '}
          <strong>Save and test connection</strong> to test your changes.
        </Alert>
      ) : null}
      <div ref={resultRef} tabIndex={-1} className="connection-result" aria-live="polite">
        {testing ? (
          <p className="muted" role="status">
            Testing the connection…
          </p>
        ) : null}
        {failure ? (
          <Alert tone="danger" live="alert" title="The connection could not be tested">
            {describeFailure(failure)}
          </Alert>
        ) : null}
        {result && !testing ? (
          <div data-testid="connection-result" data-ok={String(result.ok)}>
            {result.ok ? (
              <Alert tone="success" title="The connection works">
                <p>
                  Signed in to Entra ID, with the permissions a sync needs
                  {result.groups.length > 0
                    ? `, and all ${result.groups.length} selected group${result.groups.length === 1 ? '' : 's'} found`
                    : ''}
                  . Tested {dateTime(result.checkedAt)}.
                </p>
                {result.groups.length > 0 ? (
                  <ul className="group-list" aria-label="Groups found">
                    {result.groups.map((g) => (
                      <li key={g.id}>
                        <span className="group-list__name">{g.displayName ?? 'Unnamed group'}</span>
                        <code className="group-list__id">{g.id}</code>
                      </li>
                    ))}
                  </ul>
                ) : null}
              </Alert>
            ) : (
              <Alert tone="danger" title="The connection test failed">
                <FailureDetails failure={result.failure} headingLevel={3} />
                {result.groups?.some((g) => g.missing) ? (
                  <p>
                    Missing:{' '}
                    {result.groups
                      .filter((g) => g.missing)
                      .map((g) => g.id)
                      .join(', ')}
                  </p>
                ) : null}
                <p className="muted">Tested {dateTime(result.checkedAt)}.</p>
              </Alert>
            )}
            {result.warnings.length > 0 ? <Warnings warnings={result.warnings} /> : null}
          </div>
        ) : null}
      </div>
    </Card>
  );
}
