// The console's own script (served by the app; the CSP allows no other).
// A new critical tip in the queue: a short tone and a flashing title until the page is seen.
(function () {
  "use strict";
  var seen = null;

  function criticalRows() {
    return Array.prototype.map.call(
      document.querySelectorAll("tr.urgency-critical[data-reference]"),
      function (row) { return row.getAttribute("data-reference"); });
  }

  function tone() {
    try {
      var audio = new (window.AudioContext || window.webkitAudioContext)();
      var oscillator = audio.createOscillator();
      oscillator.frequency.value = 880;
      oscillator.connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.4);
    } catch (error) { /* no sound available: the title still flashes */ }
  }

  function flashTitle() {
    var original = document.title;
    var on = false;
    var timer = setInterval(function () {
      document.title = on ? original : "(!) " + original;
      on = !on;
    }, 800);
    function stop() {
      clearInterval(timer);
      document.title = original;
      document.removeEventListener("visibilitychange", stop);
      window.removeEventListener("focus", stop);
    }
    document.addEventListener("visibilitychange", stop);
    window.addEventListener("focus", stop);
  }

  function check() {
    var now = criticalRows();
    if (seen !== null && now.some(function (reference) { return seen.indexOf(reference) < 0; })) {
      tone();
      flashTitle();
    }
    seen = now;
  }

  document.addEventListener("DOMContentLoaded", check);
  document.addEventListener("htmx:afterSwap", check);
})();
