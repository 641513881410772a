import { type FormEvent, useState } from 'react';
import { unwrap } from '../api/client.js';
import type { OrgListPage } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { controlProps, Field } from '../components/field.js';
import { Page } from '../components/page.js';
import { EmptyView, ErrorView, LoadingView } from '../components/states.js';
import { Button, Card } from '../components/ui.js';
import { Link, navigate } from '../lib/router.js';
import { orgPath } from '../lib/routes.js';
import { useResource } from '../lib/use-resource.js';

const PAGE_SIZE = 50;
const ORG_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** For the portal backend's `org: "*"` token: pick an org with an integration, or type one. */
export function OrgPickerPage() {
  const { api } = useSession();
  const [pages, setPages] = useState<OrgListPage[]>([]);
  const [loadingMore, setLoadingMore] = useState(false);
  const [typed, setTyped] = useState('');
  const [typedError, setTypedError] = useState<string | null>(null);
  const { state, reload } = useResource(async () => {
    const first = await unwrap(
      api.GET('/api/v1/orgs', { params: { query: { limit: PAGE_SIZE } } }),
    );
    setPages([first]);
    return first;
  }, [api]);

  const more = async () => {
    const cursor = pages[pages.length - 1]?.nextCursor;
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const next = await unwrap(
        api.GET('/api/v1/orgs', { params: { query: { limit: PAGE_SIZE, cursor } } }),
      );
      setPages((p) => [...p, next]);
    } finally {
      setLoadingMore(false);
    }
  };

  const open = (event: FormEvent) => {
    event.preventDefault();
    const orgId = typed.trim();
    if (!ORG_ID.test(orgId)) {
      setTypedError('An org ID is 1 to 64 letters, digits, "_" or "-".');
      return;
    }
    navigate(orgPath(orgId));
  };

  const orgs = pages.flatMap((p) => p.items);
  const hasMore = pages[pages.length - 1]?.nextCursor != null;
  return (
    <Page title="Organisations" subtitle="Your sign-in can open any organisation. Pick one.">
      <Card title="Organisations with an Entra ID integration">
        {state.status === 'loading' ? <LoadingView label="Loading organisations…" /> : null}
        {state.status === 'error' ? (
          <ErrorView
            title="The organisations could not be loaded"
            failure={state.failure}
            onRetry={() => void reload()}
          />
        ) : null}
        {state.status === 'ready' && orgs.length === 0 ? (
          <EmptyView title="No organisation has an Entra ID integration yet.">
            <p>Open one by its ID below to set it up.</p>
          </EmptyView>
        ) : null}
        {orgs.length > 0 ? (
          <ul className="org-list">
            {orgs.map((o) => (
              <li key={o.orgId}>
                <Link to={orgPath(o.orgId)}>{o.orgId}</Link>
              </li>
            ))}
          </ul>
        ) : null}
        {hasMore ? (
          <Button busy={loadingMore} onClick={() => void more()}>
            Show more organisations
          </Button>
        ) : null}
      </Card>
      <Card title="Open an organisation by ID">
        <form onSubmit={open} noValidate className="inline-form">
          <Field id="org-id" label="Org ID" errors={typedError ? [typedError] : undefined}>
            <input
              {...controlProps('org-id', false, typedError ? [typedError] : undefined)}
              className="input"
              value={typed}
              autoComplete="off"
              spellCheck={false}
              onChange={(e) => {
                setTyped(e.target.value);
                setTypedError(null);
              }}
            />
          </Field>
          <Button type="submit">Open</Button>
        </form>
      </Card>
    </Page>
  );
}
