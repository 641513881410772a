import { useEffect, useState } from 'react';
import { unwrap } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import type { EntraGroup, IntegrationSettings } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { CertificatesCard } from '../components/certificates.js';
import { ConnectionTestCard } from '../components/connection-test.js';
import { Page } from '../components/page.js';
import { RemoveIntegration } from '../components/remove-integration.js';
import { RotateSecretForm } from '../components/rotate-secret-form.js';
import { SettingsForm } from '../components/settings-form.js';
import { ErrorView, LoadingView } from '../components/states.js';
import { type GroupNames, withNames } from '../lib/groups.js';
import { useResource } from '../lib/use-resource.js';

export function SettingsPage({ orgId }: { orgId: string }) {
  const { api } = useSession();
  const { state, reload } = useResource(async () => {
    try {
      return await unwrap(
        api.GET('/api/v1/orgs/{orgId}/integration', { params: { path: { orgId } } }),
      );
    } catch (error) {
      // No integration yet: the form creates one.
      if (error instanceof ApiError && error.failure.kind === 'not_found') return null;
      throw error;
    }
  }, [api, orgId]);
  const [current, setCurrent] = useState<IntegrationSettings | null | undefined>(undefined);
  const settings = current !== undefined ? current : state.status === 'ready' ? state.data : null;
  const [names, setNames] = useState<GroupNames>(new Map());
  const addNames = (groups: EntraGroup[]) => setNames((known) => withNames(known, groups));
  const [dirty, setDirty] = useState(false);
  const [testToken, setTestToken] = useState(0);

  // The selected groups' names as the latest preflight saw them (the overview has them).
  useEffect(() => {
    let live = true;
    unwrap(api.GET('/api/v1/orgs/{orgId}/sync-overview', { params: { path: { orgId } } }))
      .then((overview) => {
        if (live) setNames((known) => withNames(known, overview.groups));
      })
      .catch(() => {
        // Names are a help, not a need: IDs show without them.
      });
    return () => {
      live = false;
    };
  }, [api, orgId]);
  // Bumped when the integration is removed: the form starts empty again.
  const [removals, setRemovals] = useState(0);

  // Arriving from "Rotate the client secret" (or "Manage certificates") on the overview: go there.
  useEffect(() => {
    const target = window.location.hash.slice(1);
    if (state.status === 'ready' && (target === 'rotate-secret' || target === 'certificates')) {
      document.getElementById(target)?.scrollIntoView();
    }
  }, [state.status]);

  return (
    <Page title="Settings" subtitle="How this organisation connects to Microsoft Entra ID">
      {state.status === 'loading' ? <LoadingView label="Loading the settings…" lines={8} /> : null}
      {state.status === 'error' ? (
        <ErrorView
          title="The settings could not be loaded"
          failure={state.failure}
          onRetry={() => void reload()}
        />
      ) : null}
      {state.status === 'ready' ? (
        <div className="stack">
          {/* Once created, the same form edits: what was typed stays, the secret fields go. */}
          <SettingsForm
            key={removals}
            orgId={orgId}
            settings={settings}
            names={names}
            onNames={addNames}
            onDirty={setDirty}
            onSaved={(saved, { test }) => {
              setCurrent(saved);
              if (test) setTestToken((n) => n + 1);
            }}
          />
          <ConnectionTestCard
            orgId={orgId}
            saved={settings !== null}
            dirty={dirty}
            runToken={testToken}
            onGroups={addNames}
          />
          {settings ? (
            <CertificatesCard orgId={orgId} settings={settings} onSettingsChanged={setCurrent} />
          ) : null}
          {settings ? <RotateSecretForm orgId={orgId} onRotated={setCurrent} /> : null}
          <RemoveIntegration
            orgId={orgId}
            configured={settings !== null}
            onRemoved={() => {
              setCurrent(null);
              setRemovals((n) => n + 1);
            }}
          />
        </div>
      ) : null}
    </Page>
  );
}
