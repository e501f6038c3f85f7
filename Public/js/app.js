// CaseTalk page behaviour. Loaded as a file (the Content-Security-Policy forbids inline script);
// every page works without it, and the server checks everything this script checks.
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

  // SPEC §8 with script: the files chosen on a message form go one at a time to the form's
  // data-files-ahead address, each with its own progress bar, so that a file that fails is sent
  // again alone (Retry) or left out (Remove) while the others stay sent. The message then goes
  // with the ids of the files sent ahead (sent_ahead); the server joins them to it in one
  // transaction and answers with where to go next (204 and X-CaseTalk-Location) instead of a
  // redirect, so the next page is loaded (and its view audited) once. A refusal of the message
  // itself answers with its page, which replaces this one, the typed message kept by the server.
  document.querySelectorAll("form.message-form[data-files-ahead]").forEach(function (form) {
    var input = form.querySelector("input[type='file']");
    var token = form.querySelector("input[name='_csrf']");
    var ahead = form.getAttribute("data-files-ahead");
    if (!input || !token || !window.FormData || !window.XMLHttpRequest) { return; }
    var entries = [];   // { file, id, state: "waiting" | "sending" | "sent" | "failed" | "refused", item, bar, note }
    var list = null;

    var buttons = function (enabled) {
      form.querySelectorAll("button[type='submit']").forEach(function (button) { button.disabled = !enabled; });
    };
    var listed = function () {
      if (!list) {
        list = document.createElement("ul");
        list.className = "upload-progress";
        list.setAttribute("aria-label", "Upload progress");
        input.insertAdjacentElement("afterend", list);
      }
      return list;
    };
    var notice = function (text) {
      var note = document.createElement("p");
      note.className = "field-error";
      note.setAttribute("role", "alert");
      note.textContent = text;
      return note;
    };
    var drop = function (entry) {
      entries.splice(entries.indexOf(entry), 1);
      entry.item.remove();
    };
    var show = function (entry) {
      var item = document.createElement("li");
      var label = document.createElement("span");
      label.textContent = entry.file.name + " ";
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", "Uploading " + entry.file.name);
      item.appendChild(label);
      item.appendChild(bar);
      listed().appendChild(item);
      entry.item = item;
      entry.bar = bar;
    };
    var failed = function (entry, state, text) {
      entry.state = state;
      var note = notice(state === "failed" ? text + " Retry it, or Remove it to send the rest."
                                             : text + " Remove it to send the rest, or press Send again.");
      var actions = document.createElement("span");
      actions.className = "upload-retry";
      var act = function (name, run) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "button button-small";
        button.textContent = name;
        button.setAttribute("aria-label", name + " " + entry.file.name);
        button.addEventListener("click", run);
        actions.appendChild(button);
      };
      if (state === "failed") {
        act("Retry", function () { note.remove(); actions.remove(); send([entry]); });
      }
      act("Remove", function () { drop(entry); settle(); });
      entry.note = note;
      entry.item.appendChild(note);
      entry.item.appendChild(actions);
    };
    // One file, alone: 201 with its id, or why not (422 refused as it is; anything else may pass
    // when tried again).
    var upload = function (entry, done) {
      entry.state = "sending";
      entry.bar.value = 0;
      var data = new FormData();
      data.append("_csrf", token.value);
      data.append(input.name, entry.file, entry.file.name);
      var request = new XMLHttpRequest();
      request.open("POST", ahead);
      request.setRequestHeader("X-CSRF-Token", token.value);
      request.upload.addEventListener("progress", function (progress) {
        if (progress.lengthComputable && progress.total > 0) { entry.bar.value = progress.loaded * 100 / progress.total; }
      });
      request.addEventListener("load", function () {
        var id = request.getResponseHeader("X-CaseTalk-File");
        var plain = (request.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0;
        if (request.status === 201 && id) {
          entry.state = "sent";
          entry.id = id;
          entry.bar.value = 100;
        } else if (request.status === 422 && plain && request.responseText) {
          failed(entry, "refused", request.responseText);
        } else if (plain && request.responseText) {
          failed(entry, "failed", request.responseText);
        } else {
          failed(entry, "failed", entry.file.name + " could not be sent just now.");
        }
        done();
      });
      request.addEventListener("error", function () {
        failed(entry, "failed", entry.file.name + " could not be sent: the connection was lost.");
        done();
      });
      request.send(data);
    };
    var send = function (batch) {
      buttons(false);
      var next = function (index) {
        if (index < batch.length) { upload(batch[index], function () { next(index + 1); }); } else { settle(); }
      };
      next(0);
    };
    // Once no file is on its way: a failed or refused one holds the message (its buttons get
    // the focus); otherwise the message goes, naming the files sent ahead.
    var settle = function () {
      if (entries.some(function (entry) { return entry.state === "sending"; })) { return; }
      var held = entries.filter(function (entry) { return entry.state === "failed" || entry.state === "refused"; });
      if (held.length > 0) {
        buttons(true);
        var first = held[0].item.querySelector("button");
        if (first) { first.focus(); }
        return;
      }
      submitMessage();
    };
    var submitMessage = function () {
      var data = new FormData(form);
      data.delete(input.name);
      data.set("sent_ahead", entries.map(function (entry) { return entry.id; }).join(","));
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("X-CaseTalk-Upload", "1");
      var again = function (text) {
        buttons(true);
        var old = form.querySelector(".upload-note");
        if (old) { old.remove(); }
        var note = notice(text);
        note.classList.add("upload-note");
        listed().insertAdjacentElement("afterend", note);
      };
      request.addEventListener("load", function () {
        var next = request.getResponseHeader("X-CaseTalk-Location");
        if (request.status === 204 && next && next.charAt(0) === "/" && next.charAt(1) !== "/") {
          window.location.assign(next);
          return;
        }
        var page = new DOMParser().parseFromString(request.responseText, "text/html");
        if (!page.body || !page.body.firstElementChild) { again("Your message could not be sent. Please press Send again."); return; }
        document.title = page.title;
        document.body.replaceWith(document.adoptNode(page.body));
        var problem = document.querySelector("[role='alert']");
        if (problem) { problem.setAttribute("tabindex", "-1"); problem.focus(); }
      });
      request.addEventListener("error", function () {
        again("Your message could not be sent: the connection was lost. Please press Send again.");
      });
      request.send(data);
    };

    form.addEventListener("submit", function (event) {
      var chosen = Array.prototype.slice.call(input.files || []);
      if (chosen.length === 0 && entries.length === 0) { return; }   // no files: the plain form
      event.preventDefault();
      // Pressing Send again leaves refused files out; newly chosen ones join the rest.
      entries.filter(function (entry) { return entry.state === "refused"; }).forEach(drop);
      var old = form.querySelector(".upload-note");
      if (old) { old.remove(); }
      chosen.forEach(function (file) {
        var entry = { file: file, id: null, state: "waiting" };
        show(entry);
        entries.push(entry);
      });
      input.value = "";
      var batch = entries.filter(function (entry) { return entry.state === "waiting" || entry.state === "failed"; });
      batch.forEach(function (entry) {
        if (entry.note) { entry.note.remove(); entry.note = null; }
        var actions = entry.item.querySelector(".upload-retry");
        if (actions) { actions.remove(); }
      });
      send(batch);
    });
  });
  // The full-screen file view: the arrow keys and a swipe go to the previous or next file (the
  // links do the same without script).
  document.querySelectorAll("[data-swipe]").forEach(function (viewer) {
    var go = function (key) {
      var link = viewer.querySelector("a[data-key='" + key + "']");
      if (link) { window.location.assign(link.href); }
    };
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName)) { return; }
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") { go(event.key); }
    });
    var startX = null;
    viewer.addEventListener("touchstart", function (event) { startX = event.touches[0].clientX; }, { passive: true });
    viewer.addEventListener("touchend", function (event) {
      if (startX === null) { return; }
      var moved = event.changedTouches[0].clientX - startX;
      startX = null;
      if (Math.abs(moved) > 60) { go(moved > 0 ? "ArrowLeft" : "ArrowRight"); }
    });
  });

  // SPEC §5: a minute before the idle sign-out, a warning with "Stay signed in". Only the
  // server's clock counts: staying keeps the session alive with a request.
  var warnAfter = parseInt(document.body.getAttribute("data-idle-warning"), 10);
  var signOutAfter = parseInt(document.body.getAttribute("data-idle-timeout"), 10);
  if (warnAfter > 0 && signOutAfter > warnAfter) {
    var warning = null, warnTimer = null, endTimer = null;
    var schedule = function () {
      window.clearTimeout(warnTimer);
      window.clearTimeout(endTimer);
      warnTimer = window.setTimeout(showWarning, warnAfter * 1000);
      endTimer = window.setTimeout(function () { window.location.assign("/login"); }, signOutAfter * 1000);
    };
    var showWarning = function () {
      if (warning) { return; }
      warning = document.createElement("div");
      warning.className = "idle-warning";
      warning.setAttribute("role", "alertdialog");
      warning.setAttribute("aria-labelledby", "idle-warning-text");
      var text = document.createElement("p");
      text.id = "idle-warning-text";
      text.textContent = "For your security you will be signed out in one minute.";
      var stay = document.createElement("button");
      stay.type = "button";
      stay.className = "button button-primary";
      stay.textContent = "Stay signed in";
      stay.addEventListener("click", function () {
        fetch("/session/alive", { credentials: "same-origin", cache: "no-store" }).then(function (response) {
          if (response.status !== 204) { window.location.assign("/login"); return; }
          warning.remove();
          warning = null;
          schedule();
        });
      });
      warning.appendChild(text);
      warning.appendChild(stay);
      document.body.appendChild(warning);
      stay.focus();
    };
    schedule();
  }

  // Re-Send Code waits 30 seconds between sends: the button stays off while the page counts down.
  document.querySelectorAll("[data-countdown]").forEach(function (status) {
    var seconds = parseInt(status.getAttribute("data-countdown"), 10) || 0;
    var button = document.querySelector("[data-wait-for='" + status.id + "']");
    if (!button || seconds <= 0) { return; }
    button.disabled = true;
    status.setAttribute("aria-live", "off"); // no announcement every second; only when it is over
    var timer = window.setInterval(function () {
      seconds -= 1;
      if (seconds > 0) {
        status.textContent = "You can ask for a new code in " + seconds + (seconds === 1 ? " second." : " seconds.");
        return;
      }
      window.clearInterval(timer);
      button.disabled = false;
      status.setAttribute("aria-live", "polite");
      status.textContent = "You can ask for a new code now.";
    }, 1000);
  });

  // Terms of Use: I Accept turns on when the text has been scrolled to its end, or when
  // "I have read the Terms of Use" is ticked (keyboard and screen-reader users).
  document.querySelectorAll("[data-terms-form]").forEach(function (form) {
    var box = document.querySelector("[data-terms-box]");
    var accept = form.querySelector("[data-terms-accept]");
    var scrolled = form.querySelector("[data-terms-scrolled]");
    var read = form.querySelector("input[name='read']");
    var hint = form.querySelector("[data-terms-hint]");
    if (!box || !accept || !scrolled || !read) { return; }
    function update() {
      if (box.scrollTop + box.clientHeight >= box.scrollHeight - 4) { scrolled.value = "yes"; }
      var ready = scrolled.value === "yes" || read.checked;
      accept.disabled = !ready;
      if (hint) {
        hint.textContent = ready
          ? "You can now choose I Accept."
          : "I Accept becomes available when you reach the end of the Terms, or when you tick the box.";
      }
    }
    box.addEventListener("scroll", update, { passive: true });
    read.addEventListener("change", update);
    window.addEventListener("load", update);      // the box's size is final once styles are in
    window.addEventListener("resize", update);
    update();
  });

  // Set password: each requirement turns from red to green as it is met, while typing. The
  // common-password list is the file the server checks against.
  document.querySelectorAll("[data-password-rules]").forEach(function (list) {
    var form = list.closest("form");
    var password = form && form.querySelector("input[name='password']");
    var confirmation = form && form.querySelector("input[name='confirmation']");
    if (!password || !confirmation) { return; }
    var name = (list.getAttribute("data-email-name") || "").toLowerCase();
    var min = parseInt(list.getAttribute("data-min"), 10);
    var max = parseInt(list.getAttribute("data-max"), 10);
    var common = null;

    function characters(text) {
      if (window.Intl && Intl.Segmenter) {
        var count = 0;
        var segments = new Intl.Segmenter().segment(text);
        for (var it = segments[Symbol.iterator](), step = it.next(); !step.done; step = it.next()) { count += 1; }
        return count;
      }
      return Array.from(text).length;
    }

    function update() {
      var value = password.value;
      var lower = value.toLowerCase();
      var length = characters(value);
      var met = {
        length: length >= min && length <= max,
        notCommon: value.length > 0 && common !== null && !common.has(lower),
        noEmailName: value.length > 0 && !(name.length >= 3 && lower.indexOf(name) !== -1),
        matches: value.length > 0 && value === confirmation.value
      };
      list.querySelectorAll("[data-rule]").forEach(function (item) {
        var ok = met[item.getAttribute("data-rule")] === true;
        item.classList.toggle("rule-met", ok);
        item.classList.toggle("rule-unmet", !ok);
        var state = item.querySelector(".rule-state");
        if (state) { state.textContent = ok ? "Met:" : "Not met yet:"; }
      });
    }

    fetch(list.getAttribute("data-common-list"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(new Error("list")); })
      .then(function (text) {
        common = new Set(text.split("\n").map(function (word) { return word.trim().toLowerCase(); }).filter(Boolean));
        update();
      })
      .catch(function () { /* the server still checks the list on Continue */ });
    password.addEventListener("input", update);
    confirmation.addEventListener("input", update);
    update();
  });
});
