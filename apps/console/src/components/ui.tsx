import { type ButtonHTMLAttributes, type ReactNode, useId } from 'react';
import type { Tone } from '../lib/format.js';

type ButtonVariant = 'primary' | 'secondary' | 'danger' | 'quiet';

export function Button({
  variant = 'secondary',
  busy = false,
  className,
  children,
  disabled,
  type = 'button',
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: ButtonVariant; busy?: boolean }) {
  return (
    <button
      type={type}
      className={['button', `button--${variant}`, className].filter(Boolean).join(' ')}
      disabled={disabled}
      aria-busy={busy || undefined}
      {...rest}
    >
      {busy ? <span className="spinner" aria-hidden="true" /> : null}
      {children}
    </button>
  );
}

export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <span className={`badge badge--${tone}`}>{children}</span>;
}

/**
 * A message box. `live` makes screen readers announce it when it appears
 * (status: politely; alert: at once, for errors the user must act on).
 */
export function Alert({
  tone,
  title,
  children,
  live,
  id,
}: {
  tone: Tone;
  title?: ReactNode;
  children?: ReactNode;
  live?: 'status' | 'alert';
  id?: string;
}) {
  return (
    <div className={`alert alert--${tone}`} role={live} id={id}>
      {title ? <p className="alert__title">{title}</p> : null}
      {children ? <div className="alert__body">{children}</div> : null}
    </div>
  );
}

/** A titled section: its heading names it (a landmark region screen readers can jump to). */
export function Card({
  title,
  children,
  actions,
  className,
  headingLevel = 2,
  headingId,
}: {
  title?: ReactNode;
  children: ReactNode;
  actions?: ReactNode;
  className?: string;
  headingLevel?: 2 | 3;
  /** The heading's ID, for links to the card (e.g. `#rotate-secret`); generated otherwise. */
  headingId?: string;
}) {
  const generated = useId();
  const id = headingId ?? generated;
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  return (
    <section
      className={['card', className].filter(Boolean).join(' ')}
      aria-labelledby={title ? id : undefined}
    >
      {title || actions ? (
        <div className="card__header">
          {title ? (
            <Heading className="card__title" id={id}>
              {title}
            </Heading>
          ) : null}
          {actions ? <div className="card__actions">{actions}</div> : null}
        </div>
      ) : null}
      {children}
    </section>
  );
}

/** A term/description list laid out as label: value rows. */
export function Facts({ items, columns }: { items: [ReactNode, ReactNode][]; columns?: boolean }) {
  return (
    <dl className={columns ? 'facts facts--columns' : 'facts'}>
      {items.map(([term, value], i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list, never reordered
        <div className="facts__row" key={i}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
