/**
 * `fieldgate dock …` and `fieldgate devices …`. Commands that queue work for a hand-held write
 * to the store (the running gateway picks them up within dock.pollMs); `dock status` asks the
 * running gateway, which alone knows its ports, over the API.
 */

import { Option, type Command } from 'commander';
import type { GatewayContext } from '../../flows/context.js';
import type { Config } from '../../infra/config/schema.js';
import { assignRoute, clearRoute, reloadRoute } from '../../flows/dock/dock-commands.js';
import type { DockStatus } from '../../flows/dock/dock-service.js';
import { AppError, NotFoundError } from '../../errors.js';
import { listDevices, recentCommands, setDeviceApproved } from '../../infra/store/dock-repo.js';
import { issueMqttSecret } from '../../infra/store/mqtt-accounts-repo.js';
import { formatTable } from './output.js';

export interface CliKit {
  configOf(cmd: Command): Config;
  withContext(cmd: Command, work: (ctx: GatewayContext) => Promise<void>): Promise<void>;
  print(json: boolean, value: unknown, text: () => string): void;
  /** The command did not do all it was asked: it exits 1 after printing what it did. */
  fail(): void;
}

const actor = () => `cli:${process.env.USER ?? 'unknown'}`;

export function registerDockCommands(program: Command, kit: CliKit): void {
  const dock = program
    .command('dock')
    .description('hand-held docks: status, and routes to load or clear at the next dock');
  dock
    .command('status')
    .description(
      'each dock port, the device on it, its battery and routes, and a transfer in progress (asks the running gateway)',
    )
    .option('--url <url>', 'the gateway (default: server.host and server.port from config)')
    .option('--token <token>', 'an API token with the csr or admin role (or FIELDGATE_TOKEN)')
    .option('--json', 'print JSON')
    .option('--watch', 'follow live progress until Ctrl-C')
    .action(async (opts: { url?: string; token?: string; json?: boolean; watch?: boolean }, cmd: Command) => {
      const config = kit.configOf(cmd);
      const base = opts.url ?? `http://${config.server.host}:${config.server.port}`;
      const token = opts.token ?? process.env.FIELDGATE_TOKEN;
      if (!token)
        throw new AppError('USAGE', 'dock status needs an API token: --token <token> or FIELDGATE_TOKEN', {
          field: 'token',
        });
      const headers = { authorization: `Bearer ${token}` };
      const get = async (path: string) => {
        try {
          return await fetch(`${base}${path}`, { headers });
        } catch {
          throw new AppError(
            'GATEWAY_UNREACHABLE',
            `no gateway answers at ${base}: is \`fieldgate start\` running? (--url to point elsewhere)`,
          );
        }
      };
      const res = await get(opts.watch ? '/api/dock/events' : '/api/dock');
      if (!res.ok) throw new AppError('HTTP', `${base} answered ${res.status}: ${await res.text()}`);
      if (!opts.watch) {
        const { items } = (await res.json()) as { items: DockStatus[] };
        kit.print(Boolean(opts.json), items, () => describeDocks(items));
        return;
      }
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(part, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = event.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const status = JSON.parse(data.slice(6)) as DockStatus;
          console.log(opts.json ? JSON.stringify(status) : describeDocks([status]));
        }
      }
    });

  dock
    .command('assign <route> <device>')
    .description('load a route on a hand-held at its next dock (refused if the route is on another device)')
    .action(async (route: string, device: string, _o, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const c = await assignRoute(ctx, { routeCode: route, deviceId: device, actor: actor() });
        console.log(
          `route ${route} assigned to ${device} (command ${c.id}); it goes to ${device} when it docks or syncs over ` +
            `MQTT`,
        );
      }),
    );
  dock
    .command('reload <route> <device>')
    .description('send a route again, to the same or another hand-held; the old copy is given up with the reason')
    .requiredOption('--reason <text>', 'why (recorded with the route)')
    .action(async (route: string, device: string, opts: { reason: string }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const c = await reloadRoute(ctx, { routeCode: route, deviceId: device, reason: opts.reason, actor: actor() });
        console.log(`route ${route} will be re-loaded on ${device} (command ${c.id})`);
      }),
    );
  dock
    .command('clear <route>')
    .description('take a route off the hand-held holding it at its next dock (its readings are unloaded first)')
    .requiredOption('--reason <text>', 'why (recorded with the route)')
    .action(async (route: string, opts: { reason: string }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const c = await clearRoute(ctx, { routeCode: route, reason: opts.reason, actor: actor() });
        console.log(`route ${route} will be cleared from ${c.device_id} at its next dock (command ${c.id})`);
      }),
    );
  dock
    .command('commands')
    .description('recent load and clear commands, with their outcome')
    .option('--device <id>', 'only this device')
    .option('--json', 'print JSON')
    .action(async (opts: { device?: string; json?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const rows = await recentCommands(ctx.store.db, { deviceId: opts.device, limit: 50 });
        kit.print(Boolean(opts.json), rows, () =>
          formatTable(rows, [
            'id',
            'device_id',
            'route_code',
            'command',
            'status',
            'actor',
            'reason',
            'detail',
            'created_at',
            'done_at',
          ]),
        );
      }),
    );

  const devices = program.command('devices').description('hand-helds the gateway has seen');
  devices
    .command('list')
    .description('devices, whether approved, battery and when last seen')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const rows = await listDevices(ctx.store.db);
        kit.print(Boolean(opts.json), rows, () => formatTable(rows));
      }),
    );
  devices
    .command('secret <device>')
    .description('issue (or rotate) the MQTT secret a field device logs in with; printed once')
    .action(async (device: string, _o, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const secret = await issueMqttSecret(ctx.store.db, device, 'device', ctx.clock());
        console.log(secret);
      }),
    );
  program
    .command('mqtt-account <name>')
    .description(
      'issue (or rotate) a login for the embedded MQTT broker, printed once: csr or admin (may watch device ' +
        "topics), radio (an rtlamr receiver; publishes to <prefix>/rtlamr/<name>), or tech (a technician's tablet; " +
        'works orders on <prefix>/techs/<name>/)',
    )
    .addOption(
      new Option('--role <role>', 'what it may do').choices(['csr', 'admin', 'radio', 'tech']).makeOptionMandatory(),
    )
    .action(async (name: string, opts: { role: 'csr' | 'admin' | 'radio' | 'tech' }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        console.log(await issueMqttSecret(ctx.store.db, name, opts.role, ctx.clock()));
      }),
    );
  devices
    .command('approve <device>')
    .description('let a new hand-held dock (it was refused with UNKNOWN_DEVICE until now)')
    .action(async (device: string, _o, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        if ((await setDeviceApproved(ctx.store.db, device, true)) === 0) throw new NotFoundError('device', device);
        console.log(`${device} approved; it is welcomed at its next HELLO`);
      }),
    );
}

/** Docks as a CSR reads them: one block per port. */
export function describeDocks(items: DockStatus[]): string {
  if (items.length === 0) return 'no dock ports configured (dock.ports in config, or fieldgate start --dock <port>)';
  return items
    .map((s) => {
      const lines = [`${s.name}  ${s.port}  ${s.phase}: ${s.detail}`];
      if (s.device) {
        const skew = s.device.clockSkewSeconds ? `, clock was ${s.device.clockSkewSeconds} s off` : '';
        lines.push(
          `  device ${s.device.id} (${s.device.model ?? '?'} fw ${s.device.firmware ?? '?'}), battery ` +
            `${s.device.battery ?? '?'}%${skew}`,
        );
      }
      for (const r of s.routes)
        lines.push(`  route ${r.route} ${r.cycle ?? ''}: ${r.records} records, ${r.read} read, ${r.state}`);
      const t = s.transfer;
      if (t) {
        const pct = t.bytesTotal ? Math.floor((100 * t.bytesDone) / t.bytesTotal) : 100;
        const left = t.secondsLeft === null ? '' : `, ${t.secondsLeft} s left`;
        lines.push(
          `  ${t.direction} ${t.route}: ${pct}%  ${t.bytesDone}/${t.bytesTotal} bytes, ` +
            `${t.records}/${t.recordsTotal} records, ${t.bytesPerSecond} B/s${left}`,
        );
      }
      if (s.last) lines.push(`  last: ${s.last}`);
      lines.push(`  link: ${s.counters.resent} frames resent, ${s.counters.dropped} bad frames dropped`);
      return lines.join('\n');
    })
    .join('\n\n');
}
