import { AppError } from '../errors.js';

/**
 * Work orders, pure: the types, the states and the moves between them, and what a completion
 * must carry for its type (from config). Who may make a move is part of the move: a technician
 * works an order; a CSR (or the gateway's rules) creates, dispatches and cancels.
 */
export const WORK_ORDER_TYPES = [
  'TurnOn',
  'TurnOff',
  'CutForNonPayment',
  'Reconnect',
  'ExchangeMeter',
  'Install',
  'Remove',
  'ReRead',
  'Investigation',
  'DisconnectWarning',
] as const;
export type WorkOrderType = (typeof WORK_ORDER_TYPES)[number];

export const WORK_ORDER_STATES = [
  'created',
  'dispatched',
  'accepted',
  'en_route',
  'on_site',
  'completed',
  'failed',
  'cancelled',
] as const;
export type WorkOrderState = (typeof WORK_ORDER_STATES)[number];

export const FINAL_STATES: readonly WorkOrderState[] = ['completed', 'failed', 'cancelled'];

export type Actor = { role: 'csr' | 'admin' | 'system'; name: string } | { role: 'tech'; name: string };

/** Moves a technician makes on an order dispatched to them. */
const TECH_MOVES: Partial<Record<WorkOrderState, readonly WorkOrderState[]>> = {
  dispatched: ['accepted'],
  accepted: ['en_route', 'on_site'],
  en_route: ['on_site'],
  on_site: ['completed', 'failed'],
};

/** The technician's moves as a table, for the field app to offer (and check) the same moves as the gateway. */
export function techMoves(): Partial<Record<WorkOrderState, readonly WorkOrderState[]>> {
  return TECH_MOVES;
}

/** Moves the office makes: dispatch (or re-dispatch to another technician) and cancel. */
const OFFICE_MOVES: Partial<Record<WorkOrderState, readonly WorkOrderState[]>> = {
  created: ['dispatched', 'cancelled'],
  dispatched: ['dispatched', 'cancelled'],
  accepted: ['dispatched', 'cancelled'],
  en_route: ['cancelled'],
  on_site: ['cancelled'],
};

/** What a technician can record when completing; config names which each type requires. */
export const COMPLETION_FIELDS = [
  'outcome',
  'finalRead',
  'newMeterSerial',
  'newMeterRead',
  'seals',
  'notes',
  'gps',
  'photos',
] as const;

export interface Completion {
  outcome: string;
  completedAt: string;
  finalRead?: number | null;
  newMeterSerial?: string | null;
  newMeterRead?: number | null;
  seals?: string[];
  notes?: string | null;
  gps?: { lat: number; lon: number } | null;
  photos?: string[];
  reason?: string | null;
}

export interface WorkOrderTypeRules {
  /** Completion fields an order of this type must carry when completed. */
  required: string[];
}

export class WorkOrderError extends AppError {}

/** Checks a move; throws naming the field (`state`, `technician`, a completion field) when it is not allowed. */
export function checkMove(
  order: { orderNo: string; type: WorkOrderType; state: WorkOrderState; technician: string | null },
  to: WorkOrderState,
  actor: Actor,
  input: { technician?: string | null; completion?: Completion | null; reason?: string | null },
  rules: Record<string, WorkOrderTypeRules>,
): void {
  const from = order.state;
  if (actor.role === 'tech') {
    if (order.technician !== actor.name)
      throw new WorkOrderError('NOT_YOURS', `order ${order.orderNo} is not dispatched to ${actor.name}`, {
        status: 403,
        field: 'technician',
        record: order.orderNo,
      });
    if (!TECH_MOVES[from]?.includes(to)) throw forbidden(order.orderNo, from, to, TECH_MOVES[from] ?? []);
  } else if (!OFFICE_MOVES[from]?.includes(to)) {
    throw forbidden(order.orderNo, from, to, OFFICE_MOVES[from] ?? []);
  }
  if (to === 'dispatched' && !input.technician)
    throw new WorkOrderError('BAD_INPUT', 'dispatching needs a technician', {
      field: 'technician',
      record: order.orderNo,
    });
  if (to === 'cancelled' && !input.reason?.trim())
    throw new WorkOrderError('BAD_INPUT', 'cancelling needs a reason; it is recorded with the order', {
      field: 'reason',
      record: order.orderNo,
    });
  if (to === 'failed' && !input.completion?.reason?.trim())
    throw new WorkOrderError('BAD_INPUT', 'a failed order needs a reason', { field: 'reason', record: order.orderNo });
  if (to === 'completed') checkCompletion(order.orderNo, order.type, input.completion ?? null, rules);
}

/** The fields an order's type requires on completion (config workOrders.types). */
export function checkCompletion(
  orderNo: string,
  type: WorkOrderType,
  c: Completion | null,
  rules: Record<string, WorkOrderTypeRules>,
): void {
  if (!c)
    throw new WorkOrderError('BAD_INPUT', 'completing needs the completion', { field: 'completion', record: orderNo });
  for (const field of rules[type]?.required ?? []) {
    const v = (c as unknown as Record<string, unknown>)[field];
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) {
      throw new WorkOrderError('BAD_INPUT', `a completed ${type} needs ${field}`, { field, record: orderNo });
    }
  }
}

function forbidden(
  orderNo: string,
  from: WorkOrderState,
  to: WorkOrderState,
  allowed: readonly WorkOrderState[],
): WorkOrderError {
  const next = allowed.length ? `from ${from} it can go to ${allowed.join(', ')}` : `${from} is final`;
  return new WorkOrderError('BAD_STATE', `order ${orderNo} cannot go from ${from} to ${to}: ${next}`, {
    status: 409,
    field: 'state',
    value: to,
    record: orderNo,
  });
}

/**
 * Which technicians' devices must hear of a change to an order, and what: the order as it is now
 * while it is theirs (a cancellation too, so the tablet learns of it), or 'clear' once it was
 * taken from them or is completed or failed. Transport-neutral: MQTT turns it into retained topics.
 */
export function technicianNotices(
  before: { technician: string | null },
  after: { technician: string | null; state: WorkOrderState },
): { technician: string; what: 'order' | 'clear' }[] {
  const out: { technician: string; what: 'order' | 'clear' }[] = [];
  if (before.technician && before.technician !== after.technician)
    out.push({ technician: before.technician, what: 'clear' });
  if (after.technician)
    out.push({
      technician: after.technician,
      what: after.state === 'completed' || after.state === 'failed' ? 'clear' : 'order',
    });
  return out;
}
