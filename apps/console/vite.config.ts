import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the api role at /console/ (apps/api/src/console.ts): hashed assets
// under /console/assets/ are cached for a year, index.html is revalidated.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The api's Content-Security-Policy allows no inline script or style.
    assetsInlineLimit: 0,
    sourcemap: true,
    target: 'es2022',
  },
  server: {
    // `pnpm --filter @pinnacle/console dev` against an api on :3000.
    proxy: { '/api': 'http://127.0.0.1:3000' },
  },
});
