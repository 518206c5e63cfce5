import express from 'express';
import { z } from 'zod';
import { REPORTS, toCsv, type ReportDeps } from '../../flows/reports/reports.js';
import type { ApiRegistry } from './openapi.js';

/** Reports as JSON or CSV: `/api/reports/<name>?format=csv&…` with each report's own parameters. */
export function reportRouter(registry: ApiRegistry, deps: ReportDeps): express.Router {
  const r = express.Router();
  registry.route(
    r,
    {
      method: 'get',
      path: '/reports',
      summary: 'The reports there are, and their parameters',
      tag: 'reports',
      roles: ['csr'],
    },
    () => ({
      items: REPORTS.map((rep) => ({ name: rep.name, title: rep.title, params: Object.keys(rep.params.shape) })),
    }),
  );
  for (const report of REPORTS) {
    registry.route(
      r,
      {
        method: 'get',
        path: `/reports/${report.name}`,
        summary: report.title,
        tag: 'reports',
        roles: ['csr'],
        produces: 'application/json, text/csv',
        query: report.params.extend({ format: z.enum(['json', 'csv']).default('json') }),
      },
      async ({ query }, _req, res) => {
        const { format, ...params } = query as { format: 'json' | 'csv' } & Record<string, unknown>;
        const table = await report.run(deps, params);
        if (format === 'json') return { report: report.name, title: report.title, params, ...table };
        res.setHeader('content-type', 'text/csv; charset=utf-8');
        res.setHeader('content-disposition', `attachment; filename="${report.name}.csv"`);
        res.send(toCsv(table));
      },
    );
  }
  return r;
}
