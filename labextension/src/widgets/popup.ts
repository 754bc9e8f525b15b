/**
 * Opening a widget in a popup next to the indicator: JupyterLab's own
 * status-bar popup (`showPopup`) when the indicator is in the status bar.
 * Notebook 7 has no status bar: there the indicator sits in the top bar,
 * where `showPopup` cannot serve (it always opens above its anchor, and
 * above the top bar there is no room: it would hide the popup), so a small
 * popup of our own opens below it.
 */
import { showPopup } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

/** The class of JupyterLab's status bar. */
const STATUS_BAR_CLASS = 'jp-StatusBar-Widget';

/** Whether `anchor` sits in JupyterLab's status bar. */
export function inStatusBar(anchor: Widget | null): boolean {
  return !!anchor?.isAttached && !!anchor.node.closest(`.${STATUS_BAR_CLASS}`);
}

/**
 * Open `body` next to `anchor` and return the popup. It closes (and is
 * disposed, with `body`) on Escape or a click outside; `disposed` says so.
 */
export function openPopup(body: Widget, anchor: Widget | null): Widget {
  if (anchor && inStatusBar(anchor)) {
    return showPopup({ body, anchor, align: 'left', hasDynamicSize: true });
  }
  const popup = new TopBarPopup(body, anchor);
  popup.launch();
  return popup;
}

/**
 * A popup below the top bar (or at the top right without an anchor): on
 * the page's body, closed by Escape or a mouse press outside it.
 */
export class TopBarPopup extends Widget {
  constructor(body: Widget, anchor: Widget | null) {
    super();
    this.addClass('jp-msal-popup');
    this._body = body;
    this._anchor = anchor;
    this._onMouseDown = this._onMouseDown.bind(this);
    this._onKeyDown = this._onKeyDown.bind(this);
  }

  /** Put the popup and its body on the page. */
  launch(): void {
    Widget.attach(this, document.body);
    Widget.attach(this._body, this.node);
    this._position();
    document.addEventListener('mousedown', this._onMouseDown, true);
    this.node.addEventListener('keydown', this._onKeyDown);
  }

  /** Take the popup off the page; its body goes with it. */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    document.removeEventListener('mousedown', this._onMouseDown, true);
    this.node.removeEventListener('keydown', this._onKeyDown);
    this._body.dispose();
    super.dispose();
  }

  private _position(): void {
    const style = this._body.node.style;
    const anchor = this._anchor;
    if (!anchor?.isAttached) {
      style.top = '40px';
      style.right = '16px';
      return;
    }
    const rect = anchor.node.getBoundingClientRect();
    style.top = `${rect.bottom + 4}px`;
    if (rect.left > window.innerWidth / 2) {
      style.right = `${Math.max(4, window.innerWidth - rect.right)}px`;
    } else {
      style.left = `${Math.max(4, rect.left)}px`;
    }
  }

  private _onMouseDown(event: MouseEvent): void {
    const target = event.target as Node | null;
    const inside = (node: HTMLElement | undefined) =>
      !!node && !!target && node.contains(target);
    // the anchor's own click toggles the popup
    if (target && !inside(this.node) && !inside(this._anchor?.node)) {
      this.dispose();
    }
  }

  private _onKeyDown(event: KeyboardEvent): void {
    if (event.key === 'Escape') {
      event.stopPropagation();
      event.preventDefault();
      this.dispose();
    }
  }

  private _body: Widget;
  private _anchor: Widget | null;
}
