// Small enhancements to server-rendered pages. Every page works without them.
(function () {
  "use strict";

  // Show a group of fields only while the checkbox it depends on is ticked
  // (the GST details appear once "registered for GST" is ticked).
  function bindReveals(root) {
    root.querySelectorAll("[data-reveal-when-checked]").forEach(function (group) {
      var checkbox = document.getElementById(group.dataset.revealWhenChecked);
      if (!checkbox || group.dataset.revealBound) {
        return;
      }
      group.dataset.revealBound = "true";
      var update = function () {
        group.hidden = !checkbox.checked;
      };
      checkbox.addEventListener("change", update);
      update();
    });
  }

  // After a failed submit, move focus to the summary so screen readers announce it.
  function focusErrors(root) {
    var summary = root.querySelector("[data-focus-on-load]");
    if (summary) {
      summary.focus();
    }
  }

  // Ask before a destructive form is sent. Runs in the capture phase, so a "No"
  // stops the submit before htmx or the browser sends anything.
  document.addEventListener(
    "submit",
    function (event) {
      var question = event.target.dataset && event.target.dataset.confirm;
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  function enhance(root) {
    bindReveals(root);
    focusErrors(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
  });
  // htmx swaps in fresh markup: enhance it too.
  document.addEventListener("htmx:afterSettle", function () {
    enhance(document);
  });
})();
