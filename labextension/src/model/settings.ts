/**
 * The front end's settings (schema/plugin.json), as the page uses them.
 *
 * The settings registry validates the user's settings against the schema
 * and fills in its defaults, so the composite values are read as they are.
 */
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ISignal, Signal } from '@lumino/signaling';

import { SignInMethod } from '../util/methods';

/** The id of the plugin, and of its settings. */
export const PLUGIN_ID = 'jupyter-msal:plugin';

/** Where the indicator goes (`auto`: the status bar when there is one). */
export type IndicatorPlacement = 'auto' | 'status-bar' | 'top';

/** The front-end settings (schema/plugin.json). */
export interface IFrontEndSettings {
  /** Show the indicator. */
  showIndicator: boolean;
  /** Where the indicator goes; read once, at start. */
  indicatorPlacement: IndicatorPlacement;
  /** Seconds between account refreshes. */
  pollInterval: number;
  /** `ask`: offer the broker when the server has one; otherwise that method. */
  signInMethod: 'ask' | SignInMethod;
  /** Scopes to consent to at sign-in (empty: the server's default scopes). */
  scopes: string[];
}

/**
 * The schema's defaults: the settings in effect while they load, and for
 * good when there is no settings registry.
 */
export const DEFAULT_SETTINGS: Readonly<IFrontEndSettings> = Object.freeze({
  showIndicator: true,
  indicatorPlacement: 'auto',
  pollInterval: 5,
  signInMethod: 'ask',
  scopes: []
});

/** The settings in a loaded (schema-validated) settings object. */
export function readSettings(
  settings: ISettingRegistry.ISettings
): IFrontEndSettings {
  const composite = settings.composite;
  return {
    showIndicator: composite.showIndicator as boolean,
    indicatorPlacement: composite.indicatorPlacement as IndicatorPlacement,
    pollInterval: composite.pollInterval as number,
    signInMethod: composite.signInMethod as IFrontEndSettings['signInMethod'],
    scopes: composite.scopes as string[]
  };
}

/**
 * The settings in effect now, following the settings registry.
 */
export class FrontEndSettings {
  /** The settings in effect (the defaults until loaded). */
  get current(): Readonly<IFrontEndSettings> {
    return this._current;
  }

  /** Emitted with the new settings whenever they change. */
  get changed(): ISignal<this, Readonly<IFrontEndSettings>> {
    return this._changed;
  }

  /**
   * Load the plugin's settings and follow the user's changes. Without a
   * registry, or when they cannot be loaded, the defaults stay in effect
   * (and a warning is logged).
   */
  async load(registry: ISettingRegistry | null): Promise<void> {
    if (!registry) {
      return;
    }
    let loaded: ISettingRegistry.ISettings;
    try {
      loaded = await registry.load(PLUGIN_ID);
    } catch (reason) {
      console.warn('jupyter-msal: could not load settings', reason);
      return;
    }
    this._update(loaded);
    loaded.changed.connect(this._update, this);
  }

  private _update(loaded: ISettingRegistry.ISettings): void {
    this._current = readSettings(loaded);
    this._changed.emit(this._current);
  }

  private _current: Readonly<IFrontEndSettings> = DEFAULT_SETTINGS;
  private _changed = new Signal<this, Readonly<IFrontEndSettings>>(this);
}
