import { useEffect, useState } from 'react';
import { unwrap } from '../api/client.js';
import { type ApiFailure, describeFailure } from '../api/errors.js';
import type { Run, RunChange, RunChangeKind, RunChangesPage } from '../api/types.js';
import { useSession } from '../auth/session.js';
import { count, plural, type Tone } from '../lib/format.js';
import { failureFromError } from '../lib/use-action.js';
import { Alert, Badge, Button } from './ui.js';

const PAGE_SIZE = 25;

const KINDS: { kind: RunChangeKind; label: string; tone: Tone }[] = [
  { kind: 'added', label: 'Added', tone: 'success' },
  { kind: 'removed', label: 'Removed', tone: 'danger' },
  { kind: 'changed', label: 'Changed', tone: 'info' },
];

const FIELD_LABELS: Record<string, string> = {
  displayName: 'name',
  mail: 'mail',
  userPrincipalName: 'user principal name',
  accountEnabled: 'account enabled',
  groupIds: 'groups',
};

function describeChange(change: RunChange): string | null {
  if (change.change !== 'changed' || change.changedFields.length === 0) return null;
  const parts = change.changedFields.map((field) => {
    const label = FIELD_LABELS[field] ?? field;
    if (field === 'groupIds' || change.previous === null) return label;
    const before = change.previous[field as keyof typeof change.previous];
    const after = change[field as keyof RunChange];
    return `${label}: ${String(before ?? '—')} → ${String(after ?? '—')}`;
  });
  return `Changed ${parts.join('; ')}`;
}

/**
 * Who a run added, removed and changed (`GET .../syncs/{runId}/changes`),
 * a page at a time and one kind at a time. For a run the mass-removal
 * guard stopped, the users it would have removed, before anyone allows it.
 */
export function RunChanges({ orgId, run }: { orgId: string; run: Run }) {
  const { api } = useSession();
  const blocked = run.failure?.code === 'mass_removal_blocked';
  const [kind, setKind] = useState<RunChangeKind | 'all'>(blocked ? 'removed' : 'all');
  const [pages, setPages] = useState<RunChangesPage[]>([]);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [loading, setLoading] = useState(true);

  const load = async (cursor: string | null, which: RunChangeKind | 'all') => {
    setLoading(true);
    setFailure(null);
    try {
      const page = await unwrap(
        api.GET('/api/v1/orgs/{orgId}/syncs/{runId}/changes', {
          params: {
            path: { orgId, runId: run.id },
            query: {
              limit: PAGE_SIZE,
              ...(which === 'all' ? {} : { change: which }),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      );
      setPages((old) => (cursor ? [...old, page] : [page]));
    } catch (error) {
      setFailure(failureFromError(error));
    } finally {
      setLoading(false);
    }
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: reloads when the kind shown changes
  useEffect(() => {
    void load(null, kind);
  }, [kind]);

  const first = pages[0];
  const items = pages.flatMap((p) => p.items);
  const cursor = pages[pages.length - 1]?.nextCursor ?? null;
  const title = blocked ? 'Who would have been removed' : 'Who changed';

  return (
    // Not a landmark: every opened run has one, and landmarks must be unique.
    <div className="changes" data-changes-for={run.id}>
      <h3 className="subheading">{title}</h3>
      {failure ? (
        <Alert tone="danger" live="alert" title="The changes could not be loaded">
          {describeFailure(failure)}
        </Alert>
      ) : null}
      {first && !first.recorded ? (
        <p className="muted">
          {run.status === 'queued' || run.status === 'running'
            ? 'The changes are known once the run reaches its commit.'
            : 'This run stopped before comparing users, so it changed nobody.'}
        </p>
      ) : null}
      {first?.recorded ? (
        <>
          {blocked && !first.applied ? (
            <p>
              Nothing was applied: these are the users the sync would have removed. The previous
              user list is still in place.
            </p>
          ) : null}
          <fieldset className="segmented" aria-label="Show">
            {(['all', ...KINDS.map((k) => k.kind)] as const).map((k) => {
              const total =
                k === 'all'
                  ? first.totals.added + first.totals.removed + first.totals.changed
                  : first.totals[k];
              const label = k === 'all' ? 'All' : (KINDS.find((x) => x.kind === k)?.label ?? k);
              return (
                <label
                  key={k}
                  className={`segmented__option${kind === k ? ' segmented__option--on' : ''}`}
                >
                  <input
                    type="radio"
                    name={`changes-${run.id}`}
                    checked={kind === k}
                    onChange={() => setKind(k)}
                  />
                  {label} ({count(total)})
                </label>
              );
            })}
          </fieldset>
          {items.length === 0 && !loading ? (
            <p className="muted">
              {kind === 'all' ? 'This run changed nobody.' : `No user was ${kind} by this run.`}
            </p>
          ) : null}
          {items.length > 0 ? (
            <ul className="changes__list">
              {items.map((c) => {
                const k = KINDS.find((x) => x.kind === c.change);
                const detail = describeChange(c);
                return (
                  <li
                    key={`${c.change}:${c.userId}`}
                    className="changes__item"
                    data-change={c.change}
                  >
                    <Badge tone={k?.tone ?? 'neutral'}>
                      {blocked && c.change === 'removed'
                        ? 'Would be removed'
                        : (k?.label ?? c.change)}
                    </Badge>
                    <span className="changes__who">{c.displayName ?? c.userPrincipalName}</span>
                    <span className="muted">{c.userPrincipalName}</span>
                    {detail ? <span className="changes__detail">{detail}</span> : null}
                  </li>
                );
              })}
            </ul>
          ) : null}
          {first.truncated ? (
            <p className="muted">
              A run keeps the first {plural(first.limitPerKind, 'user')} of each kind; the counts
              above include every one.
            </p>
          ) : null}
          {cursor ? (
            <Button busy={loading} onClick={() => void load(cursor, kind)}>
              Show more users
            </Button>
          ) : null}
        </>
      ) : null}
      {!first && loading ? (
        <p className="muted" role="status">
          Loading the changes…
        </p>
      ) : null}
    </div>
  );
}
