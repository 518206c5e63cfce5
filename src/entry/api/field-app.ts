import path from 'node:path';
import express from 'express';
import { packageRoot } from '../../infra/config/paths.js';
import { serveUplot } from './console.js';

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
  r.use(publicFiles(dir));
  return r;
}

/** A folder of public browser files, revalidated on every visit so a new version reaches phones at once. */
function publicFiles(dir: string): express.Handler {
  return express.static(dir, {
    index: 'index.html',
    fallthrough: true,
    setHeaders: (res) => res.setHeader('cache-control', 'no-cache'),
  });
}

/**
 * The customer usage portal (`/portal/`): its own pages, phone-first, public files like the
 * field app's; what they show comes from /api/portal with the customer's session.
 */
export function portalAppRouter(): express.Router {
  const r = express.Router();
  const dir = path.join(packageRoot, 'src', 'entry', 'web', 'portal');
  serveUplot(r);
  r.use(publicFiles(dir));
  return r;
}

/** What the console and the portal share (`/common/`): small browser modules, public like the pages' own. */
export function webCommonRouter(): express.Router {
  const r = express.Router();
  r.use(publicFiles(path.join(packageRoot, 'src', 'entry', 'web', 'common')));
  return r;
}
