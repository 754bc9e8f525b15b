/**
 * Copy text to the clipboard: the asynchronous clipboard API in a secure
 * context (https or localhost), `document.execCommand('copy')` on a selected
 * read-only input elsewhere (e.g. plain http to a remote host).
 */

/** How the text was copied, or `manual` when the user must press Ctrl+C. */
export type CopyOutcome = 'clipboard' | 'execCommand' | 'manual';

/**
 * Copy `text`.
 *
 * @param text the text to copy
 * @param input a read-only input that shows the text; it is selected for the
 *   fallback and left selected so the user can copy it by hand if all fails.
 */
export async function copyText(
  text: string,
  input?: HTMLInputElement | null,
  win: Window = window
): Promise<CopyOutcome> {
  const nav = win.navigator as Navigator | undefined;
  if (win.isSecureContext && nav?.clipboard?.writeText) {
    try {
      await nav.clipboard.writeText(text);
      return 'clipboard';
    } catch {
      // permission denied or not focused: try the fallback
    }
  }
  const doc = win.document;
  let element = input ?? null;
  let temporary = false;
  if (!element) {
    element = doc.createElement('input');
    element.readOnly = true;
    element.value = text;
    element.style.position = 'fixed';
    element.style.opacity = '0';
    doc.body.appendChild(element);
    temporary = true;
  }
  element.focus();
  element.select();
  element.setSelectionRange(0, element.value.length);
  let copied = false;
  try {
    copied = doc.execCommand('copy');
  } catch {
    copied = false;
  }
  if (temporary) {
    element.remove();
  }
  return copied ? 'execCommand' : 'manual';
}
