import adapter from '@sveltejs/adapter-static';
import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

/** The Filo server (API, readiness probes and Socket.io) that `vite dev` forwards to. */
const server = 'http://localhost:3310';

export default defineConfig({
  plugins: [
    tailwindcss(),
    sveltekit({
      // A single-page app: every route renders in the browser from index.html, served by the Filo server.
      adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html' }),
    }),
  ],
  server: {
    proxy: {
      '/api': server,
      '/healthz': server,
      '/readyz': server,
      '/socket.io': { target: server, ws: true },
    },
  },
});
