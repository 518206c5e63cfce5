/**
 * Route states as CSRs know them from dock software. A route is on one device at a time.
 *   no_meters → ready → loaded → uploaded → committed → cleared
 * `uploaded` means the readings file arrived (a backup exists); `committed` that every record
 * is stored; `cleared` that the device deleted the route after the gateway said CLEAR.
 */
export const ROUTE_STATES = ['no_meters', 'ready', 'loaded', 'uploaded', 'committed', 'cleared'] as const;
export type RouteState = (typeof ROUTE_STATES)[number];

export type RouteEvent = 'prepare' | 'load' | 'upload' | 'commit' | 'clear' | 'reset';

const TRANSITIONS: Record<RouteEvent, Partial<Record<RouteState, RouteState>>> = {
  prepare: { no_meters: 'ready', ready: 'ready', cleared: 'ready' },
  load: { ready: 'loaded', cleared: 'loaded' },
  upload: { loaded: 'uploaded', uploaded: 'uploaded' },
  commit: { uploaded: 'committed', committed: 'committed' },
  clear: { committed: 'cleared', cleared: 'cleared' },
  // A CSR may always put a route back to ready, with a reason that is recorded.
  reset: {
    no_meters: 'ready',
    ready: 'ready',
    loaded: 'ready',
    uploaded: 'ready',
    committed: 'ready',
    cleared: 'ready',
  },
};

export type TransitionResult = { ok: true; state: RouteState } | { ok: false; reason: string };

export function transition(state: RouteState, event: RouteEvent): TransitionResult {
  const next = TRANSITIONS[event][state];
  if (next) return { ok: true, state: next };
  const from = Object.keys(TRANSITIONS[event]).join(', ');
  return { ok: false, reason: `cannot ${event} a route that is ${state.replace('_', ' ')} (allowed from: ${from})` };
}
