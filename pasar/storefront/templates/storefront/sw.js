{% load static %}// The shop's service worker: keeps the shell and the catalogue pages a shopper visited, so
// they open offline. Cart, checkout, orders and the account always go to the network.
const CACHE = "shop-{{ version }}";
const HOME = "{{ home|escapejs }}";
const OFFLINE = "{{ offline|escapejs }}";
const STATIC = "{% get_static_prefix %}";
const SHELL = [HOME, OFFLINE, "{% static 'css/pasar.css' %}", "{% static 'storefront/shop.css' %}", "{% static 'storefront/shop.js' %}"];
const NEVER = ["cart/", "checkout/", "orders/", "account/"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith("shop-") && key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (NEVER.some((part) => path.startsWith(HOME + part))) return;
  const catalogue = path.startsWith(HOME) || path.startsWith(STATIC);
  if (!catalogue) return;
  // Network first, so prices and stock are fresh; the copy kept answers when offline.
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() => caches.match(request).then((kept) => kept || (request.mode === "navigate" ? caches.match(OFFLINE) : Response.error())))
  );
});
