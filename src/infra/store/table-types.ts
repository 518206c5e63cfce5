import type { Knex } from 'knex';

/**
 * Renders `tables.ts`, the row type of every store table, from the schema the migrations build
 * (read from SQLite, whose declared column types keep what the migration asked for). Generated, so
 * the types cannot drift from the tables: a test compares the file with a fresh rendering.
 */
export async function renderTableTypes(db: Knex): Promise<string> {
  const tables = (await db.raw(
    "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like " +
      "'fieldgate_migrations%' order by name",
  )) as { name: string }[];
  const rows: string[] = [];
  const imports = new Map<string, Set<string>>();
  const entries: string[] = [];
  for (const { name } of tables) {
    const columns = (await db.raw(`pragma table_info(${quote(name)})`)) as ColumnInfo[];
    const type = rowTypeName(name);
    const insert = type.replace(/Row$/, 'Insert');
    const field = (c: ColumnInfo, optional: boolean) =>
      `  ${c.name}${optional ? '?' : ''}: ${tsType(name, c, imports)};`;
    rows.push(
      `/** A row of \`${name}\`. */\nexport interface ${type} {\n${columns.map((c) => field(c, false)).join('\n')}\n}`,
      `/** A new row of \`${name}\`: what the database fills in (an id, a default, a null) may be left out. ` +
        `*/\nexport interface ${insert} {\n${columns.map((c) => field(c, !requiredOnInsert(c))).join('\n')}\n}`,
    );
    entries.push(`    ${name}: Table<${type}, ${insert}>;`);
  }
  return [
    '// Generated from the store migrations by `npm run gen:tables` (src/infra/store/table-types.ts): do not edit.',
    "import type { Knex } from 'knex';",
    "import 'knex/types/tables.js';",
    ...[...imports].sort().map(([from, names]) => `import type { ${[...names].sort().join(', ')} } from '${from}';`),
    '',
    '/** A boolean column: SQLite answers 0 or 1, PostgreSQL true or false. */',
    'export type SqlBoolean = boolean | 0 | 1;',
    '',
    '/** What knex reads, inserts and updates (an update may set a column from SQL: attempts + 1). */',
    'type Table<Row, Insert> = Knex.CompositeTableType<Row, Insert, { [K in keyof Insert]?: Insert[K] | Knex.Raw }>;',
    '',
    rows.join('\n\n'),
    '',
    "declare module 'knex/types/tables.js' {",
    '  interface Tables {',
    ...entries,
    '  }',
    '}',
    '',
  ].join('\n');
}

interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}

/** A column an insert must give: not null, no default, and not an integer key the database numbers. */
function requiredOnInsert(c: ColumnInfo): boolean {
  const numbered = c.pk === 1 && /^integer$/i.test(c.type);
  return c.notnull === 1 && c.dflt_value === null && !numbered;
}

/** Text columns that hold one of the domain's closed sets, typed as that set. */
const NARROWED: Record<string, { type: string; from: string }> = {
  'api_tokens.role': { type: 'Role', from: '../../core/roles.js' },
  'users.role': { type: 'Role', from: '../../core/roles.js' },
  'dock_commands.command': { type: 'DockCommandKind', from: '../../core/dock-command.js' },
  'dock_commands.status': { type: 'DockCommandStatus', from: '../../core/dock-command.js' },
  'routes.state': { type: 'RouteState', from: '../../core/route-state.js' },
  'work_orders.state': { type: 'WorkOrderState', from: '../../core/work-orders.js' },
  'work_orders.type': { type: 'WorkOrderType', from: '../../core/work-orders.js' },
};

function tsType(table: string, c: ColumnInfo, imports: Map<string, Set<string>>): string {
  const declared = c.type.toLowerCase();
  const narrowed = NARROWED[`${table}.${c.name}`];
  if (narrowed) imports.set(narrowed.from, (imports.get(narrowed.from) ?? new Set()).add(narrowed.type));
  const base = narrowed
    ? narrowed.type
    : /^(integer|int|bigint|smallint|float|double|real|decimal|numeric)/.test(declared)
      ? 'number'
      : declared.startsWith('boolean')
        ? 'SqlBoolean'
        : declared.startsWith('blob')
          ? 'Buffer'
          : 'string';
  return c.notnull || c.pk ? base : `${base} | null`;
}

/** `work_order_events` → `WorkOrderEventsRow`. */
function rowTypeName(table: string): string {
  return `${table
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('')}Row`;
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
