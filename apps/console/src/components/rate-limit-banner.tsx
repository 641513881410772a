import { useSession } from '../auth/session.js';
import { waitText } from '../lib/format.js';
import { Alert } from './ui.js';

/**
 * Shown on every page while the API refuses this sign-in's requests for
 * their rate (429, `request_rate`): what happened and when it passes. Gone
 * by itself once the wait is over.
 */
export function RateLimitBanner() {
  const { rateLimitedUntil } = useSession();
  if (rateLimitedUntil === null) return null;
  const seconds = Math.max(1, Math.ceil((rateLimitedUntil - Date.now()) / 1000));
  return (
    <div className="rate-limit-banner" data-testid="rate-limit-banner">
      <Alert tone="warning" live="alert" title="Too many requests">
        <p>
          The service is receiving too many requests from this sign-in and is holding them back.
          Pages and actions work again in about {waitText(seconds)}; nothing you entered is lost.
        </p>
      </Alert>
    </div>
  );
}
