/**
 * jupyter-msal front end: who is signed in to Microsoft, sign in, sign out.
 * Works in JupyterLab 4 (status bar) and Notebook 7 (top bar).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';

import { IAccount, MsalClient, MsalApiError, SignInMethod } from './api';
// the indicator is needed at once in activate()
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { AccountsPanel, MsalIndicator } from './indicator';
import { describeProblem } from './messages';
import { AccountsModel, documentVisibility } from './model';
import { SessionPhase, SignInSession } from './signin';

export * from './api';
export * from './messages';
export * from './model';
export * from './signin';

const PLUGIN_ID = 'jupyter-msal:plugin';

/** The command ids. */
export namespace CommandIDs {
  export const signIn = 'jupyter-msal:sign-in';
  export const signOut = 'jupyter-msal:sign-out';
  export const showAccounts = 'jupyter-msal:show-accounts';
}

/** The front-end settings (schema/plugin.json). */
export interface IFrontEndSettings {
  showIndicator: boolean;
  indicatorPlacement: 'auto' | 'status-bar' | 'top';
  pollInterval: number;
  signInMethod: 'ask' | SignInMethod;
  scopes: string[];
}

export const DEFAULT_SETTINGS: IFrontEndSettings = {
  showIndicator: true,
  indicatorPlacement: 'auto',
  pollInterval: 5,
  signInMethod: 'ask',
  scopes: []
};

/** Read the composite settings defensively. */
export function readSettings(composite: {
  [key: string]: unknown;
}): IFrontEndSettings {
  const s = { ...DEFAULT_SETTINGS };
  if (typeof composite.showIndicator === 'boolean') {
    s.showIndicator = composite.showIndicator;
  }
  if (
    composite.indicatorPlacement === 'status-bar' ||
    composite.indicatorPlacement === 'top' ||
    composite.indicatorPlacement === 'auto'
  ) {
    s.indicatorPlacement = composite.indicatorPlacement;
  }
  if (
    typeof composite.pollInterval === 'number' &&
    composite.pollInterval >= 1
  ) {
    s.pollInterval = composite.pollInterval;
  }
  if (
    ['ask', 'auto', 'device_code', 'broker'].includes(
      composite.signInMethod as string
    )
  ) {
    s.signInMethod =
      composite.signInMethod as IFrontEndSettings['signInMethod'];
  }
  if (Array.isArray(composite.scopes)) {
    s.scopes = composite.scopes.filter(
      (x): x is string => typeof x === 'string' && x.length > 0
    );
  }
  return s;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Shows who is signed in to Microsoft Entra ID; sign in and sign out without a kernel.',
  autoStart: true,
  optional: [ISettingRegistry, IStatusBar, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null
  ) => {
    let settings = { ...DEFAULT_SETTINGS };
    const client = new MsalClient({
      serverSettings: app.serviceManager.serverSettings
    });
    const model = new AccountsModel({
      client,
      pollInterval: settings.pollInterval * 1000,
      visibility: documentVisibility()
    });

    // ---- sign-in ---------------------------------------------------------
    let active: SignInSession | null = null;

    const reportOutcome = (session: SignInSession, phase: SessionPhase) => {
      if (active === session) {
        active = null;
      }
      void model.refresh();
      if (phase === 'succeeded') {
        const name = session.flow?.account?.username;
        Notification.success(
          name
            ? `Signed in to Microsoft as ${name}.`
            : 'Signed in to Microsoft.',
          { autoClose: 5000 }
        );
      } else if (phase === 'cancelled') {
        Notification.info('Microsoft sign-in cancelled.', { autoClose: 4000 });
      } else {
        const problem = describeProblem(session.error, phase);
        Notification.error(`${problem.title}. ${problem.detail}`, {
          autoClose: false
        });
      }
    };

    const chooseMethod = async (): Promise<SignInMethod | null> => {
      if (settings.signInMethod !== 'ask') {
        return settings.signInMethod;
      }
      const status = model.status ?? (await model.loadStatus());
      if (!status || !status.broker?.available) {
        return 'auto';
      }
      const result = await showDialog({
        title: 'Sign in to Microsoft',
        body:
          'Sign in with the broker of this computer (your work account in Windows or macOS), ' +
          'or with a code entered in any browser?',
        buttons: [
          Dialog.cancelButton(),
          Dialog.createButton({
            label: 'Use a code',
            className: 'jp-msal-method-device-code'
          }),
          Dialog.okButton({
            label: 'Use the broker',
            className: 'jp-msal-method-broker'
          })
        ]
      });
      if (!result.button.accept) {
        return null;
      }
      return result.button.label === 'Use the broker'
        ? 'broker'
        : 'device_code';
    };

    const signIn = async (method?: SignInMethod) => {
      const chosen = method ?? (await chooseMethod());
      if (!chosen) {
        return;
      }
      const { showSignInDialog } = await import('./dialog');
      await showSignInDialog({
        createSession: () => {
          if (active && !active.isDone) {
            // one sign-in at a time from this page
            void active.cancel();
          }
          active = new SignInSession({
            client,
            method: chosen,
            scopes: settings.scopes
          });
          return active;
        },
        onFinished: reportOutcome
      });
    };

    // ---- sign-out --------------------------------------------------------
    const names = (accounts: IAccount[]) =>
      accounts.map(a => a.username || a.home_account_id).join(', ');

    // `all` is accepted for clarity; without `account` every account is signed out
    const signOut = async (account?: string, all?: boolean) => {
      try {
        let removed: IAccount[];
        if (account) {
          removed = await model.signOut(account);
        } else {
          const current = model.accounts;
          if (!current.length) {
            Notification.info('You are not signed in to Microsoft.', {
              autoClose: 4000
            });
            return;
          }
          if (current.length > 1) {
            const answer = await showDialog({
              title: 'Sign out of Microsoft',
              body: `Sign out of ${names([...current])}? Kernels using these accounts will need a new sign-in.`,
              buttons: [
                Dialog.cancelButton(),
                Dialog.warnButton({ label: 'Sign out' })
              ]
            });
            if (!answer.button.accept) {
              return;
            }
          }
          removed =
            current.length === 1
              ? await model.signOut(current[0].home_account_id)
              : await model.signOutAll();
        }
        Notification.success(
          removed.length
            ? `Signed out of ${names(removed)}.`
            : 'No account was signed in.',
          { autoClose: 4000 }
        );
      } catch (error) {
        const message =
          error instanceof MsalApiError ? error.message : String(error);
        Notification.error(`Sign-out failed: ${message}`, { autoClose: false });
        void model.refresh();
      }
    };

    // ---- widgets ---------------------------------------------------------
    const panel = new AccountsPanel({
      model,
      actions: {
        signIn: () => void app.commands.execute(CommandIDs.signIn),
        signOut: account =>
          void app.commands.execute(CommandIDs.signOut, {
            account: account.home_account_id
          }),
        signOutAll: () =>
          void app.commands.execute(CommandIDs.signOut, { all: true })
      }
    });
    const indicator = new MsalIndicator({
      model,
      onActivate: () => panel.toggle(indicator.node)
    });

    // ---- commands --------------------------------------------------------
    app.commands.addCommand(CommandIDs.signIn, {
      label: 'Sign in to Microsoft…',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            method: {
              type: 'string',
              enum: ['auto', 'device_code', 'broker'],
              description: 'The sign-in method (default: ask or the setting).'
            }
          }
        }
      },
      caption: 'Sign in to Microsoft Entra ID (device code or broker)',
      execute: args => {
        const method = args['method'] as SignInMethod | undefined;
        return signIn(
          method && ['auto', 'device_code', 'broker'].includes(method)
            ? method
            : undefined
        );
      }
    });
    app.commands.addCommand(CommandIDs.signOut, {
      label: args =>
        args['account']
          ? `Sign out of Microsoft (${args['account'] as string})`
          : 'Sign out of Microsoft',
      caption: 'Remove signed-in Microsoft accounts from the token cache',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            account: {
              type: 'string',
              description:
                'home_account_id or username of the account to sign out of'
            },
            all: {
              type: 'boolean',
              description: 'Sign out of every account (asks first)'
            }
          }
        }
      },
      isEnabled: () => model.accounts.length > 0 || model.state !== 'ok',
      execute: args =>
        signOut(args['account'] as string | undefined, !!args['all'])
    });
    app.commands.addCommand(CommandIDs.showAccounts, {
      label: 'Show Microsoft Accounts',
      caption:
        'Show signed-in Microsoft accounts and the sign-in configuration',
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => {
        panel.open(
          indicator.isAttached && indicator.isVisible ? indicator.node : null
        );
      }
    });
    model.changed.connect(() =>
      app.commands.notifyCommandChanged(CommandIDs.signOut)
    );
    if (palette) {
      const category = 'Microsoft';
      palette.addItem({ command: CommandIDs.signIn, category });
      palette.addItem({ command: CommandIDs.signOut, category });
      palette.addItem({ command: CommandIDs.showAccounts, category });
    }

    // ---- placement -------------------------------------------------------
    const place = () => {
      const useStatusBar =
        statusBar !== null && settings.indicatorPlacement !== 'top';
      if (useStatusBar) {
        statusBar.registerStatusItem('jupyter-msal:indicator', {
          item: indicator,
          align: 'left',
          rank: 1000
        });
      } else {
        indicator.addClass('jp-msal-indicator-top');
        app.shell.add(indicator, 'top', { rank: 1000 });
      }
      indicator.setHidden(!settings.showIndicator);
    };

    const applySettings = (next: IFrontEndSettings) => {
      settings = next;
      model.pollInterval = settings.pollInterval * 1000;
      indicator.setHidden(!settings.showIndicator);
    };

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(loaded => {
          applySettings(readSettings(loaded.composite as any));
          loaded.changed.connect(() =>
            applySettings(readSettings(loaded.composite as any))
          );
        })
        .catch(reason => {
          console.warn('jupyter-msal: could not load settings', reason);
        })
        .then(place, place);
    } else {
      place();
    }

    model.start();
  }
};

export default plugin;
