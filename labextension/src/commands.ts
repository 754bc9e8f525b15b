/**
 * The commands (sign in, sign out, show the accounts), their place in the
 * command palette, and the panel buttons that run them.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { SignInRunner } from './actions/signIn';
import { signOut } from './actions/signOut';
import { AccountsModel } from './model/accounts';
import { CommandIDs } from './tokens';
import { isSignInMethod, methodWords, SIGN_IN_METHODS } from './util/methods';
import { AccountsPopup } from './widgets/accountsPopup';
import { IPanelActions } from './widgets/panel';

export { CommandIDs };

/** What `app.commands.addCommand` takes. */
type CommandOptions = Parameters<JupyterFrontEnd['commands']['addCommand']>[1];

/** What the commands act on. */
export interface ICommandContext {
  /** The accounts. */
  model: AccountsModel;
  /** Starts sign-ins. */
  signIns: SignInRunner;
  /** The accounts panel. */
  panel: Pick<AccountsPopup, 'open'>;
  /** The indicator the panel opens next to, when it is visible. */
  indicator: Widget;
  /** The translation bundle for labels and messages. */
  trans: TranslationBundle;
}

/** Add the commands to the application. */
export function addCommands(
  app: JupyterFrontEnd,
  context: ICommandContext
): void {
  const { commands } = app;
  commands.addCommand(CommandIDs.signIn, signInCommand(context));
  commands.addCommand(CommandIDs.signOut, signOutCommand(context));
  commands.addCommand(CommandIDs.showAccounts, showAccountsCommand(context));
  context.model.changed.connect(() =>
    commands.notifyCommandChanged(CommandIDs.signOut)
  );
}

/** Every sign-in method, in words: "a device code, the browser or the broker". */
export function methodsInWords(trans: TranslationBundle): string {
  const words = Object.values(methodWords(trans));
  const last = words.pop() ?? '';
  return words.length ? trans.__('%1 or %2', words.join(', '), last) : last;
}

/** Sign in (argument `method`, optional). */
function signInCommand({ signIns, trans }: ICommandContext): CommandOptions {
  return {
    label: trans.__('Sign in to Microsoft…'),
    caption: trans.__(
      'Sign in to Microsoft Entra ID (with %1)',
      methodsInWords(trans)
    ),
    describedBy: {
      args: {
        type: 'object',
        properties: {
          method: {
            type: 'string',
            enum: [...SIGN_IN_METHODS],
            description: trans.__(
              'The sign-in method (default: ask or the setting).'
            )
          }
        }
      }
    },
    execute: args => {
      const method = args['method'];
      return signIns.signIn(isSignInMethod(method) ? method : undefined);
    }
  };
}

/** Sign out (arguments `account` or `all`, optional). */
function signOutCommand({ model, trans }: ICommandContext): CommandOptions {
  return {
    label: args =>
      args['account']
        ? trans.__('Sign out of Microsoft (%1)', args['account'] as string)
        : trans.__('Sign out of Microsoft'),
    caption: trans.__(
      'Remove signed-in Microsoft accounts from the token cache'
    ),
    describedBy: {
      args: {
        type: 'object',
        properties: {
          account: {
            type: 'string',
            description: trans.__(
              'home_account_id or username of the account to sign out of'
            )
          },
          all: {
            type: 'boolean',
            description: trans.__('Sign out of every account (asks first)')
          }
        }
      }
    },
    isEnabled: () => model.accounts.length > 0 || model.state !== 'ok',
    // without `account`, every account is signed out: `all` only says so
    execute: args =>
      signOut(model, trans, args['account'] as string | undefined)
  };
}

/** Open the accounts panel, next to the indicator when it is visible. */
function showAccountsCommand({
  panel,
  indicator,
  trans
}: ICommandContext): CommandOptions {
  return {
    label: trans.__('Show Microsoft Accounts'),
    caption: trans.__(
      'Show signed-in Microsoft accounts and the sign-in configuration'
    ),
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => {
      panel.open(
        indicator.isAttached && indicator.isVisible ? indicator : null
      );
    }
  };
}

/** Add the commands to the command palette. */
export function addCommandsToPalette(
  palette: ICommandPalette,
  trans: TranslationBundle
): void {
  const category = trans.__('Microsoft');
  for (const command of [
    CommandIDs.signIn,
    CommandIDs.signOut,
    CommandIDs.showAccounts
  ]) {
    palette.addItem({ command, category });
  }
}

/** The accounts panel's buttons, as commands. */
export function panelActions(app: JupyterFrontEnd): IPanelActions {
  const { commands } = app;
  return {
    signIn: () => void commands.execute(CommandIDs.signIn),
    signOut: account =>
      void commands.execute(CommandIDs.signOut, {
        account: account.home_account_id
      }),
    signOutAll: () => void commands.execute(CommandIDs.signOut, { all: true })
  };
}
