// The browser's IANA time zone: the server shows the player's times in it (PlayerClock).
window.streamBets = { timeZone: () => Intl.DateTimeFormat().resolvedOptions().timeZone };

// Installable PWA: register the shell-only service worker once the page has loaded.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/service-worker.js", { scope: "/" }).catch(() => { /* the app works without it */ });
  });
}
