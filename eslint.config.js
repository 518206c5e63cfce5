// ESLint for fieldgate: typescript-eslint's type-aware rules on the TypeScript sources, and the
// promise rules that matter most in a gateway where an unhandled rejection ends the process.
// Import boundaries between the layers are dependency-cruiser's (.dependency-cruiser.cjs).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'src/entry/web/**',
      'test/fixtures/**',
      'bench-out/**',
      'bin/**',
      '*.config.*',
      '*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Rows from the databases and JSON from devices are unknown until zod or a row type says otherwise.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
      'no-control-regex': 'off',
      // It asks for generic arguments in place of casts on query results: no clearer.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // The store owns the gateway's SQL and src/infra/billing billing's: a query built anywhere
    // else, or a table-writing helper imported, is an error.
    files: ['src/**/*.ts', 'adapters/**/*.ts', 'jobs/**/*.ts'],
    ignores: ['src/infra/store/**', 'src/infra/billing/**', 'src/infra/db/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'pg-copy-streams', message: 'bulk loads belong in src/infra/store.' }],
          patterns: [
            {
              group: ['**/infra/db/sql-utils.js'],
              importNames: ['insertMany', 'insertReturningId', 'selectWhereIn', 'whereIdIn', 'rowsPerStatement'],
              message: 'these build SQL for a table: call a repository in src/infra/store instead.',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.type='Identifier'][callee.name=/^(db|trx|knex)$/]",
          message: 'SQL belongs in src/infra/store (a repository function), or src/infra/billing for billing.',
        },
        {
          selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='db'][arguments.length>0]",
          message: 'SQL belongs in src/infra/store (a repository function), or src/infra/billing for billing.',
        },
        {
          selector:
            "CallExpression[callee.property.name='raw'][callee.object.type='MemberExpression'][callee.object.property.name='db']",
          message: 'raw SQL belongs in src/infra/store or src/infra/billing.',
        },
      ],
    },
  },
  {
    // Tests read answers whose shape the assertion itself checks.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
