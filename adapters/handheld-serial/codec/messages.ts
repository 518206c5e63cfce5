import { z } from 'zod';
import { FrameType, type FrameTypeCode } from './frame.js';
import { DEVICE_ID_PATTERN, DEVICE_ID_RULE } from '../../../src/core/device-id.js';

/**
 * The JSON payloads of FDP/1 (dock-protocol.md, "Session" and "Transfers"), validated with zod
 * at the boundary: a device's bad payload becomes an ERROR naming the field, never a crash.
 */
const routeCode = z.string().min(1).max(20);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex SHA-256');
const count = z.number().int().min(0);

const heldRoutes = z
  .array(
    z.object({
      route: routeCode,
      cycle: z.string().max(10).optional(),
      records: count,
      read: count.optional(),
      bytes: count,
      sha256,
    }),
  )
  .max(200);

export const helloSchema = z.object({
  device: z.string().regex(DEVICE_ID_PATTERN, DEVICE_ID_RULE),
  model: z.string().max(40).optional(),
  fw: z.string().max(40).optional(),
  proto: z.number().int(),
  // Any offer is taken; under 256 it is answered with 256 (revision 2).
  maxFrame: z.number().int().min(1).max(8192).default(1024),
  window: z.number().int().min(1).max(64).default(8),
  clock: z.string().optional(),
  battery: z.number().int().min(0).max(100).optional(),
  routes: heldRoutes.default([]),
});
/** Revision 2: the routes a device holds, when they change during a session (a route read while docked). */
export const holdingSchema = z.object({ routes: heldRoutes });
export const welcomeSchema = z.object({
  session: z.string(),
  maxFrame: z.number().int(),
  window: z.number().int(),
  time: z.string(),
  /** The utility's IANA time zone: the device writes every read_at as local wall time in it (revision 2). */
  zone: z.string().max(64).optional(),
});
export const loadBeginSchema = z.object({
  route: routeCode,
  cycle: z.string().max(10),
  records: count,
  bytes: count,
  layout: z.string(),
  sha256,
});
export const readySchema = z.object({ route: routeCode, fromOffset: count });
export const loadEndSchema = z.object({ route: routeCode, sha256 });
export const loadOkSchema = z.object({ route: routeCode, records: count });
export const unloadBeginSchema = z.object({ route: routeCode, fromOffset: count });
export const unloadInfoSchema = z.object({
  route: routeCode,
  records: count,
  bytes: count,
  layout: z.string(),
  sha256,
});
export const unloadEndSchema = z.object({ route: routeCode, sha256 });
export const clearSchema = z.object({ route: routeCode, sha256 });
export const clearedSchema = z.object({ route: routeCode });
export const errorSchema = z.object({
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  message: z.string(),
  /** In WELCOME's place (a refused HELLO): when to say HELLO again (revision 2). */
  retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
});

export const MESSAGE_SCHEMAS = {
  [FrameType.HELLO]: helloSchema,
  [FrameType.WELCOME]: welcomeSchema,
  [FrameType.LOAD_BEGIN]: loadBeginSchema,
  [FrameType.READY]: readySchema,
  [FrameType.LOAD_END]: loadEndSchema,
  [FrameType.LOAD_OK]: loadOkSchema,
  [FrameType.UNLOAD_BEGIN]: unloadBeginSchema,
  [FrameType.UNLOAD_INFO]: unloadInfoSchema,
  [FrameType.UNLOAD_END]: unloadEndSchema,
  [FrameType.HOLDING]: holdingSchema,
  [FrameType.CLEAR]: clearSchema,
  [FrameType.CLEARED]: clearedSchema,
  [FrameType.ERROR]: errorSchema,
} as const;

export type JsonFrameType = keyof typeof MESSAGE_SCHEMAS;
export type MessageOf<T extends JsonFrameType> = z.infer<(typeof MESSAGE_SCHEMAS)[T]>;
export type Hello = z.infer<typeof helloSchema>;

export class MessageError extends Error {
  readonly code = 'BAD_PAYLOAD';
  constructor(
    readonly frameType: FrameTypeCode,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export function encodeMessage<T extends JsonFrameType>(_type: T, body: MessageOf<T>): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** Parses and validates a JSON payload; the error names the field a person must fix. */
export function decodeMessage<T extends JsonFrameType>(type: T, payload: Buffer): MessageOf<T> {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new MessageError(type, '(payload)', 'payload is not JSON');
  }
  const result = MESSAGE_SCHEMAS[type].safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join('.') || '(payload)';
    throw new MessageError(type, field, `${field}: ${issue.message}`);
  }
  return result.data as MessageOf<T>;
}
