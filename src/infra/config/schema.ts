import { calendarDay } from '../../core/calendar.js';
import { IANAZone } from 'luxon';
import cron from 'node-cron';
import { z } from 'zod';
import { billingMappingSchema } from '../billing/mapping.js';
import { veeConfigSchema } from '../../core/vee/config.js';
import { COMPLETION_FIELDS, WORK_ORDER_TYPES } from '../../core/work-orders.js';

/**
 * The whole configuration. Defaults live in config/defaults.json (one place); this schema
 * says what each key must be. Objects are strict so a misspelt key is an error, not ignored.
 */
const cronExpr = z.string().refine((expr) => cron.validate(expr), 'expected a cron expression such as "*/15 * * * *"');
const dbUrl = z
  .string()
  .regex(
    /^(sqlite:|postgres:|postgresql:|mssql:|sqlserver:)/,
    'expected a URL starting with sqlite:, postgres: or ' + 'mssql:',
  );
const codeTable = z.record(
  z.string().regex(/^[A-Z0-9]{1,4}$/, 'codes are 1-4 upper-case letters or ' + 'digits'),
  z.string(),
);

/** One usage-alert rule's settings: what it does when it fires, and its thresholds. */
function alertRule<T extends z.ZodRawShape>(thresholds: T) {
  return z.strictObject({ enabled: z.boolean(), exception: z.boolean(), workOrder: z.boolean(), ...thresholds });
}

export const configSchema = z.strictObject({
  timeZone: z
    .string()
    .refine((zone) => IANAZone.isValidZone(zone), 'expected an IANA time zone such as ' + 'America/Chicago'),
  dataDir: z.string().min(1),
  store: z.strictObject({ url: dbUrl }),
  billing: z.strictObject({
    /**
     * `database`: fieldgate reads and writes the CIS's tables (billing.url, through the mapping). `files`: the CIS
     * gives only its hand-held interface; billing.url is then the mirror fieldgate keeps of it (the reference schema),
     * filled from the route exports the CIS drops, and posting writes the CIS's import files (docs/billing.md).
     */
    mode: z.enum(['database', 'files']),
    files: z.strictObject({
      /** The exchange folder (relative to dataDir): routes-in/, reads-out/, fieldwork-out/, rejected/, … */
      dir: z.string().min(1),
      /** Where CIS layouts are (config/cis-layouts), and the one this CIS speaks. */
      layoutsDir: z.string().min(1),
      layout: z.string().regex(/^[a-z0-9-]{1,40}$/, 'a layout name such as cis-csv'),
      /**
       * The demo CIS in file mode (`fieldgate start --billing-files`): the reference CIS on this database writes
       * its route exports to routes-in/ and imports the readings files from reads-out/. Null: a real CIS does.
       */
      demoCisUrl: dbUrl.nullable(),
    }),
    url: dbUrl,
    demo: z.strictObject({
      seedOnFirstRun: z.boolean(),
      accounts: z.number().int().min(1).max(1_000_000),
      routes: z.number().int().min(1).max(10_000),
      seed: z.number().int(),
      /** Meters given AMI usage on the demo's first run (a few leak, one stops, one uses three times its usual). */
      usageMeters: z.number().int().min(0).max(10_000),
      /** Days of that usage, up to the hour of the first start. */
      usageDays: z.number().int().min(1).max(400),
    }),
    postBatchSize: z.number().int().min(1).max(100_000),
    /** SQL Server only: a batch of at least this many rows is bulk-loaded (the mssql package) rather than inserted. */
    bulkLoadMinRows: z.number().int().min(1),
    mappingFile: z.string(),
    mapping: billingMappingSchema,
  }),
  server: z.strictObject({
    host: z.string(),
    port: z.number().int().min(0).max(65535),
    bodyLimit: z.string(),
    /**
     * Express's `trust proxy`: false when browsers reach the gateway directly; behind a TLS proxy,
     * the proxy's address or hop count (1), so client addresses (login throttling) and HTTPS
     * (Secure cookies) are taken from X-Forwarded-For and X-Forwarded-Proto. Never true on a LAN
     * where anyone can send those headers.
     */
    trustProxy: z.union([z.boolean(), z.number().int().min(0).max(10), z.string().min(1).max(500)]),
    /**
     * HTTPS without a proxy: PEM files of the certificate (with its chain) and its private key. Phones
     * need HTTPS for the field app's service worker and camera (docs/field-app.md). Null: plain HTTP.
     */
    tls: z
      .strictObject({ cert: z.string().min(1).nullable(), key: z.string().min(1).nullable() })
      .refine(
        (t) => (t.cert === null) === (t.key === null),
        'give both server.tls.cert and server.tls.key, or neither',
      ),
  }),
  log: z.strictObject({
    level: z.enum(['error', 'warn', 'info', 'debug']),
    format: z.enum(['auto', 'json', 'pretty']),
  }),
  jobs: z.strictObject({
    leaseSeconds: z.number().int().min(5),
    shutdownGraceSeconds: z.number().int().min(0),
    schedules: z.record(z.string(), z.strictObject({ cron: cronExpr, enabled: z.boolean() })),
  }),
  limits: z.strictObject({
    historyPeriods: z.number().int().min(1).max(24),
    lowFactor: z.number().min(0).max(1),
    highFactor: z.number().min(1),
    minHighSpan: z.number().int().min(0),
  }),
  layouts: z.strictObject({ dir: z.string(), route: z.string(), read: z.string() }),
  codes: z.strictObject({ read: codeTable, skip: codeTable, trouble: codeTable }),
  prebill: z.strictObject({
    /** Hold a cycle's route reads from billing until a CSR signs off its preliminary billing ledger. */
    reviewBeforePosting: z.boolean(),
    /** Flag a consumption of zero as `zero` (water and gas sit idle more often than electric). */
    flagZero: z.boolean(),
    /**
     * Flag consumption at least this many times what the account's history expects for the period, or at most its
     * 1/this share, as `unusual`, whatever the read type (a rollover or estimated read included).
     */
    unusualFactor: z.number().min(1.1).max(100),
    /**
     * How often a kept ledger asks the store whether its data changed (changes through this gateway drop it at once).
     */
    cacheSeconds: z.number().min(0).max(600),
    /**
     * A kept ledger is built again at this age even if nothing changed here: billing's rates and multipliers may have.
     */
    maxAgeSeconds: z.number().min(0).max(86_400),
  }),
  auth: z.strictObject({
    /**
     * On the demo billing database only: a first run makes an admin API token, written to dataDir/demo-credentials.txt
     * (0600).
     */
    createDemoToken: z.boolean(),
    /**
     * On the demo billing database only: a first run with no users makes demo-csr, demo-tech and demo-admin, in the
     * same file.
     */
    createDemoUsers: z.boolean(),
    sessionHours: z
      .number()
      .min(0.1)
      .max(24 * 30),
    /** Secure cookies need HTTPS; `auto` sets Secure when the request came over HTTPS (or a proxy said so). */
    secureCookies: z.enum(['auto', 'always', 'never']),
    /**
     * Failed logins (console and MQTT) within the window: one username from one address is
     * refused after maxFailures; one address after maxFailuresPerAddress over any usernames; a
     * username from everywhere only after maxFailuresPerUsername, so nobody can lock an admin out
     * from one desk.
     */
    login: z.strictObject({
      maxFailures: z.number().int().min(1),
      maxFailuresPerAddress: z.number().int().min(1),
      maxFailuresPerUsername: z.number().int().min(1),
      windowMinutes: z.number().min(1),
    }),
  }),
  dock: z.strictObject({
    /** Serial device paths (/dev/ttyUSB0, COM3) or serial device servers (tcp://host:port). */
    ports: z.array(
      z.strictObject({
        name: z.string().min(1).max(40).optional(),
        path: z.string().min(1),
        baudRate: z.number().int().min(1200).max(4_000_000).default(115_200),
      }),
    ),
    /**
     * Welcome any hand-held without an admin's approval: true, false, or "demo" (only on the demo billing database).
     */
    approveAllDevices: z.union([z.boolean(), z.literal('demo')]),
    /** The largest frame payload the gateway offers; revision 2 runs no session below 256. */
    maxFrame: z.number().int().min(256).max(8192),
    window: z.number().int().min(1).max(64),
    ackTimeoutMs: z.number().int().min(50),
    /** What a refused hand-held (not approved yet) is told to wait before its next HELLO. */
    retryAfterSeconds: z.number().int().min(1).max(3600),
    pingAfterMs: z.number().int().min(50),
    replyTimeoutMs: z.number().int().min(100),
    pollMs: z.number().int().min(50),
    reopenMinMs: z.number().int().min(10),
    reopenMaxMs: z.number().int().min(10),
  }),
  mqtt: z.strictObject({
    enabled: z.boolean(),
    /** An external broker (MQTT_URL): mqtt://, mqtts://, ws://, wss://. Null runs the embedded broker. */
    url: z
      .string()
      .regex(/^(mqtts?|wss?):\/\//, 'expected mqtt://host:port (or mqtts://, ws://, wss://)')
      .nullable(),
    username: z.string().nullable(),
    password: z.string().nullable(),
    tls: z.strictObject({
      ca: z.string().nullable(),
      cert: z.string().nullable(),
      key: z.string().nullable(),
      rejectUnauthorized: z.boolean(),
    }),
    prefix: z
      .string()
      .regex(
        /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/,
        'a topic prefix such as "fieldgate" (no ' + 'wildcards, no leading /)',
      ),
    /** MQTT 5 shared-subscription group, so several gateways split the work (external brokers only). */
    sharedGroup: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .nullable(),
    sessionExpirySeconds: z.number().int().min(0),
    /**
     * Connections that take readings, each in the shared group: a gateway stores that many
     * batches at once (a connection handles its messages one after another). External MQTT 5 brokers only.
     */
    consumers: z.number().int().min(1).max(32),
    /**
     * MQTT 5 Receive Maximum: QoS 1 messages an external broker may send each connection before its acknowledgements
     * (the rest wait at the broker).
     */
    receiveMaximum: z.number().int().min(1).max(65535),
    outboxPollMs: z.number().int().min(10),
    broker: z.strictObject({
      host: z.string(),
      port: z.number().int().min(0).max(65535),
      /** When the port is taken (a system Mosquitto on 1883), take the next free one and log it. */
      portFallback: z.boolean(),
      /**
       * Field messages the embedded broker holds for the gateway unacknowledged; at the bound, publishing devices wait.
       */
      maxBacklog: z.number().int().min(1),
      /**
       * The largest MQTT packet a client may send (bytes); a larger one is refused from its header,
       * before it is read. The default fits the largest readings batch (5,000 lines of 400 characters).
       */
      maxPacketBytes: z.number().int().min(1024).max(268_435_455),
      /** The largest CONNECT packet: it is read before the login is checked. */
      maxConnectBytes: z.number().int().min(256).max(1_048_576),
      /** The largest retained message a device, radio or technician may leave (its status). */
      maxRetainedBytes: z.number().int().min(0).max(1_048_576),
      /** Secret checks (scrypt) running at once; logins beyond this many waiting are refused as busy. */
      loginConcurrency: z.number().int().min(1).max(64),
      loginQueue: z.number().int().min(0).max(10_000),
      /**
       * Publishes a device may make in a burst, and per second after it; a faster device waits (back-pressure, nothing
       * lost).
       */
      devicePublishBurst: z.number().int().min(1),
      devicePublishPerSecond: z.number().min(0.01),
    }),
    /**
     * Bad messages from one device (or radio) kept as exceptions per period; past that, one summary
     * exception per device and period counts the rest. A kept payload is cut to keepBytes.
     */
    badMessages: z.strictObject({
      keepPerDevice: z.number().int().min(1),
      periodMinutes: z.number().int().min(1),
      keepBytes: z.number().int().min(0).max(100_000),
    }),
  }),
  fieldApp: z.strictObject({
    /** The largest photo the gateway keeps (bytes): the app resizes photos on the phone to well under it. */
    photoMaxBytes: z.number().int().min(10_000).max(20_000_000),
    /** Photos kept of one meter register on a route, or of one work order: what a phone may add is bounded. */
    maxPhotosPerItem: z.number().int().min(1).max(100),
    /** Readings in one batch from the app (it sends a route in batches of at most this many). */
    maxBatchReadings: z.number().int().min(1).max(10_000),
  }),
  workOrders: z.strictObject({
    /** Per type, the completion fields a completed order must carry. */
    types: z.record(z.enum(WORK_ORDER_TYPES), z.strictObject({ required: z.array(z.enum(COMPLETION_FIELDS)) })),
    outcomes: z.array(z.string().regex(/^[A-Z_]{2,20}$/)).min(1),
    /** Priority when none is given: 1 (emergency) to 5. */
    defaultPriority: z.number().int().min(1).max(5),
  }),
  pastDue: z.strictObject({
    /** Days after the due date before a disconnect notice goes out. */
    daysPastDue: z.number().int().min(1),
    /** Balance at or above which an account is cut; below it, it counts as paid. */
    minBalance: z.number().min(0),
    /** Calendar days from the notice to the shut-off date (moved past weekends and holidays). */
    noticeDays: z.number().int().min(1),
    holidays: z.array(calendarDay),
    /** A DisconnectWarning order (door hanger) with each notice. */
    warningOrders: z.boolean(),
    cutPriority: z.number().int().min(1).max(5),
  }),
  /** The customer usage portal (`/portal/`, docs/portal.md). */
  portal: z.strictObject({
    /** Days an invitation code is good for. */
    inviteDays: z.number().int().min(1).max(365),
    /** Green Button Connect My Data: how long what the OAuth 2 flow issues is good for. */
    connect: z.strictObject({
      accessTokenMinutes: z
        .number()
        .min(0.01)
        .max(24 * 60),
      refreshTokenDays: z.number().min(0.01).max(3650),
      codeSeconds: z.number().int().min(10).max(600),
    }),
  }),
  /**
   * Usage alerts from AMI intervals (src/core/usage-alerts.ts; the usage-alerts job checks every meter heard
   * recently). Each rule: `enabled`, `exception` (opens a CSR exception, resolved when the condition ends),
   * `workOrder` (also opens an Investigation order for the meter), and its own thresholds.
   */
  alerts: z.strictObject({
    /** Water with no interval of zero for this many hours. */
    continuousFlow: alertRule({
      hours: z
        .number()
        .min(1)
        .max(24 * 14),
    }),
    /** Water at least `minPerHour` (per register unit) in every hour from `fromHour` to `toHour`, `nights` in a row. */
    nightFlow: alertRule({
      fromHour: z.number().int().min(0).max(23),
      toHour: z.number().int().min(1).max(24),
      nights: z.number().int().min(1).max(14),
      minPerHour: z.record(
        z.string().regex(/^[A-Z0-9]{1,8}$/, 'a register unit in capitals, such as GAL'),
        z.number().positive(),
      ),
    }),
    /** An interval below -`tolerance`, or a register reading lower than the last, in the last `days`. */
    reverseFlow: alertRule({ days: z.number().int().min(1).max(90), tolerance: z.number().min(0) }),
    /** Nothing recorded for `days` complete days on an active account. */
    stoppedMeter: alertRule({ days: z.number().int().min(1).max(90) }),
    /** The last `days` days' daily average at least `factor` times that of the `baselineDays` before them. */
    highUsage: alertRule({
      days: z.number().int().min(1).max(31),
      baselineDays: z.number().int().min(7).max(365),
      minBaselineDays: z.number().int().min(1).max(365),
      factor: z.number().min(1.1).max(100),
    }),
    /** No data from an active account's meter for this many hours. */
    goneQuiet: alertRule({
      hours: z
        .number()
        .min(1)
        .max(24 * 90),
    }),
    /**
     * Telling customers who asked (portal alert preferences): each open alert once per customer and channel, after
     * each usage-alerts run; a failed send is tried again on the next run, up to `attempts` times.
     */
    delivery: z.strictObject({
      /** The portal's address as customers reach it, for the link in each message. */
      portalUrl: z.url(),
      /** smtp://user:pass@host:port or smtps://…; null sends no e-mail. */
      smtpUrl: z
        .string()
        .regex(/^smtps?:\/\//, 'an smtp:// or smtps:// URL')
        .nullable(),
      from: z.string().min(3).max(200),
      /** The SMS gateway's webhook (POST JSON {to, text}); null sends no text messages. */
      smsWebhookUrl: z.url().nullable(),
      /** Sent as a bearer token to the SMS webhook, when set. */
      smsWebhookToken: z.string().max(500).nullable(),
      timeoutMs: z.number().int().min(100).max(120_000),
      attempts: z.number().int().min(1).max(100),
    }),
  }),
  ami: z.strictObject({
    /** Drop folder for AMI files (relative to dataDir); processed files move to done/ or failed/. */
    dropDir: z.string().min(1),
    watch: z.boolean(),
    dropPollMs: z.number().int().min(50),
    /** Intervals held before a commit: larger is faster, smaller holds less memory. */
    flushIntervals: z.number().int().min(100).max(1_000_000),
    /** Heap of the worker thread each import runs in (MB): the import streams, so this bounds memory, not file size. */
    workerHeapMb: z.number().int().min(48).max(16_384),
    /**
     * Meter registers an import holds day totals for before it settles those it is done with (derives their daily
     * reads, notes them heard, lets them go): what an import holds per meter, whatever the file's meter count.
     */
    settleAfterRegisters: z.number().int().min(1).max(1_000_000),
    /**
     * AMI files imported at once (the drop folder, `fieldgate ami import`), each in its own worker, at most one per
     * core: one file's parsing overlaps another's writes. For files split by meter range (as head-ends send a night);
     * two files holding parts of the same meters' days may each find those days incomplete and derive no read for them.
     */
    parallelImports: z.number().int().min(1).max(16),
    /** Findings kept as exceptions per file; the rest are counted in one summary exception. */
    maxExceptionsPerFile: z.number().int().min(1),
    /**
     * VEE findings of one rule on one meter listed on their own per import; the rest are one summary exception with
     * their count (a stuck meter's thousand spikes are one row in the queue, not a thousand).
     */
    findingsPerMeter: z.number().int().min(1).max(10_000),
    /**
     * A meter that reported over more than a day and has not been heard for this many hours (from any AMI source) is
     * a SILENT_METER exception (the silent-meters job) and counts in fieldgate_ami_silent_meters.
     */
    silentAfterHours: z
      .number()
      .min(1)
      .max(24 * 90),
    /**
     * A radio id (or meter id) not in the meter directory reloads it from billing at once, at most this often, so a
     * meter added to billing is matched on its next message; the directory is reloaded every 5 minutes regardless.
     */
    directoryRefreshSeconds: z.number().min(0).max(3600),
    /**
     * Months of intervals kept (the derived daily reads are kept regardless): older months are
     * dropped by the ami-partitions job, whole partitions on PostgreSQL, deleted on SQLite. Null keeps all.
     */
    retentionMonths: z.number().int().min(1).max(1200).nullable(),
    /** Months made ahead of today by the ami-partitions job (PostgreSQL), so the night's import never waits on one. */
    partitionsAhead: z.number().int().min(1).max(24),
    /**
     * The longest line read, per format (characters); a longer line is skipped with an exception
     * naming it. For ESPI XML: the longest run of text between two tags.
     */
    maxLineLength: z.strictObject({
      cmep: z.number().int().min(80),
      nem12: z.number().int().min(80),
      espi: z.number().int().min(80),
    }),
    /** How long stopping waits for an import in progress before ending it (it resumes at the next start). */
    stopTimeoutMs: z.number().int().min(0).max(600_000),
    /**
     * rtlamr reads heard longer ago than this, or timed ahead of the gateway's clock by more than this, are refused.
     */
    rtlamr: z.strictObject({ maxAgeDays: z.number().min(0.01), maxAheadMinutes: z.number().min(0) }),
    /** wmbusmeters (wireless M-Bus / OMS) telegrams as JSON over MQTT (docs/ami.md). */
    wmbusmeters: z.strictObject({
      /** The MQTT topic filter its `shell=mosquitto_pub -t wmbusmeters/$METER_ID …` publishes to; null: not subscribed. */
      topic: z
        .string()
        .min(1)
        .max(200)
        .refine(
          (t) => !t.startsWith('$') && /^([^#+/]*|\+)(\/([^#+/]*|\+))*(\/#)?$|^#$/.test(t),
          'expected an MQTT topic filter such as wmbusmeters/+ (no $share, + and # only as whole levels)',
        )
        .nullable(),
      /** Telegrams received longer ago than this, or timed ahead of the gateway's clock by more than this, are refused. */
      maxAgeDays: z.number().min(0.01),
      maxAheadMinutes: z.number().min(0),
      /** The same value of a meter heard again within this many seconds (a second receiver, a repeater) is the same reading. */
      sameReadingSeconds: z.number().int().min(0).max(86_400),
      /** Fields read as a meter's current register, by preference; the first present in each unit is stored. */
      totalFields: z
        .array(
          z
            .string()
            .regex(
              /^[a-z0-9_]+_(m3|l|kwh|mwh|gj|mj|hca|kvarh)$/,
              'expected a wmbusmeters field with a unit suffix such as total_m3',
            ),
        )
        .min(1)
        .max(50),
    }),
    cmep: z.strictObject({
      zone: z
        .string()
        .refine((zone) => zone === 'UTC' || IANAZone.isValidZone(zone), 'expected UTC or an IANA time ' + 'zone'),
      timestampMarks: z.enum(['end', 'start']),
    }),
    espi: z.strictObject({
      /**
       * The names of a UsagePoint tried against billing's meter ids, radio ids and serials, in order: its Atom title,
       * its entry id (urn:uuid:…, tried with and without the prefix), and the id in its href (…/UsagePoint/{id}).
       */
      matchBy: z
        .array(z.enum(['title', 'id', 'href']))
        .min(1)
        .max(3)
        .refine((names) => new Set(names).size === names.length, 'each name at most once'),
    }),
    nem12: z.strictObject({
      zone: z.string().refine((zone) => IANAZone.isValidZone(zone), 'expected an IANA time zone'),
      /**
       * The billing register of each NEM12 data stream, by NMI suffix (E1 import kWh, B1 export, Q1/K1 kVArh, E2 a
       * second import element): a stream whose suffix is not named here is not stored, with one exception.
       */
      suffixRegisters: z.record(
        z.string().regex(/^[A-Z][A-Z0-9]$/, 'expected an NMI suffix such as E1, B1 or Q1'),
        z.number().int().min(1).max(99),
      ),
    }),
    vee: veeConfigSchema,
    /** A head-end's paged export over HTTP (docs/ami.md); url null: not used. */
    headend: z.strictObject({
      url: z.string().url().nullable(),
      token: z.string().nullable(),
      pageSize: z.number().int().min(1).max(100_000),
      timeoutMs: z.number().int().min(100),
      attempts: z.number().int().min(1).max(20),
      backoffMinMs: z.number().int().min(0),
      backoffMaxMs: z.number().int().min(0),
      /** Pages per kind per run, so one run cannot go on for ever. */
      maxPages: z.number().int().min(1),
      paths: z.strictObject({ intervals: z.string().min(1), registers: z.string().min(1) }),
      query: z.strictObject({ cursor: z.string().min(1), limit: z.string().min(1) }),
      response: z.strictObject({ items: z.string().min(1), nextCursor: z.string().min(1) }),
    }),
  }),
});

export type Config = z.infer<typeof configSchema>;
