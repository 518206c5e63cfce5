/** What a CSR can have a docked hand-held do with a route, and where that command stands. */

export type DockCommandKind = 'load' | 'clear';
export type DockCommandStatus = 'pending' | 'done' | 'failed' | 'cancelled';
