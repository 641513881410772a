import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { SessionProvider } from './auth/session.js';
import { captureFragmentToken } from './auth/storage.js';
import './styles/tokens.css';
import './styles/base.css';
import './styles/components.css';

// Before anything renders: a sign-in link's #token=... goes to session storage
// and leaves the address bar (and so the history, bookmarks and screenshots).
captureFragmentToken();

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <SessionProvider>
        <App />
      </SessionProvider>
    </StrictMode>,
  );
}
