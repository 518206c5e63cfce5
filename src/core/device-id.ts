/**
 * One pattern for the names of hand-helds, field devices, radio receivers and technicians'
 * MQTT logins, everywhere an id comes in (FDP/1 HELLO, MQTT logins and topics, the CLI, the API).
 * A name is also a topic level (`<prefix>/devices/<id>/…`), so it may hold no `/`, `+`, `#` or
 * `$`, and cannot be empty or `..` (security probe: `T-17/sub` was accepted, and `T-17`'s
 * subscription `…/T-17/#` then covered it). Letters, digits, `.`, `_` and `-`, starting with a
 * letter or digit, at most 32 characters (the store's column).
 */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

export const DEVICE_ID_RULE =
  'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 32 characters';

export function isDeviceId(id: string): boolean {
  return DEVICE_ID_PATTERN.test(id);
}

/**
 * The device a meter reader's field app is, to the docks' route assignment (one holder per
 * route, the same states and audit): `app.<username>`, or for a long name its start and a hash
 * (usernames run to 64 characters, device ids to 32). Usernames are lower case, so no
 * hand-held's upper-case name meets one by chance.
 */
export function readerDeviceId(username: string, sha256Hex: (text: string) => string): string {
  const id = `app.${username}`;
  return id.length <= 32 ? id : `app.${username.slice(0, 19)}.${sha256Hex(username).slice(0, 8)}`;
}
