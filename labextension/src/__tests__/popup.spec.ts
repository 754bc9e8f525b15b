import { Widget } from '@lumino/widgets';

import { AccountsModel } from '../model/accounts';
import { AccountsPopup } from '../widgets/accountsPopup';
import { inStatusBar, openPopup, TopBarPopup } from '../widgets/popup';
import { FakeClient, flush, status } from './helpers';

const NO_ACTIONS = {
  signIn: () => undefined,
  signOut: () => undefined,
  signOutAll: () => undefined
};

/** An indicator-like anchor in a status bar, or in the top bar. */
function anchorIn(cls: string): { anchor: Widget; host: HTMLElement } {
  const host = document.createElement('div');
  host.className = cls;
  document.body.appendChild(host);
  const anchor = new Widget();
  Widget.attach(anchor, host);
  return { anchor, host };
}

describe('openPopup', () => {
  // jsdom has no layout; JupyterLab's popup asks what lies under a point
  const elementFromPoint = document.elementFromPoint;
  beforeAll(() => {
    document.elementFromPoint = () => document.body;
  });
  afterAll(() => {
    document.elementFromPoint = elementFromPoint;
  });

  it("uses JupyterLab's status-bar popup next to a status-bar anchor", () => {
    const { anchor, host } = anchorIn('jp-StatusBar-Widget');
    expect(inStatusBar(anchor)).toBe(true);
    const body = new Widget();
    const popup = openPopup(body, anchor);
    expect(popup).not.toBeInstanceOf(TopBarPopup);
    expect(popup.hasClass('jp-ThemedContainer')).toBe(true);
    expect(body.hasClass('jp-StatusBar-HoverItem')).toBe(true);
    expect(anchor.hasClass('jp-mod-clicked')).toBe(true);
    body.node.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Escape', bubbles: true })
    );
    expect(popup.isDisposed).toBe(true);
    expect(body.isDisposed).toBe(true);
    anchor.dispose();
    host.remove();
  });

  it('opens below a top-bar anchor (Notebook 7) and closes on a click outside', () => {
    const { anchor, host } = anchorIn('jp-TopBar');
    expect(inStatusBar(anchor)).toBe(false);
    const body = new Widget();
    const popup = openPopup(body, anchor);
    expect(popup).toBeInstanceOf(TopBarPopup);
    expect(body.isAttached).toBe(true);
    expect(body.node.style.top).toBe('4px');
    anchor.node.dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
    expect(popup.isDisposed).toBe(false); // the anchor toggles it itself
    document.body.dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
    expect(popup.isDisposed).toBe(true);
    expect(body.isDisposed).toBe(true);
    anchor.dispose();
    host.remove();
  });
});

describe('AccountsPopup', () => {
  beforeAll(() => {
    document.elementFromPoint = () => document.body;
  });

  it('opens a fresh panel each time, in the status bar, and toggles', async () => {
    const client = new FakeClient();
    client.statusAnswers.push(status(), status());
    const model = new AccountsModel({ client });
    const { anchor, host } = anchorIn('jp-StatusBar-Widget');
    const popup = new AccountsPopup({ model, actions: NO_ACTIONS });
    popup.toggle(anchor);
    const first = popup.panel!;
    expect(first.node.id).toBe('jp-msal-panel');
    expect(first.hasClass('jp-StatusBar-HoverItem')).toBe(true);
    await flush();
    expect(first.node.querySelector('#jp-msal-signin')).not.toBeNull();
    popup.toggle(anchor);
    expect(popup.isOpen).toBe(false);
    expect(first.isDisposed).toBe(true);
    popup.toggle(anchor);
    expect(popup.panel).not.toBe(first);
    popup.close();
    await flush();
    model.dispose();
    anchor.dispose();
    host.remove();
  });
});
