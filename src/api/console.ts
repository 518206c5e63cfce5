import { createRequire } from 'node:module';
import path from 'node:path';
import express from 'express';
import { packageRoot } from '../config/paths.js';

/**
 * The web console's files, served from the project (no CDN: it works on a LAN with no internet).
 * Pages are static; every figure on them comes from /api with the CSR's token. uPlot is served
 * from its npm package.
 */
export function consoleRouter(): express.Router {
  const r = express.Router();
  const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  r.use((_req, res, next) => {
    res.setHeader('content-security-policy', "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; frame-ancestors 'none'");
    res.setHeader('x-content-type-options', 'nosniff');
    next();
  });
  r.get('/', (_req, res) => res.redirect('usage.html'));
  r.get('/vendor/uPlot.esm.js', (_req, res) => res.sendFile(path.join(uplot, 'dist', 'uPlot.esm.js')));
  r.get('/vendor/uPlot.min.css', (_req, res) => res.sendFile(path.join(uplot, 'dist', 'uPlot.min.css')));
  r.use(express.static(path.join(packageRoot, 'src', 'web', 'console'), { index: false, fallthrough: true }));
  return r;
}
