// The countdown of a device-code prompt: the body of a <script> after the prompt.
// ELEMENT_ID is replaced by the prompt's element id (a JSON string) when it is rendered.
// It counts down in the browser from the seconds left when the prompt was drawn
// (data-jmsal-remaining), so clock differences between kernel and browser do not matter,
// and stops once the prompt is gone from the page.
/* global ELEMENT_ID */
(function () {
  var root = document.getElementById(ELEMENT_ID);
  if (!root) {
    return;
  }
  var el = root.querySelector('[data-jmsal-remaining]');
  var end =
    Date.now() + 1000 * parseFloat(el.getAttribute('data-jmsal-remaining'));
  var timer = null;
  function tick() {
    if (!document.body.contains(el)) {
      clearInterval(timer);
      return;
    }
    var s = Math.max(0, Math.round((end - Date.now()) / 1000));
    el.textContent =
      s > 0 ? Math.floor(s / 60) + ':' + ('0' + (s % 60)).slice(-2) : 'expired';
    if (s <= 0) {
      clearInterval(timer);
    }
  }
  timer = setInterval(tick, 1000);
  tick();
})();
