import { createRequire } from 'node:module';
import path from 'node:path';
import express from 'express';
import type { Knex } from 'knex';
import { packageRoot } from '../../infra/config/paths.js';
import { AppError } from '../../errors.js';
import { principalOf, roleAllowed } from './auth.js';

/**
 * The web console's files, served from the project (no CDN: it works on a LAN with no internet).
 * Pages are static; every figure on them comes from /api with the session cookie. A page is
 * served only to a logged-in CSR or admin: anyone else is sent to the login page, or told
 * plainly that their role cannot use the console. uPlot is served from its npm package.
 */
const PUBLIC = new Set(['/login.html', '/console.css', '/login.js', '/favicon.svg']);
export const CONSOLE_ROLES = ['csr'] as const;

/** uPlot from its npm package at vendor/ (the console's and the portal's charts; no CDN). */
export function serveUplot(r: express.Router): void {
  const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  r.get('/vendor/uPlot.esm.js', (_req, res) => res.sendFile(path.join(uplot, 'dist', 'uPlot.esm.js')));
  r.get('/vendor/uPlot.min.css', (_req, res) => res.sendFile(path.join(uplot, 'dist', 'uPlot.min.css')));
}

export function consoleRouter(db: Knex, clock: () => Date): express.Router {
  const r = express.Router();
  const dir = path.join(packageRoot, 'src', 'entry', 'web', 'console');
  r.get('/', (_req, res) => res.redirect('routes.html'));
  r.use(async (req, res, next) => {
    // Decided on the path as the file server will read it: `/routes%2ehtml` is routes.html
    // (security probe: the encoded dot served a console page without a login).
    let file: string;
    try {
      file = decodeURIComponent(req.path);
    } catch {
      return res.status(400).type('text/plain').send('malformed path');
    }
    if (!/\.html?$/i.test(file) || PUBLIC.has(file)) return next();
    const who = await principalOf(db, req, clock());
    if (who instanceof AppError) return res.redirect(`login.html?next=${encodeURIComponent(req.url.slice(1))}`);
    if (!roleAllowed(who.role, [...CONSOLE_ROLES])) return res.status(403).sendFile(path.join(dir, 'forbidden.html'));
    res.setHeader('cache-control', 'no-store');
    next();
  });
  serveUplot(r);
  r.use(express.static(dir, { index: false, fallthrough: true }));
  return r;
}
