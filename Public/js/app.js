// CaseTalk page behaviour. Loaded as a file (the Content-Security-Policy forbids inline script);
// every page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // A form is sent once: the submit button is disabled after the first click.
  document.querySelectorAll("form[method='post']").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type='submit']").forEach(function (button) {
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  });
});
