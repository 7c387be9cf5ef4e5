/* The member app: register the service worker (scope /my) on the portal's pages. The
   sign-in page also forgets any kept member pages (a device handed to someone else). */
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) { return; }
  if (location.pathname === "/my/login" && window.caches) {
    caches.delete("ck-member-v1");
  }
  navigator.serviceWorker.register("/my/sw.js", { scope: "/my" }).catch(function () {});
})();
