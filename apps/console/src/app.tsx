import { type ReactNode, useEffect } from 'react';
import { useSession } from './auth/session.js';
import { ANY_ORG, canOpenOrg } from './auth/token.js';
import { RateLimitBanner } from './components/rate-limit-banner.js';
import { Alert, Button } from './components/ui.js';
import { UnreadProvider, useUnread } from './components/unread.js';
import { Link, navigate, usePathname } from './lib/router.js';
import { homePath, type OrgPage, orgPath, parseRoute } from './lib/routes.js';
import { FleetPage } from './pages/fleet.js';
import { NotFoundPage } from './pages/not-found.js';
import { NotificationsPage } from './pages/notifications.js';
import { OrgPickerPage } from './pages/org-picker.js';
import { OverviewPage } from './pages/overview.js';
import { RunHistoryPage } from './pages/run-history.js';
import { SettingsPage } from './pages/settings.js';
import { SignInPage } from './pages/sign-in.js';

function Frame({ children, nav }: { children: ReactNode; nav?: ReactNode }) {
  const { claims, signOut } = useSession();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__inner">
          <Link to={homePath} className="brand">
            <span className="brand__mark" aria-hidden="true">
              P
            </span>
            <span className="brand__name">
              Pinnacle <span className="brand__product">Entra ID sync</span>
            </span>
          </Link>
          {claims ? (
            <div className="topbar__session">
              <span className="topbar__who">
                <span className="topbar__who-label">Signed in as </span>
                <strong>{claims.sub}</strong>
              </span>
              <Button variant="quiet" onClick={() => signOut()}>
                Sign out
              </Button>
            </div>
          ) : null}
        </div>
        {nav}
      </header>
      <main id="main" className="main" tabIndex={-1}>
        <RateLimitBanner />
        {children}
      </main>
    </>
  );
}

const NAV: { page: OrgPage; label: string }[] = [
  { page: 'overview', label: 'Overview' },
  { page: 'runs', label: 'Run history' },
  { page: 'notifications', label: 'Notifications' },
  { page: 'settings', label: 'Settings' },
];

function OrgNav({ orgId, current }: { orgId: string; current: OrgPage }) {
  const { claims } = useSession();
  const unread = useUnread();
  return (
    <nav className="orgnav" aria-label="Organisation">
      <div className="orgnav__inner">
        <p className="orgnav__org">
          <span className="muted">Organisation</span> <strong>{orgId}</strong>
          {claims?.org === ANY_ORG ? (
            <>
              {' '}
              <Link to={homePath} className="orgnav__switch">
                Switch
              </Link>
            </>
          ) : null}
        </p>
        <ul className="orgnav__links">
          {NAV.map((item) => (
            <li key={item.page}>
              <Link
                to={orgPath(orgId, item.page)}
                className="orgnav__link"
                aria-current={item.page === current ? 'page' : undefined}
              >
                {item.label}
                {item.page === 'notifications' && unread.count ? (
                  <span className="count-badge" data-testid="unread-count">
                    {unread.count}
                    <span className="visually-hidden"> unread</span>
                  </span>
                ) : null}
              </Link>
            </li>
          ))}
        </ul>
      </div>
    </nav>
  );
}

function OrgPageView({ orgId, page }: { orgId: string; page: OrgPage }) {
  switch (page) {
    case 'overview':
      return <OverviewPage orgId={orgId} />;
    case 'runs':
      return <RunHistoryPage orgId={orgId} />;
    case 'notifications':
      return <NotificationsPage orgId={orgId} />;
    case 'settings':
      return <SettingsPage orgId={orgId} />;
  }
}

export function App() {
  const pathname = usePathname();
  const route = parseRoute(pathname);
  const { claims } = useSession();

  // An org admin's token opens one org: the console's home is that org.
  const ownOrg = claims && claims.org !== ANY_ORG ? claims.org : null;
  useEffect(() => {
    if (route.page === 'home' && ownOrg) navigate(orgPath(ownOrg), { replace: true });
  }, [route.page, ownOrg]);

  // The fleet view signs in with the ops credentials, not a bearer token.
  if (route.page === 'fleet') {
    return (
      <Frame>
        <FleetPage />
      </Frame>
    );
  }
  if (!claims) {
    return (
      <Frame>
        <SignInPage orgId={'orgId' in route ? route.orgId : null} />
      </Frame>
    );
  }
  if (route.page === 'not-found') {
    return (
      <Frame>
        <NotFoundPage />
      </Frame>
    );
  }
  if (route.page === 'home') {
    return <Frame>{ownOrg ? null : <OrgPickerPage />}</Frame>;
  }
  if (!canOpenOrg(claims, route.orgId)) {
    return (
      <Frame>
        <Alert tone="danger" title="This sign-in is for another organisation" live="alert">
          <p>
            You are signed in for <strong>{claims.org}</strong>, which cannot open{' '}
            <strong>{route.orgId}</strong>. <Link to={orgPath(claims.org)}>Open {claims.org}</Link>,
            or sign out and sign in with a token for {route.orgId}.
          </p>
        </Alert>
      </Frame>
    );
  }
  return (
    <UnreadProvider orgId={route.orgId}>
      <Frame nav={<OrgNav orgId={route.orgId} current={route.page} />}>
        <OrgPageView key={`${route.orgId}/${route.page}`} orgId={route.orgId} page={route.page} />
      </Frame>
    </UnreadProvider>
  );
}
