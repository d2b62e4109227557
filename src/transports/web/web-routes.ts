import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { PACKAGE_ROOT } from '../../package-root.js';

/** dist/web, whether the server runs from src/ (tests) or from dist/ (npm start). */
export const WEB_ROOT = join(PACKAGE_ROOT, 'dist', 'web');

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Switchboard</title>
<p>The web app is not built. Run <code>npm run build</code> (or <code>npm start</code>, which builds first).</p>`;

/** Serves the chat web app at `/`. */
export async function registerWebRoutes(app: FastifyInstance, root: string = WEB_ROOT): Promise<void> {
  if (!existsSync(`${root}/index.html`)) {
    app.get('/', async (_request, reply) => reply.type('text/html').send(NOT_BUILT));
    return;
  }
  await app.register(fastifyStatic, { root, prefix: '/', index: 'index.html', wildcard: false });
}
