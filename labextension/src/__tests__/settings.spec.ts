import schema from '../../schema/plugin.json';
import { SIGN_IN_METHODS } from '../util/methods';
import {
  DEFAULT_SETTINGS,
  FrontEndSettings,
  PLUGIN_ID
} from '../model/settings';
import { settingRegistry } from './helpers';

describe('DEFAULT_SETTINGS', () => {
  it("are the schema's defaults", () => {
    const defaults: { [key: string]: unknown } = {};
    for (const [key, property] of Object.entries(schema.properties)) {
      defaults[key] = property.default;
    }
    expect(DEFAULT_SETTINGS).toEqual(defaults);
  });

  it('offer the sign-in methods of the one list, and ask', () => {
    const choices = schema.properties.signInMethod.oneOf.map(c => c.const);
    expect(choices).toEqual(['ask', ...SIGN_IN_METHODS]);
  });
});

describe('FrontEndSettings', () => {
  it('holds the defaults until loaded, and without a registry', async () => {
    const settings = new FrontEndSettings();
    expect(settings.current).toEqual(DEFAULT_SETTINGS);
    await settings.load(null);
    expect(settings.current).toEqual(DEFAULT_SETTINGS);
  });

  it("reads the user's settings over the schema's defaults", async () => {
    const registry = settingRegistry({
      pollInterval: 30,
      signInMethod: 'device_code',
      scopes: ['User.Read']
    });
    const settings = new FrontEndSettings();
    const seen: number[] = [];
    settings.changed.connect((_, current) => seen.push(current.pollInterval));
    await settings.load(registry);
    expect(settings.current).toEqual({
      ...DEFAULT_SETTINGS,
      pollInterval: 30,
      signInMethod: 'device_code',
      scopes: ['User.Read']
    });
    expect(seen).toEqual([30]);
  });

  it('follows changes the user makes', async () => {
    const registry = settingRegistry();
    const settings = new FrontEndSettings();
    await settings.load(registry);
    const seen: boolean[] = [];
    settings.changed.connect((_, current) => seen.push(current.showIndicator));
    await registry.set(PLUGIN_ID, 'showIndicator', false);
    expect(settings.current.showIndicator).toBe(false);
    expect(seen).toEqual([false]);
  });

  it('keeps the defaults when the settings do not fit the schema', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const registry = settingRegistry({ pollInterval: 0, signInMethod: 'x' });
    const settings = new FrontEndSettings();
    await settings.load(registry);
    expect(settings.current).toEqual(DEFAULT_SETTINGS);
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });
});
