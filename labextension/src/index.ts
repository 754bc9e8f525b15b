/**
 * jupyter-msal front end: who is signed in to Microsoft, sign in, sign out.
 * Works in JupyterLab 4 (status bar) and Notebook 7 (top bar).
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
import { MsalClient } from './api';
import { addCommands, addCommandsToPalette, panelActions } from './commands';
import { translationBundle } from './i18n';
import { MsalIndicator } from './indicator';
import { AccountsModel } from './model';
import { AccountsPanel } from './panel';
import { placeIndicator } from './placement';
import { FrontEndSettings, IFrontEndSettings, PLUGIN_ID } from './settings';
import { SignInRunner } from './signInRunner';
/* eslint-enable jupyter/prefer-lazy-imports */

/** Milliseconds in a second (the settings count in seconds). */
const SECOND = 1000;

/**
 * The jupyter-msal plugin: the indicator, its accounts panel and the
 * sign-in and sign-out commands.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Shows who is signed in to Microsoft Entra ID; sign in and sign out without a kernel.',
  autoStart: true,
  optional: [ISettingRegistry, IStatusBar, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = translationBundle(translator);
    const settings = new FrontEndSettings();
    const client = new MsalClient({
      serverSettings: app.serviceManager.serverSettings,
      translator
    });
    const model = new AccountsModel({
      client,
      pollInterval: settings.current.pollInterval * SECOND
    });
    const signIns = new SignInRunner({ client, model, settings, translator });
    const panel = new AccountsPanel({
      model,
      actions: panelActions(app),
      translator
    });
    const indicator = new MsalIndicator({
      model,
      onActivate: () => panel.toggle(indicator.node),
      translator
    });

    addCommands(app, { model, signIns, panel, indicator, trans });
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
      placeIndicator(
        indicator,
        app.shell,
        statusBar,
        settings.current.indicatorPlacement
      );
      apply(settings.current);
    });

    model.start();
  }
};

export default plugin;
