/** Who a login or token is: what it may see and do follows from this alone. */
export const ROLES = ['csr', 'tech', 'reader', 'admin', 'device'] as const;
export type Role = (typeof ROLES)[number];
