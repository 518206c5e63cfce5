import express from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../../flows/context.js';
import { ReaderWork } from '../../flows/field/reader-work.js';
import { appBatch, photoQuery, routeCode } from '../../flows/field/reader-schemas.js';
import { NotFoundError } from '../../errors.js';
import { getAttachment } from '../../infra/store/attachments-repo.js';
import type { ApiRegistry } from './openapi.js';
import { answerPhoto, uploadedBytes } from './photo-upload.js';

/**
 * Meter reading from the field app (`/api/reader/…`, role reader): the routes a CSR assigned to
 * the reader, their download and its confirmation, readings in batches (stored once however often
 * sent, answered after the commit) and register photos. A reader reaches only their own phone's
 * routes: the device is their name's, never a parameter. CSRs open the photos (`/api/attachments/:id`).
 */
export function readerRouter(ctx: GatewayContext, registry: ApiRegistry, changed: () => void): express.Router {
  const r = express.Router();
  const work = new ReaderWork(ctx);
  const me = (res: express.Response) => res.locals.principal!.name;
  const code = z.object({ code: routeCode });

  registry.route(
    r,
    {
      method: 'get',
      path: '/reader/routes',
      summary: "The reader's routes: assigned and not downloaded yet, and held on their phone",
      tag: 'meter reading',
      roles: ['reader'],
    },
    (_i, _req, res) => work.routes(me(res)),
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/reader/routes/:code',
      summary: 'Download an assigned route: its meters in reading order, and the skip and trouble codes',
      tag: 'meter reading',
      roles: ['reader'],
      params: code,
    },
    ({ params }, _req, res) => work.download(me(res), params.code),
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/reader/routes/:code/confirm',
      summary: 'The phone holds the downloaded route (by its hash): the route is loaded on it',
      tag: 'meter reading',
      roles: ['reader'],
      params: code,
      body: z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the hash of the download') }),
    },
    async ({ params, body }, _req, res) => {
      const result = await work.confirm(me(res), params.code, body.sha256);
      changed();
      return result;
    },
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/reader/readings',
      summary: 'A batch of readings: stored once per batch id and content, answered after the commit',
      tag: 'meter reading',
      roles: ['reader'],
      body: appBatch(ctx.config.fieldApp.maxBatchReadings),
    },
    async ({ body }, _req, res) => {
      const summary = await work.upload(me(res), body);
      changed();
      res
        .status(summary.duplicateOf ? 200 : 201)
        .json({ ...summary, status: summary.duplicateOf ? 'duplicate' : 'stored' });
    },
  );

  registry.route(
    r,
    {
      method: 'put',
      path: '/reader/photos',
      summary: 'A photo of a register on a route the reader holds (JPEG, PNG or WebP; kept once)',
      tag: 'meter reading',
      roles: ['reader'],
      query: photoQuery,
      rawBody: 'image/jpeg',
    },
    ({ query }, req, res) => answerPhoto(res, work.photo(me(res), query, uploadedBytes(req))),
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/attachments/:id',
      summary: 'A photo from the field (a register, a work order)',
      tag: 'exceptions',
      roles: ['csr'],
      params: z.object({ id: z.coerce.number().int().min(1) }),
      produces: 'image/jpeg',
    },
    async ({ params }, _req, res) => {
      const photo = await getAttachment(ctx.store.db, params.id);
      if (!photo) throw new NotFoundError('attachment', params.id);
      res.setHeader('content-type', photo.content_type);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('cache-control', 'private, max-age=86400, immutable');
      res.setHeader('content-disposition', `inline; filename="photo-${photo.id}"`);
      res.end(photo.content);
    },
  );
  return r;
}
