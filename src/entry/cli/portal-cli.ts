import type { Command } from 'commander';
import { createInvite } from '../../flows/portal/invites.js';
import type { CliKit } from './dock-cli.js';

/** `fieldgate portal …`: the customer usage portal from the command line (docs/portal.md). */
export function registerPortalCommands(program: Command, kit: CliKit): void {
  const portal = program.command('portal').description('the customer usage portal: invitations');
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
}
