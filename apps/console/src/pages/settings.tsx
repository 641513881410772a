import { useEffect, useState } from 'react';
import { unwrap } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import type { IntegrationSettings } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { Page } from '../components/page.js';
import { RotateSecretForm } from '../components/rotate-secret-form.js';
import { SettingsForm } from '../components/settings-form.js';
import { ErrorView, LoadingView } from '../components/states.js';
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

  // Arriving from "Rotate the client secret" on the overview: go to that form.
  useEffect(() => {
    if (state.status === 'ready' && window.location.hash === '#rotate-secret') {
      document.getElementById('rotate-secret')?.scrollIntoView();
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
          <SettingsForm orgId={orgId} settings={settings} onSaved={setCurrent} />
          {settings ? <RotateSecretForm orgId={orgId} onRotated={setCurrent} /> : null}
        </div>
      ) : null}
    </Page>
  );
}
