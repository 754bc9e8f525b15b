/**
 * The translation domain of the front end's strings.
 */
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

/** The gettext domain of jupyter-msal (the Python package name). */
export const TRANSLATION_DOMAIN = 'jupyter_msal';

/**
 * The bundle of jupyter-msal's strings for a translator; without one, the
 * strings as written.
 */
export function translationBundle(
  translator?: ITranslator | null
): TranslationBundle {
  return (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
}
