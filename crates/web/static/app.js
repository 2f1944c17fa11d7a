// Progressive enhancement only: every page works without script.
document.addEventListener("click", (ev) => {
  const btn = ev.target.closest("[data-copy]");
  if (!btn) return;
  const input = document.getElementById(btn.dataset.copy);
  if (!input) return;
  input.select();
  if (navigator.clipboard) navigator.clipboard.writeText(input.value);
});

// Web Push: offered where the browser supports it; the server gives its VAPID key.
(function () {
  const btn = document.getElementById("push-subscribe");
  if (!btn || !("serviceWorker" in navigator) || !("PushManager" in window)) return;
  const status = document.getElementById("push-status");
  const b64 = (s) => {
    const p = "=".repeat((4 - (s.length % 4)) % 4);
    const raw = atob((s + p).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  };
  fetch("/api/v1/push/vapid-public-key").then((r) => r.json()).then((k) => {
    if (!k.public_key) return;
    btn.hidden = false;
    btn.addEventListener("click", async () => {
      try {
        if ((await Notification.requestPermission()) !== "granted") throw new Error("denied");
        const reg = await navigator.serviceWorker.register("/sw.js");
        const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(k.public_key) });
        const r = await fetch("/api/v1/me/push-subscriptions", {
          method: "POST",
          headers: { "content-type": "application/json", "x-csrf-token": btn.dataset.csrf },
          body: JSON.stringify(sub.toJSON()),
        });
        if (!r.ok) throw new Error(String(r.status));
        status.textContent = btn.dataset.ok;
      } catch (_) {
        status.textContent = btn.dataset.fail;
      }
    });
  });
})();
