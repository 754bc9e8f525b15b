/**
 * jupyter-msal front end: who is signed in to Microsoft, sign in, sign out.
 * Works in JupyterLab 4 (status bar) and Notebook 7 (top bar). Other
 * extensions require `IMsalAccounts` (tokens.ts).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator } from '@jupyterlab/translation';

/* eslint-disable jupyter/prefer-lazy-imports --
   activate() builds these at once: the indicator shows the accounts from the
   start; only the sign-in dialog is loaded when first needed. */
import { SignInRunner } from './actions/signIn';
import { TokenWantedNotifier } from './actions/tokenWanted';
import { MsalClient } from './api';
import { addCommands, addCommandsToPalette, panelActions } from './commands';
import { AccountsModel } from './model/accounts';
import { ServerEvents } from './model/serverEvents';
import {
  FrontEndSettings,
  IFrontEndSettings,
  PLUGIN_ID
} from './model/settings';
import { CommandIDs, IMsalAccounts } from './tokens';
import { translationBundle } from './util/i18n';
import { AccountsPopup } from './widgets/accountsPopup';
import { MsalIndicator } from './widgets/indicator';
import { placeIndicator } from './widgets/placement';
/* eslint-enable jupyter/prefer-lazy-imports */

export * from './tokens';

/** Milliseconds in a second (the settings count in seconds). */
const SECOND = 1000;

/** The parts the plugin builds (the settings decide some of their options). */
interface IParts {
  model: AccountsModel;
  signIns: SignInRunner;
  indicator: MsalIndicator;
}

/** Build the model, the sign-in runner, the indicator and its panel. */
function build(
  app: JupyterFrontEnd,
  settings: FrontEndSettings,
  translator: ITranslator | null
): IParts & { panel: AccountsPopup; events: ServerEvents } {
  const client = new MsalClient({
    serverSettings: app.serviceManager.serverSettings,
    translator
  });
  const model = new AccountsModel({
    client,
    pollInterval: settings.current.pollInterval * SECOND
  });
  // sign-ins and sign-outs reach the page at once; polling is the fallback
  const events = new ServerEvents(model, app.serviceManager.events);
  const signIns = new SignInRunner({ client, model, settings, translator });
  const panel = new AccountsPopup({
    model,
    actions: panelActions(app),
    translator
  });
  const indicator = new MsalIndicator({
    model,
    onActivate: () => panel.toggle(indicator),
    translator
  });
  return { model, events, signIns, panel, indicator };
}

/** What `IMsalAccounts` gives other extensions. */
function provided({ model, signIns }: IParts): IMsalAccounts {
  return {
    model,
    get status() {
      return model.status;
    },
    loadStatus: () => model.loadStatus(),
    signIn: method => signIns.signIn(method)
  };
}

/**
 * The jupyter-msal plugin: the indicator, its accounts panel, the sign-in
 * and sign-out commands, and `IMsalAccounts` for other extensions.
 */
const plugin: JupyterFrontEndPlugin<IMsalAccounts> = {
  id: PLUGIN_ID,
  description:
    'Shows who is signed in to Microsoft Entra ID; sign in and sign out without a kernel.',
  autoStart: true,
  provides: IMsalAccounts,
  optional: [ISettingRegistry, IStatusBar, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): IMsalAccounts => {
    const trans = translationBundle(translator);
    const settings = new FrontEndSettings();
    const parts = build(app, settings, translator);
    const { model, indicator } = parts;
    addCommands(app, { ...parts, trans });
    // a tool asked for a token while signed out: offer the sign-in
    const notifier = new TokenWantedNotifier({
      model,
      signIn: () => void app.commands.execute(CommandIDs.signIn),
      trans
    });
    parts.events.tokenWanted.connect(
      (_, wanted) => void notifier.notify(wanted)
    );
    if (palette) {
      addCommandsToPalette(palette, trans);
    }
    const apply = (current: Readonly<IFrontEndSettings>) => {
      model.pollInterval = current.pollInterval * SECOND;
      indicator.setHidden(!current.showIndicator);
    };
    settings.changed.connect((_, current) => apply(current));
    // the placement is read once: the indicator is placed after loading
    void settings.load(settingRegistry).then(() => {
      const placement = settings.current.indicatorPlacement;
      placeIndicator(indicator, app.shell, statusBar, placement);
      apply(settings.current);
    });
    model.start();
    return provided(parts);
  }
};

export default plugin;
