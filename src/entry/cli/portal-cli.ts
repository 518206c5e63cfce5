import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { createInvite } from '../../flows/portal/invites.js';
import { isRedirectUriAllowed, registerClient } from '../../flows/portal/connect-my-data.js';
import type { CliKit } from './dock-cli.js';

/** `fieldgate portal …`: the customer usage portal from the command line (docs/portal.md). */
export function registerPortalCommands(program: Command, kit: CliKit): void {
  const portal = program
    .command('portal')
    .description('the customer usage portal: invitations, Green Button Connect My Data third parties');
  portal
    .command('invite <account>')
    .description('make a registration code for an account (shown once: print it on the bill or send it)')
    .option('--json', 'print JSON')
    .action(async (account: string, opts: { json?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const invite = await createInvite(ctx, account, `cli:${process.env.USER ?? 'unknown'}`);
        kit.print(Boolean(opts.json), invite, () =>
          [
            `registration code for account ${invite.accountNo}: ${invite.code}`,
            `good until ${invite.expiresAt}; the customer registers at /portal/register.html`,
          ].join('\n'),
        );
      }),
    );
  portal
    .command('app-add <name>')
    .description('register a Connect My Data third party; its client id and secret are printed once')
    .requiredOption(
      '--redirect-uri <uri...>',
      'where the customer is sent back with the code (https, or http on localhost)',
    )
    .requiredOption(
      '--scope <scope...>',
      'the ESPI scopes it may ask for, e.g. FB=1_3_4_5_13_14_39;IntervalDuration=3600',
    )
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { redirectUri: string[]; scope: string[]; json?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const bad = opts.redirectUri.find((u) => !isRedirectUriAllowed(u));
        if (bad)
          throw new AppError('USAGE', `redirect URI ${bad}: https, or http on localhost`, { field: 'redirect-uri' });
        const app = await registerClient(
          ctx,
          { name, redirectUris: opts.redirectUri, scopes: opts.scope },
          `cli:${process.env.USER ?? 'unknown'}`,
        );
        kit.print(Boolean(opts.json), app, () =>
          [
            `third party ${name} registered`,
            `client id:     ${app.clientId}`,
            `client secret: ${app.clientSecret}  (shown once)`,
          ].join('\n'),
        );
      }),
    );
}
