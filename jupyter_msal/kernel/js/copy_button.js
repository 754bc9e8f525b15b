// The Copy button of a sign-in prompt: its inline onclick (`this` is the button).
// The code to copy is in the read-only <input> just before the button. navigator.clipboard
// exists only in secure contexts (https, localhost); elsewhere (plain http to a remote host)
// the input is selected and copied with document.execCommand('copy'), and if even that is
// blocked the code stays selected for Ctrl+C. The front end's src/clipboard.ts does the same.
(function (button) {
  var input = button.previousElementSibling;
  function copied() {
    button.textContent = 'Copied';
    setTimeout(function () {
      button.textContent = 'Copy';
    }, 1500);
  }
  function fallback() {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
    try {
      document.execCommand('copy');
      copied();
    } catch {
      button.textContent = 'Press Ctrl+C';
    }
  }
  // tests/kernel/test_kernel_token.py looks for this condition as written here
  // prettier-ignore
  if (navigator.clipboard&&window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(copied, fallback);
  } else {
    fallback();
  }
})(this);
