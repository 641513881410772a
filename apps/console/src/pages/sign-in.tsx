import { type FormEvent, useState } from 'react';
import { useSession } from '../auth/session.js';
import { controlProps, Field } from '../components/field.js';
import { Page } from '../components/page.js';
import { Alert, Button, Card } from '../components/ui.js';
import { Link } from '../lib/router.js';
import { fleetPath } from '../lib/routes.js';

/**
 * Sign-in: paste the bearer token the portal issued, or arrive with a
 * sign-in link (`/console/orgs/{orgId}#token=...`), which skips this page.
 */
export function SignInPage({ orgId }: { orgId: string | null }) {
  const { signIn, endedBecause } = useSession();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim() === '') {
      setError('Paste your bearer token.');
      return;
    }
    const result = signIn(token);
    if (!result.ok) setError(result.message);
  };

  return (
    <div className="narrow">
      <Page
        title="Sign in"
        subtitle={
          orgId ? (
            <>
              to open the Entra ID sync of <strong>{orgId}</strong>
            </>
          ) : (
            'to the Entra ID sync admin console'
          )
        }
      >
        {endedBecause ? (
          <Alert tone="danger" title="You were signed out" live="alert">
            {endedBecause}
          </Alert>
        ) : null}
        <Card>
          <form onSubmit={submit} noValidate>
            <Field
              id="token"
              label="Bearer token"
              hint="The token the Pinnacle portal issued for you. It is kept in this browser tab only, until you sign out or close the tab."
              errors={error ? [error] : undefined}
            >
              <textarea
                {...controlProps('token', true, error ? [error] : undefined)}
                className="input input--mono"
                rows={4}
                value={token}
                spellCheck={false}
                autoComplete="off"
                onChange={(e) => {
                  setToken(e.target.value);
                  setError(null);
                }}
              />
            </Field>
            <Button type="submit" variant="primary">
              Sign in
            </Button>
          </form>
        </Card>
        <p className="muted">
          Opened a sign-in link from the portal or an email? It signs you in by itself; if this page
          shows instead, the link has expired.
        </p>
        <p className="muted">
          Support staff: the <Link to={fleetPath}>fleet view</Link> of every organisation signs in
          with the ops credentials instead.
        </p>
      </Page>
    </div>
  );
}
