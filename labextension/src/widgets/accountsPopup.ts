/**
 * Opens and closes the accounts panel in a popup next to the indicator
 * (widgets/popup.ts), a fresh panel each time.
 */
import { ITranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { AccountsModel } from '../model/accounts';
import { AccountsPanel, IPanelActions } from './panel';
import { openPopup } from './popup';

/** The accounts panel, opened and closed as a popup. */
export class AccountsPopup {
  constructor(options: AccountsPopup.IOptions) {
    this._options = options;
  }

  /** Whether the panel is open. */
  get isOpen(): boolean {
    return this._popup !== null;
  }

  /** The panel while it is open. */
  get panel(): AccountsPanel | null {
    return this._panel;
  }

  /** Open next to `anchor` (or at the top right when there is none). */
  open(anchor: Widget | null): void {
    if (this._popup) {
      return;
    }
    this._anchor = anchor;
    const panel = new AccountsPanel({
      ...this._options,
      close: () => this.close()
    });
    panel.configOpen = this._configOpen;
    const popup = openPopup(panel, anchor);
    this._panel = panel;
    this._popup = popup;
    popup.disposed.connect(() => this._closed(panel, popup));
  }

  /** Close the panel and give the focus back to its anchor. */
  close(): void {
    this._popup?.dispose();
  }

  /** Open the panel next to `anchor`, or close it when it is open. */
  toggle(anchor: Widget | null): void {
    if (this.isOpen) {
      this.close();
    } else {
      this.open(anchor);
    }
  }

  private _closed(panel: AccountsPanel, popup: Widget): void {
    if (this._popup !== popup) {
      return;
    }
    this._configOpen = panel.configOpen;
    this._popup = this._panel = null;
    const anchor = this._anchor;
    if (anchor?.isAttached && !anchor.isHidden) {
      anchor.node.focus();
    }
  }

  private _options: AccountsPopup.IOptions;
  private _popup: Widget | null = null;
  private _panel: AccountsPanel | null = null;
  private _anchor: Widget | null = null;
  private _configOpen = false;
}

/** The `AccountsPopup` namespace. */
export namespace AccountsPopup {
  /** Options of the popup. */
  export interface IOptions {
    /** The accounts and status to show. */
    model: AccountsModel;
    /** What the panel's buttons do. */
    actions: IPanelActions;
    /** Translates the panel's words. */
    translator?: ITranslator | null;
  }
}
