/**
 * Who a login or token is: what it may see and do follows from this alone. A `customer` is a
 * portal user: it sees the accounts it registered, and nothing of the gateway's own work.
 */
export const ROLES = ['csr', 'tech', 'reader', 'admin', 'device', 'customer'] as const;
export type Role = (typeof ROLES)[number];
