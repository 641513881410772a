import { type FormEvent, useEffect, useRef, useState } from 'react';
import { unwrap } from '../api/client.js';
import { ApiError, type ApiFailure, describeFailure } from '../api/errors.js';
import type { EntraGroup, IntegrationSettings, ValidationIssue } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { dateOnly } from '../lib/format.js';
import type { GroupNames } from '../lib/groups.js';
import { issuesByField } from '../lib/issues.js';
import { Link } from '../lib/router.js';
import { orgPath } from '../lib/routes.js';
import {
  EMPTY_SETTINGS,
  formFromSettings,
  SETTINGS_ISSUE_PATHS,
  type SettingsField,
  type SettingsFormValues,
  settingsInput,
} from '../lib/settings-form.js';
import { failureFromError } from '../lib/use-action.js';
import { CheckboxField, controlProps, Field } from './field.js';
import { GroupPicker } from './group-picker.js';
import { Button, Card } from './ui.js';

const GUID_HINT = 'A GUID such as 8f6b2c1e-4d3a-4b6e-9f1a-2c3d4e5f6a7b.';

/** Where a field's error summary link sends focus. */
const fieldId = (field: SettingsField) => `settings-${field}`;

function ErrorSummary({
  id,
  title,
  fieldIssues,
  formIssues,
  labels,
}: {
  id: string;
  title: string;
  fieldIssues: Partial<Record<string, string[]>>;
  formIssues: string[];
  labels: Record<string, string>;
}) {
  const entries = Object.entries(fieldIssues).filter(([, list]) => list && list.length > 0);
  return (
    <div className="alert alert--danger" role="alert" id={id} tabIndex={-1}>
      <p className="alert__title">{title}</p>
      <ul className="alert__body">
        {entries.map(([field, list]) => (
          <li key={field}>
            <a
              href={`#${field}`}
              onClick={(e) => {
                e.preventDefault();
                document.getElementById(field)?.focus();
              }}
            >
              {labels[field] ?? field}
            </a>
            : {list?.join(' ')}
          </li>
        ))}
        {formIssues.map((m) => (
          <li key={m}>{m}</li>
        ))}
      </ul>
    </div>
  );
}

const LABELS: Record<SettingsField, string> = {
  tenantId: 'Tenant ID',
  clientId: 'Client (application) ID',
  clientSecret: 'Client secret',
  clientSecretExpiresAt: 'Client secret expires',
  groupIds: 'Group IDs',
  scheduleEnabled: 'Sync on a schedule',
  scheduleEvery: 'Every',
  emailEnabled: 'Email notifications',
  recipients: 'Email recipients',
  includeDisabledUsers: 'Include disabled users',
  maxRemovedPercent: 'Largest share removed at once (%)',
  minRemovedUsers: 'Smallest number that counts',
};

/**
 * Creates the integration from nothing or edits it. A refused save shows
 * each of the API's issues at its field (and in a summary that takes focus)
 * and keeps everything typed.
 */
export function SettingsForm({
  orgId,
  settings,
  onSaved,
  names,
  onNames,
  onDirty,
}: {
  orgId: string;
  settings: IntegrationSettings | null;
  /** `test`: the admin pressed "Save and test connection". */
  onSaved: (saved: IntegrationSettings, options: { test: boolean }) => void;
  /** Group names known so far, and where a search's names go. */
  names: GroupNames;
  onNames: (groups: EntraGroup[]) => void;
  /** Whether the form holds edits not saved yet. */
  onDirty?: (dirty: boolean) => void;
}) {
  const { api } = useSession();
  const mode = settings ? 'edit' : 'create';
  const [values, setValues] = useState<SettingsFormValues>(() =>
    settings ? formFromSettings(settings) : EMPTY_SETTINGS,
  );
  const [issues, setIssues] = useState<ValidationIssue[]>([]);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [baseline, setBaseline] = useState<SettingsFormValues | null>(() =>
    settings ? formFromSettings(settings) : null,
  );
  const summary = useRef<HTMLDivElement>(null);
  const dirty = baseline === null || JSON.stringify(values) !== JSON.stringify(baseline);
  const dirtyRef = useRef(onDirty);
  dirtyRef.current = onDirty;
  useEffect(() => {
    dirtyRef.current?.(dirty);
  }, [dirty]);

  const { byField, form } = issuesByField(issues, SETTINGS_ISSUE_PATHS);
  const set = <K extends SettingsField>(field: K, value: SettingsFormValues[K]) => {
    setValues((v) => ({ ...v, [field]: value }));
    setSaved(null);
  };
  const errorsOf = (field: SettingsField) => byField[field];
  const text = (field: SettingsField, hint: boolean) => ({
    ...controlProps(fieldId(field), hint, errorsOf(field)),
    className: 'input',
    autoComplete: 'off',
    spellCheck: false,
  });

  useEffect(() => {
    if (issues.length > 0 || failure) document.getElementById('settings-errors')?.focus();
  }, [issues, failure]);

  const submit = async (event: FormEvent | null, test = false) => {
    event?.preventDefault();
    setSaving(true);
    setIssues([]);
    setFailure(null);
    setSaved(null);
    try {
      const result = await unwrap(
        api.PUT('/api/v1/orgs/{orgId}/integration', {
          params: { path: { orgId } },
          body: settingsInput(values, mode),
        }),
      );
      // The secret leaves the form once stored; everything else stays as typed.
      const kept = { ...values, clientSecret: '', clientSecretExpiresAt: '' };
      setValues(kept);
      setBaseline(kept);
      setSaved(mode === 'create' ? 'The integration was created.' : 'The settings were saved.');
      onSaved(result, { test });
    } catch (error) {
      if (error instanceof ApiError && error.failure.kind === 'validation') {
        setIssues(error.failure.issues);
      } else {
        setFailure(failureFromError(error));
      }
    } finally {
      setSaving(false);
    }
  };

  const fieldIssues = Object.fromEntries(
    Object.entries(byField).map(([k, v]) => [fieldId(k as SettingsField), v]),
  );
  const labels = Object.fromEntries(
    Object.entries(LABELS).map(([k, v]) => [fieldId(k as SettingsField), v]),
  );

  return (
    <Card title={mode === 'create' ? 'Connect Microsoft Entra ID' : 'Integration settings'}>
      <form onSubmit={(e) => void submit(e)} noValidate className="form">
        {issues.length > 0 ? (
          <div ref={summary}>
            <ErrorSummary
              id="settings-errors"
              title="The settings were not saved. Correct these fields:"
              fieldIssues={fieldIssues}
              formIssues={form}
              labels={labels}
            />
          </div>
        ) : null}
        {failure ? (
          <div className="alert alert--danger" role="alert" id="settings-errors" tabIndex={-1}>
            <p className="alert__title">The settings were not saved</p>
            <p className="alert__body">
              {describeFailure(failure)} Your changes are still in the form.
            </p>
          </div>
        ) : null}

        <fieldset className="fieldset">
          <legend>App registration</legend>
          <Field
            id={fieldId('tenantId')}
            label={LABELS.tenantId}
            hint={`Entra ID → Overview → Tenant ID, or a verified domain. ${GUID_HINT}`}
            errors={errorsOf('tenantId')}
          >
            <input
              {...text('tenantId', true)}
              value={values.tenantId}
              onChange={(e) => set('tenantId', e.target.value)}
            />
          </Field>
          <Field
            id={fieldId('clientId')}
            label={LABELS.clientId}
            hint="App registrations → your app → Application (client) ID."
            errors={errorsOf('clientId')}
          >
            <input
              {...text('clientId', true)}
              value={values.clientId}
              onChange={(e) => set('clientId', e.target.value)}
            />
          </Field>
          {mode === 'create' ? (
            <>
              <Field
                id={fieldId('clientSecret')}
                label={LABELS.clientSecret}
                hint="Certificates & secrets → the Value column (not the Secret ID). Stored encrypted, never shown again."
                errors={errorsOf('clientSecret')}
                optional
              >
                <input
                  {...text('clientSecret', true)}
                  type="password"
                  autoComplete="new-password"
                  value={values.clientSecret}
                  onChange={(e) => set('clientSecret', e.target.value)}
                />
              </Field>
              <Field
                id={fieldId('clientSecretExpiresAt')}
                label={LABELS.clientSecretExpiresAt}
                hint="The Expires date shown next to the secret in Entra ID. Needed with a secret."
                errors={errorsOf('clientSecretExpiresAt')}
                optional
              >
                <input
                  {...text('clientSecretExpiresAt', true)}
                  type="date"
                  value={values.clientSecretExpiresAt}
                  onChange={(e) => set('clientSecretExpiresAt', e.target.value)}
                />
              </Field>
            </>
          ) : (
            <p className="muted">
              The stored client secret
              {settings?.clientSecret.hint ? (
                <>
                  {' '}
                  ends in <code>…{settings.clientSecret.hint}</code>
                </>
              ) : null}
              {settings?.clientSecret.expiresAt
                ? ` and expires on ${dateOnly(settings.clientSecret.expiresAt)}`
                : ''}
              . Saving here keeps it; replace it with{' '}
              <a href="#rotate-secret">Rotate client secret</a> below.
            </p>
          )}
        </fieldset>

        <fieldset className="fieldset">
          <legend>Groups</legend>
          <GroupPicker
            orgId={orgId}
            value={values.groupIds}
            onChange={(next) => set('groupIds', next)}
            names={names}
            onNames={onNames}
            errors={errorsOf('groupIds')}
            fieldId={fieldId('groupIds')}
            saved={settings !== null}
          />
          <CheckboxField
            id={fieldId('includeDisabledUsers')}
            label={LABELS.includeDisabledUsers}
            hint="Off: accounts disabled in Entra ID are left out of the platform."
            errors={errorsOf('includeDisabledUsers')}
            checked={values.includeDisabledUsers}
            onChange={(c) => set('includeDisabledUsers', c)}
          />
        </fieldset>

        <fieldset className="fieldset">
          <legend>Schedule</legend>
          <CheckboxField
            id={fieldId('scheduleEnabled')}
            label={LABELS.scheduleEnabled}
            errors={errorsOf('scheduleEnabled')}
            checked={values.scheduleEnabled}
            onChange={(c) => set('scheduleEnabled', c)}
          />
          <Field
            id={fieldId('scheduleEvery')}
            label={LABELS.scheduleEvery}
            hint='An interval such as "6h" or "1d", or a cron expression such as "0 3 * * *".'
            errors={errorsOf('scheduleEvery')}
          >
            <input
              {...text('scheduleEvery', true)}
              className="input input--short"
              value={values.scheduleEvery}
              onChange={(e) => set('scheduleEvery', e.target.value)}
            />
          </Field>
        </fieldset>

        <fieldset className="fieldset">
          <legend>Notifications</legend>
          <p className="muted">
            Failures, recoveries and expiring secrets always appear in the console's inbox.
          </p>
          <CheckboxField
            id={fieldId('emailEnabled')}
            label={LABELS.emailEnabled}
            hint="Also send them by email."
            errors={errorsOf('emailEnabled')}
            checked={values.emailEnabled}
            onChange={(c) => set('emailEnabled', c)}
          />
          <Field
            id={fieldId('recipients')}
            label={LABELS.recipients}
            hint="One address per line."
            errors={errorsOf('recipients')}
            optional={!values.emailEnabled}
          >
            <textarea
              {...text('recipients', true)}
              rows={3}
              value={values.recipients}
              onChange={(e) => set('recipients', e.target.value)}
            />
          </Field>
        </fieldset>

        <fieldset className="fieldset">
          <legend>Mass-removal guard</legend>
          <p className="muted">
            A sync that would remove more than this share of the synced users, and more than this
            many, is stopped before it changes anything.
          </p>
          <div className="field-row">
            <Field
              id={fieldId('maxRemovedPercent')}
              label={LABELS.maxRemovedPercent}
              errors={errorsOf('maxRemovedPercent')}
            >
              <input
                {...text('maxRemovedPercent', false)}
                className="input input--short"
                inputMode="decimal"
                value={values.maxRemovedPercent}
                onChange={(e) => set('maxRemovedPercent', e.target.value)}
              />
            </Field>
            <Field
              id={fieldId('minRemovedUsers')}
              label={LABELS.minRemovedUsers}
              errors={errorsOf('minRemovedUsers')}
            >
              <input
                {...text('minRemovedUsers', false)}
                className="input input--short"
                inputMode="numeric"
                value={values.minRemovedUsers}
                onChange={(e) => set('minRemovedUsers', e.target.value)}
              />
            </Field>
          </div>
        </fieldset>

        <div className="form__footer">
          <div className="button-row">
            <Button type="submit" variant="primary" busy={saving}>
              {mode === 'create' ? 'Create integration' : 'Save settings'}
            </Button>
            <Button busy={saving} onClick={() => void submit(null, true)}>
              {mode === 'create' ? 'Create and test connection' : 'Save and test connection'}
            </Button>
          </div>
          {saved ? (
            <p className="form__saved" role="status">
              {saved} <Link to={orgPath(orgId)}>See the sync overview</Link>
            </p>
          ) : null}
        </div>
      </form>
    </Card>
  );
}
