/**
 * Signing out from the page: one account, the only one, or all of them
 * after asking; the outcome as a notification.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { IAccount, MsalApiError } from '../api';
import { accountNames } from '../messages';
import { AccountsModel } from '../model/accounts';

/**
 * Sign out of `account` (home_account_id or username); without it, of the
 * only account, or of every account once the user agrees.
 */
export async function signOut(
  model: AccountsModel,
  trans: TranslationBundle,
  account?: string
): Promise<void> {
  let removed: IAccount[] | null;
  try {
    removed = account
      ? await model.signOut(account)
      : await signOutOfCurrent(model, trans);
  } catch (error) {
    const message =
      error instanceof MsalApiError ? error.message : String(error);
    Notification.error(trans.__('Sign-out failed: %1', message), {
      autoClose: false
    });
    void model.refresh();
    return;
  }
  if (removed === null) {
    return;
  }
  Notification.success(
    removed.length
      ? trans.__('Signed out of %1.', accountNames(removed))
      : trans.__('No account was signed in.'),
    { autoClose: 4000 }
  );
}

/**
 * Sign out of the accounts signed in now (asking first when there are
 * several). Resolves with the accounts removed, or null when nothing was
 * done.
 */
async function signOutOfCurrent(
  model: AccountsModel,
  trans: TranslationBundle
): Promise<IAccount[] | null> {
  const current = model.accounts;
  if (!current.length) {
    Notification.info(trans.__('You are not signed in to Microsoft.'), {
      autoClose: 4000
    });
    return null;
  }
  if (current.length === 1) {
    return model.signOut(current[0].home_account_id);
  }
  const answer = await showDialog({
    title: trans.__('Sign out of Microsoft'),
    body: trans.__(
      'Sign out of %1? Kernels using these accounts will need a new sign-in.',
      accountNames(current)
    ),
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: trans.__('Sign out') })
    ]
  });
  if (!answer.button.accept) {
    return null;
  }
  return model.signOutAll();
}
