import { JupyterFrontEnd } from '@jupyterlab/application';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import { placeIndicator } from '../widgets/placement';

function setup(withStatusBar: boolean) {
  const placed: string[] = [];
  const shell = {
    add: (_widget: Widget, area: string) => placed.push(`shell:${area}`)
  } as unknown as JupyterFrontEnd.IShell;
  const statusBar = withStatusBar
    ? ({
        registerStatusItem: (id: string, item: { align: string }) => {
          placed.push(`status-bar:${item.align}`);
          return { dispose: () => undefined, isDisposed: false };
        }
      } as unknown as IStatusBar)
    : null;
  return { placed, shell, statusBar, indicator: new Widget() };
}

describe('placeIndicator', () => {
  it('uses the status bar where there is one (JupyterLab)', () => {
    const { placed, shell, statusBar, indicator } = setup(true);
    placeIndicator(indicator, shell, statusBar, 'auto');
    expect(placed).toEqual(['status-bar:left']);
    expect(indicator.hasClass('jp-msal-indicator-top')).toBe(false);
  });

  it('uses the top bar without a status bar (Notebook 7)', () => {
    const { placed, shell, indicator } = setup(false);
    placeIndicator(indicator, shell, null, 'status-bar');
    expect(placed).toEqual(['shell:top']);
    expect(indicator.hasClass('jp-msal-indicator-top')).toBe(true);
  });

  it('uses the top bar when the setting says so', () => {
    const { placed, shell, statusBar, indicator } = setup(true);
    placeIndicator(indicator, shell, statusBar, 'top');
    expect(placed).toEqual(['shell:top']);
  });
});
