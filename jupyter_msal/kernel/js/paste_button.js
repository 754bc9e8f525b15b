// The Complete button of a browser sign-in prompt: its inline onclick (`this` is the button).
// Posts the address the browser ended on (pasted into the prompt's <input>) to this Jupyter
// server, POST jupyter-msal/sign-ins/{id}/response, with the page's own Jupyter login: the
// _xsrf cookie as X-XSRFToken. The flow id is the prompt's data-jmsal-flow attribute.
(function (button) {
  var root = button.closest('[data-jmsal-flow]');
  var input = root.querySelector('input');
  var status = root.querySelector('[data-jmsal-status]');
  var config = document.getElementById('jupyter-config-data');
  var base = (config ? JSON.parse(config.textContent).baseUrl : '/') || '/';
  var xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
  var address = input.value.trim();
  if (!address) {
    status.textContent = 'Paste the address first.';
    return;
  }
  button.disabled = true;
  status.textContent = 'Completing the sign-in\u2026';
  var flow = encodeURIComponent(root.getAttribute('data-jmsal-flow'));
  var url =
    base.replace(/\/?$/, '/') + 'jupyter-msal/sign-ins/' + flow + '/response';
  fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      'Content-Type': 'application/json',
      'X-XSRFToken': decodeURIComponent(xsrf)
    },
    body: JSON.stringify({ url: address })
  })
    .then(function (answer) {
      return answer.json().then(function (body) {
        status.textContent = answer.ok
          ? 'Signed in.'
          : body.message || 'The address did not work.';
        button.disabled = answer.ok;
      });
    })
    .catch(function (error) {
      status.textContent = String(error);
      button.disabled = false;
    });
})(this);
