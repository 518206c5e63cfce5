import { isDeviceId } from '../../src/core/device-id.js';

/**
 * The MQTT topic tree (docs/mqtt.md), pure. Everything of one device lives under
 * `<prefix>/devices/<deviceId>/`, which is also what the broker's ACL lets that device touch.
 */
export const DEVICE_TO_GATEWAY = ['status', 'readings', 'routes/request', 'routes/ack'] as const;
export type DeviceTopic = (typeof DEVICE_TO_GATEWAY)[number];
/** What the gateway receives: a device's topics, radio reads from rtlamr and wmbusmeters receivers, technicians' updates. */
export type InboundKind = DeviceTopic | 'rtlamr' | 'wmbusmeters' | 'tech/updates';

/** Whether a topic matches an MQTT filter (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

export class Topics {
  constructor(
    readonly prefix: string,
    /** Where wmbusmeters publishes its telegrams (ami.wmbusmeters.topic), outside fieldgate's tree; null: not taken. */
    readonly wmbusFilter: string | null = null,
  ) {}

  device(deviceId: string): string {
    return `${this.prefix}/devices/${deviceId}`;
  }

  /** What a device publishes: status (retained, and its last will), readings, route requests and route acks. */
  fromDevice(deviceId: string, kind: DeviceTopic): string {
    return `${this.device(deviceId)}/${kind}`;
  }

  acks(deviceId: string): string {
    return `${this.device(deviceId)}/acks`;
  }

  errors(deviceId: string): string {
    return `${this.device(deviceId)}/errors`;
  }

  /** A route for the device (retained until it confirmed it), apart from the device's own routes/… topics. */
  route(deviceId: string, route: string): string {
    return `${this.device(deviceId)}/route/${route}`;
  }

  /** Where a radio receiver (an SDR running rtlamr) publishes what it hears: one JSON read per message. */
  rtlamr(receiverId: string): string {
    return `${this.prefix}/rtlamr/${receiverId}`;
  }

  /** A topic wmbusmeters publishes telegrams to. */
  isWmbus(topic: string): boolean {
    return this.wmbusFilter !== null && topicMatches(this.wmbusFilter, topic);
  }

  /** A technician's own tree: their orders (retained, one topic each), their updates, the replies. */
  tech(techId: string): string {
    return `${this.prefix}/techs/${techId}`;
  }

  techOrder(techId: string, orderNo: string): string {
    return `${this.tech(techId)}/orders/${orderNo}`;
  }

  techUpdates(techId: string): string {
    return `${this.tech(techId)}/updates`;
  }

  techReplies(techId: string): string {
    return `${this.tech(techId)}/replies`;
  }

  /** Technician ACL: publish only their updates; subscribe only below their own tree. */
  techMaySubscribe(techId: string, filter: string): boolean {
    const own = `${this.tech(techId)}/`;
    return filter.startsWith(own) && !filter.includes('$share');
  }

  /** The gateway's subscriptions, as shared subscriptions when a group is given (MQTT 5). */
  gatewayFilters(sharedGroup: string | null): string[] {
    return [
      ...DEVICE_TO_GATEWAY.map((kind) => `${this.prefix}/devices/+/${kind}`),
      `${this.prefix}/rtlamr/+`,
      `${this.prefix}/techs/+/updates`,
      ...(this.wmbusFilter ? [this.wmbusFilter] : []),
    ].map((filter) => (sharedGroup ? `$share/${sharedGroup}/${filter}` : filter));
  }

  /** Which device (or receiver) and what kind a received topic is, or null for anything else. */
  parse(topic: string): { deviceId: string; kind: InboundKind } | null {
    const techs = `${this.prefix}/techs/`;
    if (topic.startsWith(techs) && topic.endsWith('/updates')) {
      const tech = topic.slice(techs.length, -'/updates'.length);
      return isDeviceId(tech) ? { deviceId: tech, kind: 'tech/updates' } : null;
    }
    const radio = `${this.prefix}/rtlamr/`;
    if (topic.startsWith(radio)) {
      const receiver = topic.slice(radio.length);
      return isDeviceId(receiver) ? { deviceId: receiver, kind: 'rtlamr' } : null;
    }
    const head = `${this.prefix}/devices/`;
    if (!topic.startsWith(head)) {
      // The last level names the meter (wmbusmeters/$METER_ID); the telegram itself says which.
      if (!this.isWmbus(topic)) return null;
      return { deviceId: topic.slice(topic.lastIndexOf('/') + 1).slice(0, 64) || '(none)', kind: 'wmbusmeters' };
    }
    const rest = topic.slice(head.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return null;
    const kind = rest.slice(slash + 1) as DeviceTopic;
    const deviceId = rest.slice(0, slash);
    return DEVICE_TO_GATEWAY.includes(kind) && isDeviceId(deviceId) ? { deviceId, kind } : null;
  }

  /** Device ACL: publish only its own device-to-gateway topics. */
  deviceMayPublish(deviceId: string, topic: string): boolean {
    return DEVICE_TO_GATEWAY.some((kind) => topic === this.fromDevice(deviceId, kind));
  }

  /** Device ACL: subscribe only below its own device topic (wildcards after that cannot leave it). */
  deviceMaySubscribe(deviceId: string, filter: string): boolean {
    const own = `${this.device(deviceId)}/`;
    return filter.startsWith(own) && !filter.slice(0, own.length).includes('+') && !filter.includes('$share');
  }
}
