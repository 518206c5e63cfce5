import type { Knex } from 'knex';
import type { Migration } from '../../store/migrations/index.js';

/**
 * The reference CIS that tests and the demo run against, and that the default billing mapping
 * points at. Source tables are read by the gateway; sink tables (upload staging) are written.
 * A real CIS keeps its own schema: only the mapping changes.
 */
// In dependency order: a table comes after the tables it references.
const SOURCE_TABLES = [
  'cis_routes',
  'cis_premises',
  'cis_rates',
  'cis_accounts',
  'cis_meters',
  'cis_registers',
  'cis_read_history',
  'cis_service_orders',
];
const SINK_TABLES = ['cis_upload_batch', 'cis_read_upload', 'cis_fieldwork_upload'];
export const REFERENCE_TABLES = [...SOURCE_TABLES, ...SINK_TABLES];

export function createReferenceSchema(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
  return schema
    .createTable('cis_routes', (t) => {
      t.string('route_code', 10).primary();
      t.string('description', 60).notNullable();
      t.integer('cycle_no').notNullable();
      t.date('next_read_date').notNullable();
    })
    .createTable('cis_premises', (t) => {
      t.string('premise_id', 12).primary();
      t.string('address_line', 60).notNullable();
      t.string('city', 40).notNullable();
      t.string('state', 2).notNullable();
      t.string('zip', 10).notNullable();
    })
    .createTable('cis_rates', (t) => {
      t.string('rate_code', 10).primary();
      t.string('meter_type', 1).notNullable();
      t.string('description', 60).notNullable();
      t.decimal('fixed_charge', 10, 2).notNullable();
      t.decimal('unit_charge', 10, 5).notNullable();
    })
    .createTable('cis_accounts', (t) => {
      t.string('account_no', 15).primary();
      t.string('customer_name', 60).notNullable();
      t.string('premise_id', 12).notNullable().references('cis_premises.premise_id');
      t.string('status', 1).notNullable();
      t.decimal('balance_due', 12, 2).notNullable();
      t.date('due_date');
      t.string('rate_code', 10).notNullable().references('cis_rates.rate_code');
    })
    .createTable('cis_meters', (t) => {
      t.string('meter_id', 12).primary();
      t.string('serial_no', 12).notNullable();
      t.string('meter_type', 1).notNullable();
      t.integer('dials').notNullable();
      t.decimal('multiplier', 10, 4).notNullable();
      t.string('radio_id', 10);
      t.string('account_no', 15).references('cis_accounts.account_no');
      t.string('premise_id', 12).notNullable().references('cis_premises.premise_id');
      t.string('route_code', 10).references('cis_routes.route_code');
      t.integer('route_seq');
      t.string('location_note', 60);
      t.string('status', 1).notNullable();
      t.index(['route_code', 'route_seq']);
    })
    .createTable('cis_registers', (t) => {
      t.string('meter_id', 12).notNullable().references('cis_meters.meter_id');
      t.integer('register_no').notNullable();
      t.string('uom', 8).notNullable();
      t.bigInteger('last_read_value').notNullable();
      t.date('last_read_date').notNullable();
      t.primary(['meter_id', 'register_no']);
    })
    .createTable('cis_read_history', (t) => {
      t.bigIncrements('id');
      t.string('meter_id', 12).notNullable();
      t.integer('register_no').notNullable();
      t.date('read_date').notNullable();
      t.bigInteger('read_value').notNullable();
      t.string('read_type', 1).notNullable();
      t.bigInteger('consumption').notNullable();
      t.index(['meter_id', 'register_no', 'read_date']);
    })
    .createTable('cis_service_orders', (t) => {
      t.string('order_no', 12).primary();
      t.string('account_no', 15).notNullable();
      t.string('meter_id', 12);
      t.string('order_type', 20).notNullable();
      t.string('status', 10).notNullable();
      t.datetime('created_at').notNullable();
      t.date('due_date');
      t.string('notes', 200);
    })
    .createTable('cis_upload_batch', (t) => {
      t.string('batch_id', 64).primary();
      t.string('kind', 12).notNullable();
      t.string('source', 20).notNullable();
      t.integer('row_count').notNullable();
      t.string('checksum', 64).notNullable();
      t.datetime('created_at').notNullable();
    })
    .createTable('cis_read_upload', (t) => {
      t.bigIncrements('upload_id');
      t.string('read_key', 80).notNullable().unique();
      t.string('batch_id', 64).notNullable().references('cis_upload_batch.batch_id');
      t.string('meter_id', 12).notNullable();
      t.integer('register_no').notNullable();
      t.bigInteger('read_value').notNullable();
      t.datetime('read_at').notNullable();
      t.string('read_type', 1).notNullable();
      t.string('read_source', 12).notNullable();
      t.string('reader_id', 8);
      t.string('read_method', 1);
      t.string('read_code', 2);
      t.string('skip_code', 4);
      t.string('trouble_code', 4);
      t.string('note', 40);
      t.datetime('received_at').notNullable();
    })
    .createTable('cis_fieldwork_upload', (t) => {
      t.bigIncrements('upload_id');
      t.string('completion_key', 80).notNullable().unique();
      t.string('batch_id', 64).notNullable().references('cis_upload_batch.batch_id');
      t.string('order_no', 12).notNullable();
      t.string('outcome', 20).notNullable();
      t.datetime('completed_at').notNullable();
      t.string('technician', 20);
      t.bigInteger('final_read');
      t.string('new_meter_serial', 12);
      t.bigInteger('new_meter_read');
    });
}

/** Payment arrangements: an account with an arrangement running is not cut off while it lasts. */
const arrangements: Migration = {
  name: 'cis_002_payment_arrangements',
  up: async (db) => {
    await db.schema.alterTable('cis_accounts', (t) => {
      t.date('arrangement_until');
    });
  },
  down: async (db) => {
    await db.schema.alterTable('cis_accounts', (t) => {
      t.dropColumn('arrangement_until');
    });
  },
};

/**
 * AMI sources name meters by radio id or serial as well as by meter id; an import looks each
 * file's meters up by these, so they are indexed (a real CIS's mapped columns want the same).
 */
const meterNames: Migration = {
  name: 'cis_003_meter_name_indexes',
  up: async (db) => {
    await db.schema.alterTable('cis_meters', (t) => {
      t.index(['radio_id'], 'cis_meters_radio_id_index');
      t.index(['serial_no'], 'cis_meters_serial_no_index');
    });
  },
  down: async (db) => {
    await db.schema.alterTable('cis_meters', (t) => {
      t.dropIndex(['radio_id'], 'cis_meters_radio_id_index');
      t.dropIndex(['serial_no'], 'cis_meters_serial_no_index');
    });
  },
};

/**
 * File mode (billing.mode "files"): the import files written for each upload batch, and the CIS's
 * rejection of one, kept beside the batches in the mirror fieldgate keeps of the CIS.
 */
const fileExports: Migration = {
  name: 'cis_004_file_exports',
  up: async (db) => {
    await db.schema.createTable('cis_file_exports', (t) => {
      t.string('batch_id', 64).primary();
      t.string('kind', 12).notNullable();
      t.string('file', 255).notNullable();
      t.string('sha256', 64).notNullable();
      t.integer('row_count').notNullable();
      t.datetime('written_at').notNullable();
      t.datetime('rejected_at');
    });
  },
  down: async (db) => {
    await db.schema.dropTableIfExists('cis_file_exports');
  },
};

export const REFERENCE_MIGRATIONS: readonly Migration[] = [
  {
    name: 'cis_001_reference_schema',
    up: async (db) => {
      await createReferenceSchema(db.schema);
    },
    down: async (db) => {
      for (const table of [...REFERENCE_TABLES].reverse()) await db.schema.dropTableIfExists(table);
    },
  },
  arrangements,
  meterNames,
  fileExports,
];
