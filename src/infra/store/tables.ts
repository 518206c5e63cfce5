// Generated from the store migrations by `npm run gen:tables` (src/infra/store/table-types.ts): do not edit.
import type { Knex } from 'knex';
import 'knex/types/tables.js';
import type { DockCommandKind, DockCommandStatus } from '../../core/dock-command.js';
import type { Role } from '../../core/roles.js';
import type { RouteState } from '../../core/route-state.js';
import type { WorkOrderState, WorkOrderType } from '../../core/work-orders.js';

/** A boolean column: SQLite answers 0 or 1, PostgreSQL true or false. */
export type SqlBoolean = boolean | 0 | 1;

/** What knex reads, inserts and updates (an update may set a column from SQL: attempts + 1). */
type Table<Row, Insert> = Knex.CompositeTableType<Row, Insert, { [K in keyof Insert]?: Insert[K] | Knex.Raw }>;

/** A row of `alert_deliveries`. */
export interface AlertDeliveriesRow {
  id: number;
  alert_id: number;
  user_id: number;
  channel: string;
  status: string;
  attempts: number;
  error: string | null;
  at: string;
}

/** A new row of `alert_deliveries`: what the database fills in (an id, a default, a null) may be left out. */
export interface AlertDeliveriesInsert {
  id?: number;
  alert_id: number;
  user_id: number;
  channel: string;
  status: string;
  attempts: number;
  error?: string | null;
  at: string;
}

/** A row of `alert_preferences`. */
export interface AlertPreferencesRow {
  user_id: number;
  email: string | null;
  phone: string | null;
  by_email: SqlBoolean;
  by_sms: SqlBoolean;
  updated_at: string;
}

/** A new row of `alert_preferences`: what the database fills in (an id, a default, a null) may be left out. */
export interface AlertPreferencesInsert {
  user_id?: number;
  email?: string | null;
  phone?: string | null;
  by_email: SqlBoolean;
  by_sms: SqlBoolean;
  updated_at: string;
}

/** A row of `ami_claims`. */
export interface AmiClaimsRow {
  meter_ref: string;
  meter_id: string;
  claimed_by: string;
  claimed_at: string;
}

/** A new row of `ami_claims`: what the database fills in (an id, a default, a null) may be left out. */
export interface AmiClaimsInsert {
  meter_ref?: string;
  meter_id: string;
  claimed_by: string;
  claimed_at: string;
}

/** A row of `ami_cursors`. */
export interface AmiCursorsRow {
  name: string;
  cursor: string | null;
  updated_at: string;
}

/** A new row of `ami_cursors`: what the database fills in (an id, a default, a null) may be left out. */
export interface AmiCursorsInsert {
  name?: string;
  cursor?: string | null;
  updated_at: string;
}

/** A row of `ami_daily_reads`. */
export interface AmiDailyReadsRow {
  meter_id: string;
  channel: number;
  read_date: string;
  value: number;
  consumption: number;
  read_type: string;
  flags: string | null;
  intervals: number;
  estimated: number;
  derived_at: string;
}

/** A new row of `ami_daily_reads`: what the database fills in (an id, a default, a null) may be left out. */
export interface AmiDailyReadsInsert {
  meter_id: string;
  channel: number;
  read_date: string;
  value: number;
  consumption: number;
  read_type: string;
  flags?: string | null;
  intervals: number;
  estimated: number;
  derived_at: string;
}

/** A row of `ami_intervals`. */
export interface AmiIntervalsRow {
  meter_id: string;
  channel: number;
  start_at: number;
  seconds: number;
  value: number;
  quality: string;
  flags: string | null;
  batch_id: number;
}

/** A new row of `ami_intervals`: what the database fills in (an id, a default, a null) may be left out. */
export interface AmiIntervalsInsert {
  meter_id: string;
  channel: number;
  start_at: number;
  seconds: number;
  value: number;
  quality: string;
  flags?: string | null;
  batch_id: number;
}

/** A row of `ami_meters_heard`. */
export interface AmiMetersHeardRow {
  meter_id: string;
  source: string;
  first_at: number;
  last_at: number;
  silent_noted_at: string | null;
}

/** A new row of `ami_meters_heard`: what the database fills in (an id, a default, a null) may be left out. */
export interface AmiMetersHeardInsert {
  meter_id?: string;
  source: string;
  first_at: number;
  last_at: number;
  silent_noted_at?: string | null;
}

/** A row of `ami_register_reads`. */
export interface AmiRegisterReadsRow {
  meter_id: string;
  channel: number;
  read_at: number;
  value: number;
  source: string;
  batch_id: number | null;
}

/** A new row of `ami_register_reads`: what the database fills in (an id, a default, a null) may be left out. */
export interface AmiRegisterReadsInsert {
  meter_id: string;
  channel: number;
  read_at: number;
  value: number;
  source: string;
  batch_id?: number | null;
}

/** A row of `ami_suspense`. */
export interface AmiSuspenseRow {
  meter_ref: string;
  channel: number;
  kind: string;
  at: number;
  seconds: number;
  value: number;
  quality: string;
  flags: string | null;
  unit: string | null;
  constant: number;
  stream: string | null;
  alt_refs: string | null;
  source: string;
  batch_id: number | null;
  run_id: string | null;
  parked_at: string;
}

/** A new row of `ami_suspense`: what the database fills in (an id, a default, a null) may be left out. */
export interface AmiSuspenseInsert {
  meter_ref: string;
  channel: number;
  kind: string;
  at: number;
  seconds: number;
  value: number;
  quality: string;
  flags?: string | null;
  unit?: string | null;
  constant: number;
  stream?: string | null;
  alt_refs?: string | null;
  source: string;
  batch_id?: number | null;
  run_id?: string | null;
  parked_at: string;
}

/** A row of `api_tokens`. */
export interface ApiTokensRow {
  id: number;
  name: string;
  role: Role;
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A new row of `api_tokens`: what the database fills in (an id, a default, a null) may be left out. */
export interface ApiTokensInsert {
  id?: number;
  name: string;
  role: Role;
  token_hash: string;
  created_at: string;
  last_used_at?: string | null;
  revoked_at?: string | null;
}

/** A row of `attachments`. */
export interface AttachmentsRow {
  id: number;
  owner_key: string;
  sha256: string;
  content_type: string;
  bytes: number;
  content: Buffer;
  route_id: number | null;
  meter_id: string | null;
  register: number | null;
  work_order_id: number | null;
  uploaded_by: string;
  created_at: string;
}

/** A new row of `attachments`: what the database fills in (an id, a default, a null) may be left out. */
export interface AttachmentsInsert {
  id?: number;
  owner_key: string;
  sha256: string;
  content_type: string;
  bytes: number;
  content: Buffer;
  route_id?: number | null;
  meter_id?: string | null;
  register?: number | null;
  work_order_id?: number | null;
  uploaded_by: string;
  created_at: string;
}

/** A row of `audit_log`. */
export interface AuditLogRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: string | null;
}

/** A new row of `audit_log`: what the database fills in (an id, a default, a null) may be left out. */
export interface AuditLogInsert {
  id?: number;
  at: string;
  actor: string;
  action: string;
  target?: string | null;
  detail?: string | null;
}

/** A row of `change_counters`. */
export interface ChangeCountersRow {
  name: string;
  version: number;
}

/** A new row of `change_counters`: what the database fills in (an id, a default, a null) may be left out. */
export interface ChangeCountersInsert {
  name?: string;
  version: number;
}

/** A row of `customer_accounts`. */
export interface CustomerAccountsRow {
  user_id: number;
  account_no: string;
  linked_at: string;
}

/** A new row of `customer_accounts`: what the database fills in (an id, a default, a null) may be left out. */
export interface CustomerAccountsInsert {
  user_id?: number;
  account_no: string;
  linked_at: string;
}

/** A row of `cycle_reviews`. */
export interface CycleReviewsRow {
  id: number;
  cycle: string;
  reviewed_by: string;
  note: string | null;
  accounts: number;
  estimated_total: number;
  reviewed_at: string;
}

/** A new row of `cycle_reviews`: what the database fills in (an id, a default, a null) may be left out. */
export interface CycleReviewsInsert {
  id?: number;
  cycle: string;
  reviewed_by: string;
  note?: string | null;
  accounts: number;
  estimated_total: number;
  reviewed_at: string;
}

/** A row of `devices`. */
export interface DevicesRow {
  device_id: string;
  model: string | null;
  firmware: string | null;
  approved: SqlBoolean;
  battery: number | null;
  last_seen_at: string | null;
  created_at: string;
  online: SqlBoolean | null;
  app_version: string | null;
}

/** A new row of `devices`: what the database fills in (an id, a default, a null) may be left out. */
export interface DevicesInsert {
  device_id?: string;
  model?: string | null;
  firmware?: string | null;
  approved?: SqlBoolean;
  battery?: number | null;
  last_seen_at?: string | null;
  created_at: string;
  online?: SqlBoolean | null;
  app_version?: string | null;
}

/** A row of `disconnect_notices`. */
export interface DisconnectNoticesRow {
  id: number;
  account_no: string;
  customer_name: string | null;
  address: string | null;
  balance: number;
  due_date: string | null;
  notice_date: string;
  shut_off_date: string;
  status: string;
  warning_order_no: string | null;
  cut_order_no: string | null;
  reconnect_order_no: string | null;
  created_at: string;
  updated_at: string;
}

/** A new row of `disconnect_notices`: what the database fills in (an id, a default, a null) may be left out. */
export interface DisconnectNoticesInsert {
  id?: number;
  account_no: string;
  customer_name?: string | null;
  address?: string | null;
  balance: number;
  due_date?: string | null;
  notice_date: string;
  shut_off_date: string;
  status: string;
  warning_order_no?: string | null;
  cut_order_no?: string | null;
  reconnect_order_no?: string | null;
  created_at: string;
  updated_at: string;
}

/** A row of `dock_commands`. */
export interface DockCommandsRow {
  id: number;
  device_id: string;
  route_code: string;
  command: DockCommandKind;
  status: DockCommandStatus;
  actor: string;
  reason: string | null;
  detail: string | null;
  file_sha256: string | null;
  created_at: string;
  done_at: string | null;
}

/** A new row of `dock_commands`: what the database fills in (an id, a default, a null) may be left out. */
export interface DockCommandsInsert {
  id?: number;
  device_id: string;
  route_code: string;
  command: DockCommandKind;
  status: DockCommandStatus;
  actor: string;
  reason?: string | null;
  detail?: string | null;
  file_sha256?: string | null;
  created_at: string;
  done_at?: string | null;
}

/** A row of `espi_subscriptions`. */
export interface EspiSubscriptionsRow {
  id: number;
  client_id: string;
  user_id: number;
  account_no: string;
  scope: string;
  created_at: string;
  revoked_at: string | null;
}

/** A new row of `espi_subscriptions`: what the database fills in (an id, a default, a null) may be left out. */
export interface EspiSubscriptionsInsert {
  id?: number;
  client_id: string;
  user_id: number;
  account_no: string;
  scope: string;
  created_at: string;
  revoked_at?: string | null;
}

/** A row of `exceptions`. */
export interface ExceptionsRow {
  id: number;
  source: string;
  batch_id: number | null;
  route_id: number | null;
  read_key: string | null;
  line_no: number | null;
  meter_id: string | null;
  kind: string;
  severity: string;
  field: string | null;
  value: string | null;
  message: string;
  raw: string | null;
  status: string;
  resolution: string | null;
  resolved_by: string | null;
  resolved_at: string | null;
  created_at: string;
  finding_key: string | null;
}

/** A new row of `exceptions`: what the database fills in (an id, a default, a null) may be left out. */
export interface ExceptionsInsert {
  id?: number;
  source: string;
  batch_id?: number | null;
  route_id?: number | null;
  read_key?: string | null;
  line_no?: number | null;
  meter_id?: string | null;
  kind: string;
  severity: string;
  field?: string | null;
  value?: string | null;
  message: string;
  raw?: string | null;
  status?: string;
  resolution?: string | null;
  resolved_by?: string | null;
  resolved_at?: string | null;
  created_at: string;
  finding_key?: string | null;
}

/** A row of `import_batches`. */
export interface ImportBatchesRow {
  id: number;
  source: string;
  idempotency_key: string;
  file_name: string | null;
  sha256: string;
  route_id: number | null;
  layout: string | null;
  actor: string | null;
  lines: number;
  stored: number;
  rejected: number;
  held: number;
  skipped: number;
  created_at: string;
  state: string;
}

/** A new row of `import_batches`: what the database fills in (an id, a default, a null) may be left out. */
export interface ImportBatchesInsert {
  id?: number;
  source: string;
  idempotency_key: string;
  file_name?: string | null;
  sha256: string;
  route_id?: number | null;
  layout?: string | null;
  actor?: string | null;
  lines: number;
  stored: number;
  rejected: number;
  held: number;
  skipped: number;
  created_at: string;
  state?: string;
}

/** A row of `job_leases`. */
export interface JobLeasesRow {
  job: string;
  holder: string;
  run_id: number | null;
  acquired_at: string;
  expires_at: string;
}

/** A new row of `job_leases`: what the database fills in (an id, a default, a null) may be left out. */
export interface JobLeasesInsert {
  job?: string;
  holder: string;
  run_id?: number | null;
  acquired_at: string;
  expires_at: string;
}

/** A row of `job_runs`. */
export interface JobRunsRow {
  id: number;
  job: string;
  trigger: string;
  holder: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  counts: string | null;
  error: string | null;
}

/** A new row of `job_runs`: what the database fills in (an id, a default, a null) may be left out. */
export interface JobRunsInsert {
  id?: number;
  job: string;
  trigger: string;
  holder: string;
  status: string;
  started_at: string;
  finished_at?: string | null;
  counts?: string | null;
  error?: string | null;
}

/** A row of `login_failures`. */
export interface LoginFailuresRow {
  id: number;
  username: string;
  ip: string;
  at: string;
}

/** A new row of `login_failures`: what the database fills in (an id, a default, a null) may be left out. */
export interface LoginFailuresInsert {
  id?: number;
  username: string;
  ip: string;
  at: string;
}

/** A row of `mqtt_accounts`. */
export interface MqttAccountsRow {
  username: string;
  role: string;
  secret_hash: string;
  created_at: string;
  revoked_at: string | null;
}

/** A new row of `mqtt_accounts`: what the database fills in (an id, a default, a null) may be left out. */
export interface MqttAccountsInsert {
  username?: string;
  role: string;
  secret_hash: string;
  created_at: string;
  revoked_at?: string | null;
}

/** A row of `oauth_clients`. */
export interface OauthClientsRow {
  id: number;
  client_id: string;
  secret_hash: string;
  name: string;
  redirect_uris: string;
  scopes: string;
  created_by: string;
  created_at: string;
  disabled_at: string | null;
}

/** A new row of `oauth_clients`: what the database fills in (an id, a default, a null) may be left out. */
export interface OauthClientsInsert {
  id?: number;
  client_id: string;
  secret_hash: string;
  name: string;
  redirect_uris: string;
  scopes: string;
  created_by: string;
  created_at: string;
  disabled_at?: string | null;
}

/** A row of `oauth_codes`. */
export interface OauthCodesRow {
  code_hash: string;
  client_id: string;
  user_id: number;
  account_no: string;
  scope: string;
  redirect_uri: string;
  code_challenge: string | null;
  code_challenge_method: string | null;
  expires_at: string;
}

/** A new row of `oauth_codes`: what the database fills in (an id, a default, a null) may be left out. */
export interface OauthCodesInsert {
  code_hash?: string;
  client_id: string;
  user_id: number;
  account_no: string;
  scope: string;
  redirect_uri: string;
  code_challenge?: string | null;
  code_challenge_method?: string | null;
  expires_at: string;
}

/** A row of `oauth_tokens`. */
export interface OauthTokensRow {
  id: number;
  access_hash: string;
  refresh_hash: string | null;
  client_id: string;
  subscription_id: number;
  scope: string;
  access_expires_at: string;
  refresh_expires_at: string | null;
  revoked_at: string | null;
}

/** A new row of `oauth_tokens`: what the database fills in (an id, a default, a null) may be left out. */
export interface OauthTokensInsert {
  id?: number;
  access_hash: string;
  refresh_hash?: string | null;
  client_id: string;
  subscription_id: number;
  scope: string;
  access_expires_at: string;
  refresh_expires_at?: string | null;
  revoked_at?: string | null;
}

/** A row of `outbox`. */
export interface OutboxRow {
  id: number;
  kind: string;
  key: string;
  payload: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  claimed_by: string | null;
  claimed_at: string | null;
}

/** A new row of `outbox`: what the database fills in (an id, a default, a null) may be left out. */
export interface OutboxInsert {
  id?: number;
  kind: string;
  key: string;
  payload: string;
  status?: string;
  attempts?: number;
  last_error?: string | null;
  created_at: string;
  claimed_by?: string | null;
  claimed_at?: string | null;
}

/** A row of `outbox_sent`. */
export interface OutboxSentRow {
  id: number;
  kind: string;
  key: string;
  ref: string | null;
  sent_at: string;
}

/** A new row of `outbox_sent`: what the database fills in (an id, a default, a null) may be left out. */
export interface OutboxSentInsert {
  id?: number;
  kind: string;
  key: string;
  ref?: string | null;
  sent_at: string;
}

/** A row of `portal_invites`. */
export interface PortalInvitesRow {
  id: number;
  account_no: string;
  code_hash: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  used_by: number | null;
}

/** A new row of `portal_invites`: what the database fills in (an id, a default, a null) may be left out. */
export interface PortalInvitesInsert {
  id?: number;
  account_no: string;
  code_hash: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at?: string | null;
  used_by?: number | null;
}

/** A row of `posted_batches`. */
export interface PostedBatchesRow {
  batch_id: string;
  kind: string;
  row_count: number;
  checksum: string;
  job_run_id: number | null;
  posted_at: string;
}

/** A new row of `posted_batches`: what the database fills in (an id, a default, a null) may be left out. */
export interface PostedBatchesInsert {
  batch_id?: string;
  kind: string;
  row_count: number;
  checksum: string;
  job_run_id?: number | null;
  posted_at: string;
}

/** A row of `readings`. */
export interface ReadingsRow {
  id: number;
  batch_id: number;
  route_id: number | null;
  line_no: number;
  sequence: number | null;
  account: string;
  meter_id: string;
  register: number;
  reading: number | null;
  read_at: string | null;
  method: string | null;
  read_code: string | null;
  skip_code: string | null;
  trouble_code: string | null;
  reader_id: string | null;
  rekeyed: SqlBoolean;
  lat: number | null;
  lon: number | null;
  note: string | null;
  consumption: number | null;
  rollover: SqlBoolean;
  status: string;
  read_key: string;
  created_at: string;
  read_type: string;
}

/** A new row of `readings`: what the database fills in (an id, a default, a null) may be left out. */
export interface ReadingsInsert {
  id?: number;
  batch_id: number;
  route_id?: number | null;
  line_no: number;
  sequence?: number | null;
  account: string;
  meter_id: string;
  register: number;
  reading?: number | null;
  read_at?: string | null;
  method?: string | null;
  read_code?: string | null;
  skip_code?: string | null;
  trouble_code?: string | null;
  reader_id?: string | null;
  rekeyed?: SqlBoolean;
  lat?: number | null;
  lon?: number | null;
  note?: string | null;
  consumption?: number | null;
  rollover?: SqlBoolean;
  status: string;
  read_key: string;
  created_at: string;
  read_type?: string;
}

/** A row of `route_events`. */
export interface RouteEventsRow {
  id: number;
  route_id: number;
  event: string;
  from_state: string | null;
  to_state: string;
  actor: string;
  device_id: string | null;
  reason: string | null;
  at: string;
}

/** A new row of `route_events`: what the database fills in (an id, a default, a null) may be left out. */
export interface RouteEventsInsert {
  id?: number;
  route_id: number;
  event: string;
  from_state?: string | null;
  to_state: string;
  actor: string;
  device_id?: string | null;
  reason?: string | null;
  at: string;
}

/** A row of `route_lines`. */
export interface RouteLinesRow {
  id: number;
  route_id: number;
  sequence: number;
  account: string;
  meter_id: string;
  register: number;
  meter_type: string;
  dials: number;
  prev_read: number;
  low_limit: number;
  high_limit: number;
  ert_id: string | null;
  expected_units: number | null;
}

/** A new row of `route_lines`: what the database fills in (an id, a default, a null) may be left out. */
export interface RouteLinesInsert {
  id?: number;
  route_id: number;
  sequence: number;
  account: string;
  meter_id: string;
  register: number;
  meter_type: string;
  dials: number;
  prev_read: number;
  low_limit: number;
  high_limit: number;
  ert_id?: string | null;
  expected_units?: number | null;
}

/** A row of `routes`. */
export interface RoutesRow {
  id: number;
  route_code: string;
  cycle: string;
  state: RouteState;
  device_id: string | null;
  records: number;
  layout: string | null;
  file_sha256: string | null;
  file_bytes: number | null;
  scheduled_read_date: string | null;
  loaded_at: string | null;
  uploaded_at: string | null;
  committed_at: string | null;
  cleared_at: string | null;
  updated_at: string;
}

/** A new row of `routes`: what the database fills in (an id, a default, a null) may be left out. */
export interface RoutesInsert {
  id?: number;
  route_code: string;
  cycle: string;
  state: RouteState;
  device_id?: string | null;
  records?: number;
  layout?: string | null;
  file_sha256?: string | null;
  file_bytes?: number | null;
  scheduled_read_date?: string | null;
  loaded_at?: string | null;
  uploaded_at?: string | null;
  committed_at?: string | null;
  cleared_at?: string | null;
  updated_at: string;
}

/** A row of `sessions`. */
export interface SessionsRow {
  id_hash: string;
  user_id: number;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

/** A new row of `sessions`: what the database fills in (an id, a default, a null) may be left out. */
export interface SessionsInsert {
  id_hash?: string;
  user_id: number;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

/** A row of `usage_alerts`. */
export interface UsageAlertsRow {
  id: number;
  meter_id: string;
  channel: number;
  account_no: string | null;
  rule: string;
  since_at: number;
  measured: number;
  message: string;
  exception_id: number | null;
  work_order_id: number | null;
  opened_at: string;
  seen_at: string;
  cleared_at: string | null;
}

/** A new row of `usage_alerts`: what the database fills in (an id, a default, a null) may be left out. */
export interface UsageAlertsInsert {
  id?: number;
  meter_id: string;
  channel: number;
  account_no?: string | null;
  rule: string;
  since_at: number;
  measured: number;
  message: string;
  exception_id?: number | null;
  work_order_id?: number | null;
  opened_at: string;
  seen_at: string;
  cleared_at?: string | null;
}

/** A row of `users`. */
export interface UsersRow {
  id: number;
  username: string;
  display_name: string | null;
  role: Role;
  password_hash: string;
  created_at: string;
  disabled_at: string | null;
}

/** A new row of `users`: what the database fills in (an id, a default, a null) may be left out. */
export interface UsersInsert {
  id?: number;
  username: string;
  display_name?: string | null;
  role: Role;
  password_hash: string;
  created_at: string;
  disabled_at?: string | null;
}

/** A row of `work_order_events`. */
export interface WorkOrderEventsRow {
  id: number;
  order_id: number;
  from_state: string | null;
  to_state: string;
  version: number;
  actor: string;
  at: string;
  recorded_at: string;
  detail: string | null;
  update_id: string | null;
}

/** A new row of `work_order_events`: what the database fills in (an id, a default, a null) may be left out. */
export interface WorkOrderEventsInsert {
  id?: number;
  order_id: number;
  from_state?: string | null;
  to_state: string;
  version: number;
  actor: string;
  at: string;
  recorded_at: string;
  detail?: string | null;
  update_id?: string | null;
}

/** A row of `work_orders`. */
export interface WorkOrdersRow {
  id: number;
  order_no: string;
  source: string;
  type: WorkOrderType;
  state: WorkOrderState;
  version: number;
  priority: number;
  account_no: string | null;
  meter_id: string | null;
  area: string | null;
  due_date: string | null;
  window_start: string | null;
  window_end: string | null;
  technician: string | null;
  notes: string | null;
  completion: string | null;
  created_at: string;
  updated_at: string;
}

/** A new row of `work_orders`: what the database fills in (an id, a default, a null) may be left out. */
export interface WorkOrdersInsert {
  id?: number;
  order_no: string;
  source: string;
  type: WorkOrderType;
  state: WorkOrderState;
  version: number;
  priority: number;
  account_no?: string | null;
  meter_id?: string | null;
  area?: string | null;
  due_date?: string | null;
  window_start?: string | null;
  window_end?: string | null;
  technician?: string | null;
  notes?: string | null;
  completion?: string | null;
  created_at: string;
  updated_at: string;
}

declare module 'knex/types/tables.js' {
  interface Tables {
    alert_deliveries: Table<AlertDeliveriesRow, AlertDeliveriesInsert>;
    alert_preferences: Table<AlertPreferencesRow, AlertPreferencesInsert>;
    ami_claims: Table<AmiClaimsRow, AmiClaimsInsert>;
    ami_cursors: Table<AmiCursorsRow, AmiCursorsInsert>;
    ami_daily_reads: Table<AmiDailyReadsRow, AmiDailyReadsInsert>;
    ami_intervals: Table<AmiIntervalsRow, AmiIntervalsInsert>;
    ami_meters_heard: Table<AmiMetersHeardRow, AmiMetersHeardInsert>;
    ami_register_reads: Table<AmiRegisterReadsRow, AmiRegisterReadsInsert>;
    ami_suspense: Table<AmiSuspenseRow, AmiSuspenseInsert>;
    api_tokens: Table<ApiTokensRow, ApiTokensInsert>;
    attachments: Table<AttachmentsRow, AttachmentsInsert>;
    audit_log: Table<AuditLogRow, AuditLogInsert>;
    change_counters: Table<ChangeCountersRow, ChangeCountersInsert>;
    customer_accounts: Table<CustomerAccountsRow, CustomerAccountsInsert>;
    cycle_reviews: Table<CycleReviewsRow, CycleReviewsInsert>;
    devices: Table<DevicesRow, DevicesInsert>;
    disconnect_notices: Table<DisconnectNoticesRow, DisconnectNoticesInsert>;
    dock_commands: Table<DockCommandsRow, DockCommandsInsert>;
    espi_subscriptions: Table<EspiSubscriptionsRow, EspiSubscriptionsInsert>;
    exceptions: Table<ExceptionsRow, ExceptionsInsert>;
    import_batches: Table<ImportBatchesRow, ImportBatchesInsert>;
    job_leases: Table<JobLeasesRow, JobLeasesInsert>;
    job_runs: Table<JobRunsRow, JobRunsInsert>;
    login_failures: Table<LoginFailuresRow, LoginFailuresInsert>;
    mqtt_accounts: Table<MqttAccountsRow, MqttAccountsInsert>;
    oauth_clients: Table<OauthClientsRow, OauthClientsInsert>;
    oauth_codes: Table<OauthCodesRow, OauthCodesInsert>;
    oauth_tokens: Table<OauthTokensRow, OauthTokensInsert>;
    outbox: Table<OutboxRow, OutboxInsert>;
    outbox_sent: Table<OutboxSentRow, OutboxSentInsert>;
    portal_invites: Table<PortalInvitesRow, PortalInvitesInsert>;
    posted_batches: Table<PostedBatchesRow, PostedBatchesInsert>;
    readings: Table<ReadingsRow, ReadingsInsert>;
    route_events: Table<RouteEventsRow, RouteEventsInsert>;
    route_lines: Table<RouteLinesRow, RouteLinesInsert>;
    routes: Table<RoutesRow, RoutesInsert>;
    sessions: Table<SessionsRow, SessionsInsert>;
    usage_alerts: Table<UsageAlertsRow, UsageAlertsInsert>;
    users: Table<UsersRow, UsersInsert>;
    work_order_events: Table<WorkOrderEventsRow, WorkOrderEventsInsert>;
    work_orders: Table<WorkOrdersRow, WorkOrdersInsert>;
  }
}
