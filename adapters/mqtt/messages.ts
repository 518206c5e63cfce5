import { z } from 'zod';

/**
 * The JSON payloads on the MQTT topic tree, validated with zod at the boundary. A payload that
 * does not validate is answered on the device's error topic with the field named, and kept in
 * the store for a CSR.
 */
const routeCode = z.string().min(1).max(20);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex SHA-256');

export const readingsBatchSchema = z.strictObject({
  batchId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a batch id of 1-64 letters, digits, _ . : -'),
  route: routeCode,
  cycle: z.string().max(10).optional(),
  /** The last batch of a route: the route is then committed. */
  final: z.boolean().default(false),
  /** read-v1 records, one per element, without line endings. */
  lines: z.array(z.string().max(400)).min(1).max(5000),
});
export type ReadingsBatch = z.infer<typeof readingsBatchSchema>;

export const statusSchema = z.strictObject({
  online: z.boolean(),
  battery: z.number().int().min(0).max(100).optional(),
  app: z.string().max(40).optional(),
  model: z.string().max(40).optional(),
  at: z.string().optional(),
});
export type DeviceStatusMessage = z.infer<typeof statusSchema>;

export const routeRequestSchema = z.strictObject({ route: routeCode.optional() });
export const routeAckSchema = z.strictObject({ route: routeCode, sha256 });

export const routeMessageSchema = z.strictObject({
  route: routeCode,
  cycle: z.string(),
  layout: z.string(),
  records: z.number().int(),
  sha256,
  lines: z.array(z.string()),
});
export type RouteMessage = z.infer<typeof routeMessageSchema>;

export const batchAckSchema = z.strictObject({
  batchId: z.string(),
  status: z.enum(['stored', 'duplicate']),
  lines: z.number().int(),
  stored: z.number().int(),
  rejected: z.number().int(),
  exceptions: z.number().int(),
  /** Which gateway stored it (several may share the work). */
  gateway: z.string().optional(),
});
export type BatchAck = z.infer<typeof batchAckSchema>;

export const deviceErrorSchema = z.strictObject({
  batchId: z.string().nullable(),
  code: z.string(),
  field: z.string().nullable(),
  message: z.string(),
});
export type DeviceError = z.infer<typeof deviceErrorSchema>;

export class PayloadError extends Error {
  readonly code = 'BAD_MESSAGE';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses a payload as JSON and validates it; the error names the field. */
export function parsePayload<T>(schema: z.ZodType<T>, payload: Buffer): T {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new PayloadError('(payload)', 'payload is not JSON');
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || '(payload)';
  throw new PayloadError(field, `${field}: ${issue.message}`);
}

/** The outbox kind of a message for the broker, and its payload: sent as it is, QoS 1. */
export const MQTT_PUBLISH = 'mqtt.publish';

export interface PublishItem {
  topic: string;
  payload: string;
  retain?: boolean;
}
