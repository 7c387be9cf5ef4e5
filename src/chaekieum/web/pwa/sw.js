/* The member app's service worker (scope /my): the mobile card and the loan list when
   the network is off, marked as offline with the time they were last fetched.

   - /my and /my/card (no query): network first; a fresh page is kept in the member
     cache with the time it was fetched. Offline, the kept page is shown with its
     offline notice revealed ("오프라인 — 마지막 확인 시각 ...").
   - the card's Code 128 and QR images: network first, kept beside the pages.
   - the page shell (style sheet, scripts, icons): kept at install.
   - signing out: the server's answer carries Clear-Site-Data (caches and this worker
     go); the worker also drops the member cache whenever a member page answers with a
     redirect (the session ended) and when the sign-in page is shown. */
"use strict";

const MEMBER = "ck-member-v1";
const SHELL = "ck-shell-v1";
const SHELL_URLS = ["/static/app.css", "/static/app.js", "/static/pwa.js",
                    "/static/icons/icon-192.png"];
const PAGES = ["/my", "/my/card"];
const IMAGES = ["/my/card/barcode.svg", "/my/card/qr.svg"];
const BANNER = '<p id="offline-banner" class="flash warn" role="status" hidden>';
const BANNER_SHOWN = '<p id="offline-banner" class="flash warn" role="status">';
const WHEN = '<time id="offline-at"></time>';

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(SHELL_URLS))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== MEMBER && k !== SHELL)
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function seoulTime(iso) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Seoul", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23"}).formatToParts(new Date(iso));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

async function page(request, path) {
  const cache = await caches.open(MEMBER);
  let response;
  try {
    response = await fetch(request);
  } catch (err) {
    const kept = await cache.match(path);
    if (!kept) { throw err; }
    const at = kept.headers.get("X-Fetched-At") || "";
    const html = (await kept.text()).replace(BANNER, BANNER_SHOWN)
      .replace(WHEN, `<time id="offline-at" datetime="${at}">${at ? seoulTime(at) : ""}</time>`);
    return new Response(html, {status: 200, headers: kept.headers});
  }
  if (response.type === "opaqueredirect" || response.redirected) {
    await caches.delete(MEMBER);  // signed out or the session ended: keep nothing
  } else if (response.ok && response.type === "basic") {
    const headers = new Headers(response.headers);
    headers.set("X-Fetched-At", new Date().toISOString());
    const body = await response.clone().arrayBuffer();
    await cache.put(path, new Response(body, {status: 200, headers}));
  }
  return response;
}

async function image(request, path) {
  const cache = await caches.open(MEMBER);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") { await cache.put(path, response.clone()); }
    return response;
  } catch (err) {
    const kept = await cache.match(path);
    if (kept) { return kept; }
    throw err;
  }
}

async function shell(request, path) {
  try {
    const response = await fetch(request);
    if (response.ok) { (await caches.open(SHELL)).put(path, response.clone()); }
    return response;
  } catch (err) {
    const kept = await caches.match(path);
    if (kept) { return kept; }
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) { return; }
  const path = url.pathname;
  if (PAGES.includes(path) && !url.search) {
    event.respondWith(page(event.request, path));
  } else if (IMAGES.includes(path)) {
    event.respondWith(image(event.request, path));
  } else if (SHELL_URLS.includes(path)) {
    event.respondWith(shell(event.request, path));
  } else if (path === "/my/login") {
    event.waitUntil(caches.delete(MEMBER));
  }
});
