import type { Run, RunFailure, RunStage } from '../api/types.js';
import { adminConsentLink, count, duration, linkify, type Tone } from '../lib/format.js';
import { Badge, Facts } from './ui.js';

export const STAGES: { stage: RunStage; label: string; doing: string }[] = [
  {
    stage: 'preflight',
    label: 'Preflight',
    doing: 'Checking settings, credentials, permissions and groups',
  },
  { stage: 'fetch', label: 'Fetch', doing: 'Reading users and group members from Microsoft Graph' },
  { stage: 'commit', label: 'Commit', doing: 'Saving the new snapshot' },
];

export function isActive(run: Pick<Run, 'status'>): boolean {
  return run.status === 'queued' || run.status === 'running';
}

const STATUS: Record<Run['status'], { label: string; tone: Tone }> = {
  queued: { label: 'Queued', tone: 'info' },
  running: { label: 'Running', tone: 'info' },
  succeeded: { label: 'Succeeded', tone: 'success' },
  failed: { label: 'Failed', tone: 'danger' },
};

export function RunStatusBadge({ run }: { run: Pick<Run, 'status'> }) {
  const s = STATUS[run.status];
  return <Badge tone={s.tone}>{s.label}</Badge>;
}

type StepState = 'done' | 'current' | 'failed' | 'pending';

function stepStates(run: Pick<Run, 'status' | 'stage'>): StepState[] {
  const at = STAGES.findIndex((s) => s.stage === run.stage);
  return STAGES.map((_, i) => {
    if (run.status === 'succeeded') return 'done';
    if (run.status === 'queued') return 'pending';
    if (i < at) return 'done';
    if (i > at) return 'pending';
    return run.status === 'failed' ? 'failed' : 'current';
  });
}

const STEP_TEXT: Record<StepState, string> = {
  done: 'done',
  current: 'in progress',
  failed: 'failed',
  pending: 'not started',
};

/** Preflight → Fetch → Commit, each done, in progress, failed or not started. */
export function StageSteps({ run }: { run: Pick<Run, 'status' | 'stage'> }) {
  const states = stepStates(run);
  return (
    <ol className="steps" aria-label="Sync stages">
      {STAGES.map((s, i) => {
        const state = states[i] ?? 'pending';
        return (
          <li
            key={s.stage}
            className={`steps__item steps__item--${state}`}
            aria-current={state === 'current' ? 'step' : undefined}
            data-stage={s.stage}
            data-state={state}
          >
            <span className="steps__marker" aria-hidden="true">
              {state === 'done' ? '✓' : state === 'failed' ? '!' : i + 1}
            </span>
            <span className="steps__label">
              {s.label}
              <span className="steps__state"> — {STEP_TEXT[state]}</span>
            </span>
          </li>
        );
      })}
    </ol>
  );
}

export function RunCounts({ run }: { run: Pick<Run, 'stats'> }) {
  const { stats } = run;
  return (
    <ul className="counts" aria-label="Counts">
      <li>
        <span className="counts__value">{count(stats.users)}</span> users
      </li>
      <li>
        <span className="counts__value">{count(stats.added)}</span> added
      </li>
      <li>
        <span className="counts__value">{count(stats.removed)}</span> removed
      </li>
      <li>
        <span className="counts__value">{count(stats.changed)}</span> changed
      </li>
    </ul>
  );
}

export function RunStats({ run }: { run: Run }) {
  const took = duration(run.startedAt, run.finishedAt);
  return (
    <Facts
      columns
      items={[
        ['Users', count(run.stats.users)],
        ['Groups', count(run.stats.groups)],
        ['Added', count(run.stats.added)],
        ['Removed', count(run.stats.removed)],
        ['Changed', count(run.stats.changed)],
        ['Graph requests', count(run.stats.graphRequests)],
        ['Token requests', count(run.stats.tokenRequests)],
        ['Throttled requests', count(run.stats.throttledRequests)],
        ['Attempts', count(run.attempts)],
        ['Duration', took ?? '—'],
      ]}
    />
  );
}

/** A step's text with any https link in it clickable. */
function StepText({ text }: { text: string }) {
  return (
    <>
      {linkify(text).map((part, i) =>
        part.href ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: parts of one fixed string
          <a key={i} href={part.href} target="_blank" rel="noopener noreferrer" className="break">
            {part.text}
          </a>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: parts of one fixed string
          <span key={i}>{part.text}</span>
        ),
      )}
    </>
  );
}

/**
 * A failure as the admin needs it: what happened, and numbered steps to fix
 * it. Where consent is missing, the admin-consent link is a button.
 */
export function FailureDetails({
  failure,
  headingLevel = 3,
}: {
  failure: RunFailure;
  headingLevel?: 2 | 3 | 4;
}) {
  const Heading = `h${headingLevel}` as 'h2' | 'h3' | 'h4';
  const consent = failure.code === 'consent_missing' ? adminConsentLink(failure.remediation) : null;
  return (
    <div className="failure">
      <Heading className="failure__title">{failure.title}</Heading>
      <p className="failure__message">{failure.message}</p>
      <p className="failure__code">
        Reason code <code>{failure.code}</code>
      </p>
      {failure.remediation.length > 0 ? (
        <>
          <p className="failure__steps-title">How to fix it</p>
          <ol className="failure__steps">
            {failure.remediation.map((step) => (
              <li key={step}>
                <StepText text={step} />
              </li>
            ))}
          </ol>
        </>
      ) : null}
      {consent ? (
        <p>
          <a
            className="button button--primary"
            href={consent}
            target="_blank"
            rel="noopener noreferrer"
          >
            Grant admin consent in Entra ID
          </a>
        </p>
      ) : null}
    </div>
  );
}

export function Warnings({ warnings }: { warnings: Run['warnings'] }) {
  if (warnings.length === 0) return null;
  return (
    <ul className="warnings">
      {warnings.map((w) => (
        <li key={`${w.code}:${w.message}`}>
          <Badge tone="warning">Warning</Badge> {w.message}
        </li>
      ))}
    </ul>
  );
}
