import type { ReactNode } from 'react';
import { type ApiFailure, describeFailure } from '../api/errors.js';
import { Button } from './ui.js';

/** Loading: a short text a screen reader announces, with a placeholder of the content's shape. */
export function LoadingView({ label, lines = 3 }: { label: string; lines?: number }) {
  return (
    <div className="state state--loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
      <div className="skeleton" aria-hidden="true">
        {Array.from({ length: lines }, (_, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: placeholders without identity
          <span className="skeleton__line" key={i} />
        ))}
      </div>
    </div>
  );
}

export function ErrorView({
  title,
  failure,
  onRetry,
}: {
  title: string;
  failure: ApiFailure;
  onRetry?: () => void;
}) {
  return (
    <div className="state state--error" role="alert">
      <p className="state__title">{title}</p>
      <p>{describeFailure(failure)}</p>
      {onRetry && failure.kind !== 'forbidden' ? (
        <Button onClick={onRetry}>Try again</Button>
      ) : null}
    </div>
  );
}

export function EmptyView({
  title,
  children,
  action,
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="state state--empty">
      <p className="state__title">{title}</p>
      {children ? <div className="state__body">{children}</div> : null}
      {action ? <div className="state__action">{action}</div> : null}
    </div>
  );
}
