import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from 'react';
import { unwrap } from '../api/client.js';
import { useSession } from '../auth/session.js';
import { useInterval } from '../lib/use-resource.js';

/** How often the header's unread count is refreshed while the tab is visible. */
const REFRESH_MS = 30_000;

interface Unread {
  count: number | null;
  refresh(): Promise<void>;
  /** Set from an answer already at hand (the inbox page's own list). */
  set(count: number): void;
}

const UnreadContext = createContext<Unread>({
  count: null,
  refresh: async () => {},
  set: () => {},
});

/** The org's unread notification count, shown in the header on every page. */
export function UnreadProvider({ orgId, children }: { orgId: string; children: ReactNode }) {
  const { api } = useSession();
  const [count, setCount] = useState<number | null>(null);
  const refresh = useCallback(async () => {
    try {
      const page = await unwrap(
        api.GET('/api/v1/orgs/{orgId}/notifications', {
          params: { path: { orgId }, query: { limit: 1, unread: 'true' } },
        }),
      );
      setCount(page.unreadCount);
    } catch {
      // The badge keeps its last value; the pages show errors of their own.
    }
  }, [api, orgId]);
  useEffect(() => {
    setCount(null);
    void refresh();
  }, [refresh]);
  useInterval(() => void refresh(), REFRESH_MS);
  return (
    <UnreadContext.Provider value={{ count, refresh, set: setCount }}>
      {children}
    </UnreadContext.Provider>
  );
}

export function useUnread(): Unread {
  return useContext(UnreadContext);
}
