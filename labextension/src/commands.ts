/**
 * The commands (sign in, sign out, show the accounts), their place in the
 * command palette, and the panel buttons that run them.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { isSignInMethod, SIGN_IN_METHODS } from './methods';
import { AccountsModel } from './model';
import { AccountsPanel, IPanelActions } from './panel';
import { SignInRunner } from './signInRunner';
import { signOut } from './signOut';

/** The command ids. */
export namespace CommandIDs {
  /** Sign in (argument `method`, optional). */
  export const signIn = 'jupyter-msal:sign-in';
  /** Sign out (arguments `account` or `all`, optional). */
  export const signOut = 'jupyter-msal:sign-out';
  /** Open the accounts panel. */
  export const showAccounts = 'jupyter-msal:show-accounts';
}

/** What the commands act on. */
export interface ICommandContext {
  /** The accounts. */
  model: AccountsModel;
  /** Starts sign-ins. */
  signIns: SignInRunner;
  /** The accounts panel. */
  panel: AccountsPanel;
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
  const { model, signIns, panel, indicator, trans } = context;
  const { commands } = app;

  commands.addCommand(CommandIDs.signIn, {
    label: trans.__('Sign in to Microsoft…'),
    caption: trans.__('Sign in to Microsoft Entra ID (device code or broker)'),
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
  });

  commands.addCommand(CommandIDs.signOut, {
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
  });

  commands.addCommand(CommandIDs.showAccounts, {
    label: trans.__('Show Microsoft Accounts'),
    caption: trans.__(
      'Show signed-in Microsoft accounts and the sign-in configuration'
    ),
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => {
      panel.open(
        indicator.isAttached && indicator.isVisible ? indicator.node : null
      );
    }
  });

  model.changed.connect(() =>
    commands.notifyCommandChanged(CommandIDs.signOut)
  );
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
