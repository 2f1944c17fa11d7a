// TEKKAN's service worker: shows Web Push notifications and opens their page.
self.addEventListener("push", (ev) => {
  let d = {};
  try { d = ev.data ? ev.data.json() : {}; } catch (_) { d = { body: ev.data && ev.data.text() }; }
  ev.waitUntil(self.registration.showNotification(d.title || "TEKKAN", {
    body: d.body || "",
    tag: d.tag,
    data: { url: d.url || "/" },
  }));
});

self.addEventListener("notificationclick", (ev) => {
  ev.notification.close();
  const url = (ev.notification.data && ev.notification.data.url) || "/";
  // Only our own pages.
  const target = url.startsWith("/") && !url.startsWith("//") ? url : "/";
  ev.waitUntil(self.clients.openWindow(target));
});
