/**
 * The longest meter id fieldgate keeps, in every store column and API parameter. Billing's own
 * ids are often 12 characters, but a CIS may use more, and AMI sources name meters by usage
 * point ids, hrefs' last segments and NMIs with serials (issue 18: PostgreSQL refused ids over 12
 * and left the import half-done).
 */
export const METER_ID_MAX = 64;

/** A meter id as a store column keeps it: the source's name, cut at METER_ID_MAX (for exceptions about it). */
export function storedMeterId(id: string): string {
  return id.length > METER_ID_MAX ? id.slice(0, METER_ID_MAX) : id;
}
