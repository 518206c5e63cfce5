import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { AppError } from '../../errors.js';
import { randomPassword } from '../../infra/security/passwords.js';
import { audit } from '../../infra/store/audit-repo.js';
import { ROLES, type Role } from '../../infra/store/tokens-repo.js';
import { disableUser, listUsers, setPassword } from '../../infra/store/users-repo.js';
import { addUser } from '../../flows/users.js';
import type { CliKit } from './dock-cli.js';
import { formatTable } from './output.js';

/** `fieldgate user …`: an admin manages the people who log in to the console. */
const actor = () => `cli:${process.env.USER ?? 'unknown'}`;

/** The password from stdin (one line), or a new random one that is printed once. */
async function passwordFrom(stdin: boolean | undefined): Promise<{ password: string; generated: boolean }> {
  if (!stdin) return { password: randomPassword(), generated: true };
  const text = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (!text) throw new AppError('USAGE', 'no password on stdin', { field: 'password' });
  return { password: text, generated: false };
}

export function registerUserCommands(program: Command, kit: CliKit): void {
  const user = program.command('user').description('console users (people): add, list, disable, set a password');
  user
    .command('add <username>')
    .description('add a user; the password comes from stdin (--password-stdin) or is made up and printed once')
    .addOption(new Option('--role <role>', 'what they may do').choices([...ROLES]).makeOptionMandatory())
    .option('--name <display name>', 'their name as shown in the console')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (username: string, opts: { role: Role; name?: string; passwordStdin?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const { password, generated } = await passwordFrom(opts.passwordStdin);
        const row = await addUser(ctx, { username, role: opts.role, password, displayName: opts.name ?? null });
        await audit(
          ctx.store.db,
          { actor: actor(), action: 'user.create', target: `user:${row.username}`, detail: { role: row.role } },
          ctx.clock(),
        );
        console.log(
          `user ${row.username} (${row.role}) added${generated ? `; password (shown once): ${password}` : ''}`,
        );
      }),
    );
  user
    .command('list')
    .description('every user, with role and whether disabled')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const rows = await listUsers(ctx.store.db, { limit: 10_000, offset: 0 });
        kit.print(Boolean(opts.json), rows, () => formatTable(rows));
      }),
    );
  user
    .command('disable <username>')
    .description('disable a user and end their sessions')
    .action(async (username: string, _o, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        if (!(await disableUser(ctx.store.db, username, ctx.clock())))
          throw new AppError('NOT_FOUND', `no enabled user named ${username}`, { field: 'username' });
        await audit(ctx.store.db, { actor: actor(), action: 'user.disable', target: `user:${username}` }, ctx.clock());
        console.log(`user ${username} disabled; their sessions are ended`);
      }),
    );
  user
    .command('password <username>')
    .description('set a new password (stdin with --password-stdin, or made up and printed once); ends their sessions')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (username: string, opts: { passwordStdin?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const { password, generated } = await passwordFrom(opts.passwordStdin);
        if (!(await setPassword(ctx.store.db, username, password)))
          throw new AppError('NOT_FOUND', `no user named ${username}`, { field: 'username' });
        await audit(ctx.store.db, { actor: actor(), action: 'user.password', target: `user:${username}` }, ctx.clock());
        console.log(`password of ${username} changed${generated ? ` (shown once): ${password}` : ''}`);
      }),
    );
}
