/**
 * The layers of fieldgate, enforced (npm run lint; docs/architecture.md draws them):
 *   src/entry   entry points: HTTP API, web console, CLI, the gateway's composition
 *   src/flows   use cases: dock, field, readings, routes, ami, work orders, exceptions, ...
 *   src/core    the pure domain: no I/O, no clock, no other layer
 *   src/infra   store, billing, db, config, log, security, io, fixed-width
 *   adapters/   one folder per outside system; each imports only the adapter contract
 *               (adapters/adapter.ts, adapters/ami-records.ts), the domain and the errors
 *   jobs/       the scheduled jobs, registered by the gateway
 * Dependencies point down: entry → flows → core, and flows → infra → core. Nothing imports
 * upwards, and no two modules need each other (no cycles).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'two modules that need each other belong together, or one of them needs a port',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'src/core is the domain: it imports only itself, the error catalog and pure libraries (zod, luxon)',
      from: { path: '^src/core/' },
      to: { pathNot: ['^src/core/', '^src/errors\\.ts$', '(^|/)node_modules/(zod|luxon)/', '^(zod|luxon)$'] },
    },
    {
      name: 'infra-does-not-reach-up',
      severity: 'error',
      comment: 'infrastructure (store, billing, config, …) knows nothing of the flows, entry points, adapters or jobs',
      from: { path: '^src/infra/' },
      to: { path: ['^src/flows/', '^src/entry/', '^adapters/', '^jobs/'] },
    },
    {
      name: 'flows-do-not-reach-entry',
      severity: 'error',
      comment: 'use cases do not know how they are called (HTTP, CLI, the gateway process)',
      from: { path: '^(src/flows|jobs)/' },
      to: { path: '^src/entry/' },
    },
    {
      name: 'adapters-stand-alone',
      severity: 'error',
      comment:
        'an adapter imports the adapter contract, the domain and the errors: never another adapter, billing, the store or a flow',
      from: { path: '^adapters/([^/]+)/' },
      to: {
        path: '^(src|adapters|jobs)/',
        pathNot: [
          '^adapters/$1/',
          '^adapters/adapter\\.ts$',
          '^adapters/ami-records\\.ts$',
          '^src/core/',
          '^src/errors\\.ts$',
        ],
      },
    },
    {
      name: 'billing-only-through-its-module',
      severity: 'error',
      comment: "src/infra/billing owns billing's SQL; adapters never talk to billing",
      from: { path: '^adapters/' },
      to: { path: '^src/infra/billing/' },
    },
    {
      name: 'knex-only-in-data-access',
      severity: 'error',
      comment:
        "SQL is built in src/infra/store (the gateway's), src/infra/billing (billing's) and src/infra/db (connections); others may name the Knex type only",
      from: { pathNot: ['^src/infra/(store|billing|db)/', '^test/'] },
      to: { path: '(^|/)node_modules/knex/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/', '^src/entry/web/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
    moduleSystems: ['es6'],
  },
};
