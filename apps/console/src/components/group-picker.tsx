import { type KeyboardEvent, useId, useState } from 'react';
import { unwrap } from '../api/client.js';
import { type ApiFailure, describeFailure } from '../api/errors.js';
import type { EntraGroup } from '../api/types.js';
import { useSession } from '../auth/session.js';
import {
  addGroupId,
  type GroupNames,
  hasGroupId,
  nameOf,
  removeGroupId,
  selectedGroupIds,
} from '../lib/groups.js';
import { failureFromError } from '../lib/use-action.js';
import { controlProps, Field } from './field.js';
import { FailureDetails } from './run.js';
import { Alert, Badge, Button } from './ui.js';

type Search =
  | { status: 'idle' }
  | { status: 'searching'; term: string }
  | { status: 'done'; term: string; groups: EntraGroup[] }
  | { status: 'failed'; term: string; failure: ApiFailure };

/**
 * Picks groups by name: a search of the tenant's groups through the api
 * (Graph's `$search`, with the org's saved credentials), each result added
 * to the selection with one press. The selection stays the Group IDs text,
 * so object IDs can still be pasted. Before the app registration is saved
 * there are no credentials to search with: the search says so.
 */
export function GroupPicker({
  orgId,
  value,
  onChange,
  names,
  onNames,
  errors,
  fieldId,
  saved,
}: {
  orgId: string;
  /** The Group IDs text, one ID per line. */
  value: string;
  onChange: (next: string) => void;
  /** Group names known so far (overview, searches). */
  names: GroupNames;
  onNames: (groups: EntraGroup[]) => void;
  errors: readonly string[] | undefined;
  /** The Group IDs field's ID (the error summary links to it). */
  fieldId: string;
  /** Whether settings are stored (the search uses the saved credentials). */
  saved: boolean;
}) {
  const { api } = useSession();
  const [term, setTerm] = useState('');
  const [search, setSearch] = useState<Search>({ status: 'idle' });
  const resultsId = useId();

  const run = async () => {
    const wanted = term.trim();
    if (wanted === '') return;
    setSearch({ status: 'searching', term: wanted });
    try {
      const found = await unwrap(
        api.GET('/api/v1/orgs/{orgId}/entra/groups', {
          params: { path: { orgId }, query: { search: wanted } },
        }),
      );
      onNames(found.items);
      setSearch({ status: 'done', term: wanted, groups: found.items });
    } catch (error) {
      setSearch({
        status: 'failed',
        term: wanted,
        failure: failureFromError(error),
      });
    }
  };
  // Enter searches; it must not submit the settings form around it.
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    void run();
  };

  const selected = selectedGroupIds(value);
  return (
    <div className="group-picker">
      <Field
        id="group-search"
        label="Find a group by name"
        hint={
          saved
            ? "Searches your tenant's groups in Entra ID with the saved app registration. Words match the start of words in a group's name."
            : 'Searching needs the app registration saved first: save the tenant ID, client ID and secret, then search. Or paste object IDs below.'
        }
      >
        <div className="search-row">
          <input
            {...controlProps('group-search', true, undefined)}
            className="input"
            type="search"
            autoComplete="off"
            spellCheck={false}
            value={term}
            onChange={(e) => setTerm(e.target.value)}
            onKeyDown={onKeyDown}
            aria-controls={resultsId}
          />
          <Button
            onClick={() => void run()}
            busy={search.status === 'searching'}
            disabled={term.trim() === ''}
          >
            Search
          </Button>
        </div>
      </Field>

      <div id={resultsId} className="group-picker__results">
        <p className="visually-hidden" role="status" aria-live="polite">
          {search.status === 'searching' ? `Searching for ${search.term}…` : null}
          {search.status === 'done'
            ? `${search.groups.length === 0 ? 'No' : search.groups.length} group${search.groups.length === 1 ? '' : 's'} found for ${search.term}.`
            : null}
        </p>
        {search.status === 'done' && search.groups.length === 0 ? (
          <p className="muted">No group's name matches “{search.term}”. Try the start of a word.</p>
        ) : null}
        {search.status === 'done' && search.groups.length > 0 ? (
          <ul className="pick-list" aria-label={`Groups found for ${search.term}`}>
            {search.groups.map((g) => {
              const picked = hasGroupId(value, g.id);
              return (
                <li key={g.id} className="pick-list__item" data-group-id={g.id}>
                  <span className="pick-list__text">
                    <span className="group-list__name">{g.displayName ?? 'Unnamed group'}</span>
                    <code className="group-list__id">{g.id}</code>
                  </span>
                  {picked ? (
                    <Badge tone="success">Selected</Badge>
                  ) : (
                    <Button
                      onClick={() => onChange(addGroupId(value, g.id))}
                      aria-label={`Add ${g.displayName ?? g.id}`}
                    >
                      Add
                    </Button>
                  )}
                </li>
              );
            })}
          </ul>
        ) : null}
        {search.status === 'failed' ? (
          search.failure.kind === 'entra_check' ? (
            <Alert
              tone={search.failure.transient ? 'warning' : 'danger'}
              live="alert"
              title="The groups could not be searched"
            >
              <FailureDetails failure={search.failure.failure} headingLevel={4} />
            </Alert>
          ) : (
            <Alert tone="danger" live="alert" title="The groups could not be searched">
              {describeFailure(search.failure)}
            </Alert>
          )
        ) : null}
      </div>

      <Field
        id={fieldId}
        label="Group IDs"
        hint="The groups picked above, one object ID per line; you can also paste IDs (Entra ID → Groups → the group → Object ID). Members of nested groups are included."
        errors={errors}
      >
        <textarea
          {...controlProps(fieldId, true, errors)}
          className="input input--mono"
          rows={4}
          autoComplete="off"
          spellCheck={false}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      </Field>
      {selected.length > 0 ? (
        <ul className="group-list" aria-label="Selected groups">
          {selected.map((id) => {
            const name = nameOf(names, id);
            return (
              <li key={id.toLowerCase()} className="pick-list__item">
                <span className="pick-list__text">
                  <span className={name ? 'group-list__name' : 'muted'}>
                    {name ?? 'Name not known yet'}
                  </span>
                  <code className="group-list__id">{id}</code>
                </span>
                <Button
                  variant="quiet"
                  onClick={() => onChange(removeGroupId(value, id))}
                  aria-label={`Remove ${name ?? id}`}
                >
                  Remove
                </Button>
              </li>
            );
          })}
        </ul>
      ) : null}
    </div>
  );
}
