// The shop's small enhancements; every page works without them.
(function () {
  "use strict";
  var home = document.body.dataset.home || "/";

  // The installable shop: its service worker keeps visited catalogue pages for offline use.
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register(home + "sw.js", { scope: home }).catch(function () {});
  }

  // Offer to install: Chrome and Android fire beforeinstallprompt; iOS gets a hint instead.
  var hint = document.querySelector("[data-install-hint]");
  var dismissed = false;
  try { dismissed = localStorage.getItem("install-dismissed") === "1"; } catch (e) {}
  if (hint && !dismissed) {
    var button = hint.querySelector("[data-install-button]");
    var deferred = null;
    window.addEventListener("beforeinstallprompt", function (event) {
      event.preventDefault();
      deferred = event;
      button.hidden = false;
      hint.hidden = false;
    });
    button.addEventListener("click", function () {
      if (!deferred) return;
      deferred.prompt();
      deferred = null;
      hint.hidden = true;
    });
    var ios = /iphone|ipad|ipod/i.test(navigator.userAgent) && !window.navigator.standalone;
    if (ios) {
      hint.querySelector("[data-install-text]").textContent =
        "Add this shop to your home screen: tap Share, then “Add to Home Screen”.";
      hint.hidden = false;
    }
    hint.querySelector("[data-install-dismiss]").addEventListener("click", function () {
      hint.hidden = true;
      try { localStorage.setItem("install-dismissed", "1"); } catch (e) {}
    });
  }

  // Time left to pay, counted down every second.
  var countdown = document.querySelector("[data-countdown]");
  if (countdown) {
    var ends = Date.parse(countdown.dataset.countdown);
    var tick = function () {
      var left = Math.max(0, Math.floor((ends - Date.now()) / 1000));
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      countdown.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      if (left === 0) {
        window.clearInterval(timer);
        window.setTimeout(function () { window.location.reload(); }, 3000);
      }
    };
    var timer = window.setInterval(tick, 1000);
    tick();
  }

  // While the order waits for its payment, ask every 3 seconds; reload once it changes.
  var order = document.querySelector("[data-order-status-url]");
  if (order && order.dataset.status === "pending_payment") {
    var poll = function () {
      fetch(order.dataset.orderStatusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (body && (body.status !== "pending_payment" || body.payment_status === "expired")) {
            window.location.reload();
          }
        })
        .catch(function () {})
        .finally(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 3000);
  }

  // Delivery by pickup needs no address: hide those fields while pickup is chosen.
  var address = document.querySelector("[data-address]");
  if (address) {
    var update = function () {
      var chosen = document.querySelector("input[name=delivery_method]:checked");
      address.hidden = !!(chosen && chosen.dataset.pickup === "1");
    };
    document.querySelectorAll("input[name=delivery_method]").forEach(function (input) {
      input.addEventListener("change", update);
    });
    update();
  }
})();
