import { type ReactNode, useEffect, useRef } from 'react';

/**
 * A page's heading and title. On navigation the heading takes focus, so
 * keyboard and screen-reader users start at the new page's top, not at
 * the link they pressed.
 */
export function Page({
  title,
  subtitle,
  actions,
  children,
}: {
  title: string;
  subtitle?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Pinnacle Entra ID sync`;
    heading.current?.focus({ preventScroll: true });
  }, [title]);
  return (
    <>
      <div className="page-header">
        <div>
          <h1 ref={heading} tabIndex={-1} className="page-header__title">
            {title}
          </h1>
          {subtitle ? <p className="page-header__subtitle">{subtitle}</p> : null}
        </div>
        {actions ? <div className="page-header__actions">{actions}</div> : null}
      </div>
      {children}
    </>
  );
}
