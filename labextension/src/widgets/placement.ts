/**
 * Putting the indicator on the page: JupyterLab's status bar, or the top
 * bar (Notebook 7 has no status bar).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import { IndicatorPlacement } from '../model/settings';

/** The id of the indicator's status bar item. */
const STATUS_ITEM_ID = 'jupyter-msal:indicator';

/** The indicator's rank among the items of its area. */
const RANK = 1000;

/**
 * Add the indicator to the status bar when there is one and the placement
 * allows it, to the top bar otherwise.
 */
export function placeIndicator(
  indicator: Widget,
  shell: JupyterFrontEnd.IShell,
  statusBar: IStatusBar | null,
  placement: IndicatorPlacement
): void {
  if (statusBar && placement !== 'top') {
    statusBar.registerStatusItem(STATUS_ITEM_ID, {
      item: indicator,
      align: 'left',
      rank: RANK
    });
  } else {
    indicator.addClass('jp-msal-indicator-top');
    shell.add(indicator, 'top', { rank: RANK });
  }
}
