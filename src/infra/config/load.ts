import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../errors.js';
import { resolveResource, packageRoot } from './paths.js';
import { configSchema, type Config } from './schema.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** Well-known environment variables, as operators and CI set them. */
const WELL_KNOWN_ENV: Record<string, string[]> = {
  DATABASE_URL: ['store', 'url'],
  BILLING_DATABASE_URL: ['billing', 'url'],
  PORT: ['server', 'port'],
  LOG_LEVEL: ['log', 'level'],
  TZ_UTILITY: ['timeZone'],
  MQTT_URL: ['mqtt', 'url'],
};
const ENV_PREFIX = 'FIELDGATE_';

export interface LoadOptions {
  /** A JSON config file whose keys override the defaults. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides applied last (tests, CLI flags). */
  overrides?: JsonObject;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const defaults = readJson(path.join(packageRoot, 'config', 'defaults.json'), 'defaults');
  let merged = defaults;
  const file = opts.file ?? env.FIELDGATE_CONFIG;
  const sources = ['config/defaults.json'];
  if (file) {
    merged = deepMerge(merged, readJson(file, 'config file'));
    sources.push(file);
  }
  merged = deepMerge(merged, envOverrides(env, defaults));
  if (opts.overrides) merged = deepMerge(merged, opts.overrides);

  const billing = merged.billing as JsonObject;
  if (typeof billing?.mappingFile === 'string') {
    const mappingFile = resolveResource(billing.mappingFile);
    const base = readJson(mappingFile, 'billing mapping');
    billing.mapping = deepMerge(base, (billing.mapping as JsonObject | undefined) ?? {});
  }

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(problems, sources.join(' + ') + ' + environment');
  }
  return result.data;
}

function readJson(file: string, what: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`], file);
  }
  try {
    const value = JSON.parse(text) as Json;
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new Error('top level must be an object');
    return value;
  } catch (err) {
    throw new ConfigError([`${what} ${file} is not valid JSON: ${(err as Error).message}`], file);
  }
}

/**
 * FIELDGATE_SERVER__PORT=9000 sets server.port. Env names are upper case and cannot hold '-', so path
 * segments match existing keys ignoring case, '_' and '-'. Values are parsed as JSON when they can be.
 */
/** FIELDGATE_ variables that are not config keys: the config file itself, and the CLI's API token. */
const NOT_CONFIG = new Set(['FIELDGATE_CONFIG', 'FIELDGATE_TOKEN', 'FIELDGATE_DEVICE_SECRET']);

function envOverrides(env: NodeJS.ProcessEnv, shape: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [name, pathKeys] of Object.entries(WELL_KNOWN_ENV)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') setPath(out, pathKeys, parseEnvValue(raw));
  }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NOT_CONFIG.has(name) || raw === undefined) continue;
    const segments = name.slice(ENV_PREFIX.length).split('__');
    setPath(out, matchKeys(segments, shape), parseEnvValue(raw));
  }
  return out;
}

const normalise = (key: string) => key.toLowerCase().replace(/[-_]/g, '');

function matchKeys(segments: string[], shape: Json | undefined): string[] {
  const keys: string[] = [];
  let node = shape;
  for (const segment of segments) {
    const candidates = node && typeof node === 'object' && !Array.isArray(node) ? Object.keys(node) : [];
    const key = candidates.find((k) => normalise(k) === normalise(segment)) ?? segment.toLowerCase();
    keys.push(key);
    node = node && typeof node === 'object' && !Array.isArray(node) ? node[key] : undefined;
  }
  return keys;
}

function parseEnvValue(raw: string): Json {
  try {
    return JSON.parse(raw) as Json;
  } catch {
    return raw;
  }
}

function setPath(target: JsonObject, keys: string[], value: Json): void {
  let node = target;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) node[key] = value;
    else {
      const next = node[key];
      node = node[key] = next && typeof next === 'object' && !Array.isArray(next) ? next : {};
    }
  });
}

export function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] =
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      prev &&
      typeof prev === 'object' &&
      !Array.isArray(prev)
        ? deepMerge(prev, value)
        : value;
  }
  return out;
}
