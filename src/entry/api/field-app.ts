import { createRequire } from 'node:module';
import path from 'node:path';
import express from 'express';
import { packageRoot } from '../../infra/config/paths.js';

/**
 * The field app (`/field/`): an installable web app for meter readers and technicians, served
 * from the project like the console. Its files are public (it must open offline, before any
 * login); everything it shows comes from /api with the user's session. The service worker is
 * never cached by HTTP, so a new version of the app reaches phones at their next visit.
 */
export function fieldAppRouter(): express.Router {
  const r = express.Router();
  const dir = path.join(packageRoot, 'src', 'entry', 'web', 'field');
  r.get('/sw.js', (_req, res) => {
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('service-worker-allowed', '/field/');
    res.sendFile(path.join(dir, 'sw.js'));
  });
  r.get('/manifest.webmanifest', (_req, res) => {
    res.type('application/manifest+json');
    res.sendFile(path.join(dir, 'manifest.webmanifest'));
  });
  r.use(
    express.static(dir, {
      index: 'index.html',
      fallthrough: true,
      setHeaders: (res) => res.setHeader('cache-control', 'no-cache'),
    }),
  );
  return r;
}

/**
 * The customer usage portal (`/portal/`): its own pages, phone-first, public files like the
 * field app's; what they show comes from /api/portal with the customer's session.
 */
export function portalAppRouter(): express.Router {
  const r = express.Router();
  const dir = path.join(packageRoot, 'src', 'entry', 'web', 'portal');
  const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  r.get('/vendor/uPlot.esm.js', (_req, res) => res.sendFile(path.join(uplot, 'dist', 'uPlot.esm.js')));
  r.get('/vendor/uPlot.min.css', (_req, res) => res.sendFile(path.join(uplot, 'dist', 'uPlot.min.css')));
  r.use(
    express.static(dir, {
      index: 'index.html',
      fallthrough: true,
      setHeaders: (res) => res.setHeader('cache-control', 'no-cache'),
    }),
  );
  return r;
}
