// Progressive enhancement only: every page works without script. (Inline handlers
// are refused by the Content-Security-Policy: buttons say what they do in data-*.)
document.addEventListener("click", (ev) => {
  if (ev.target.closest("[data-print]")) {
    window.print();
    return;
  }
  const btn = ev.target.closest("[data-copy]");
  if (!btn) return;
  const input = document.getElementById(btn.dataset.copy);
  if (!input) return;
  input.select();
  if (navigator.clipboard) navigator.clipboard.writeText(input.value);
});

// In place (出欠 in one tap, the roll call): a form with data-inplace is sent in the
// background and the server's fresh copy of the element around it (data-swap, same id)
// takes its place, so the page neither reloads nor jumps; the same control keeps the
// focus (after 欠席, the reason field). Any failure falls back to the plain form post,
// whose page says what went wrong.
document.addEventListener("submit", async (ev) => {
  const form = ev.target.closest("form[data-inplace]");
  const box = form && form.closest("[data-swap]");
  if (!box || !box.id || !window.fetch || form.dataset.sending) return;
  ev.preventDefault();
  form.dataset.sending = "1";
  const index = [...box.querySelectorAll("form")].indexOf(form);
  const body = new URLSearchParams(new FormData(form));
  try {
    const res = await fetch(form.action, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "x-tekkan-fragment": "1" },
    });
    if (!res.ok || res.redirected) throw new Error(String(res.status));
    const t = document.createElement("template");
    t.innerHTML = (await res.text()).trim();
    const fresh = t.content.firstElementChild;
    if (!fresh || fresh.id !== box.id) throw new Error("not this element");
    box.replaceWith(fresh);
    const reason = fresh.querySelector("form.reason input[name=comment]");
    const same = fresh.querySelectorAll("form")[index];
    const target = body.get("status") === "no" && reason && !body.get("comment")
      ? reason
      : same && same.querySelector("button");
    if (target) target.focus({ preventScroll: true });
  } catch (e) {
    form.submit();
  }
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

// Passkeys: a button with data-passkey ("create" or "get") fetches the server's options,
// asks the authenticator, and submits its answer in the button's form.
(function () {
  const pkc = window.PublicKeyCredential;
  if (!pkc || !pkc.parseCreationOptionsFromJSON) return;
  for (const btn of document.querySelectorAll("[data-passkey]")) {
    btn.hidden = false;
    btn.addEventListener("click", async () => {
      const form = document.getElementById(btn.dataset.form);
      const status = form.querySelector("[role=status]");
      try {
        const r = await fetch(btn.dataset.options, {
          method: "POST",
          headers: { "x-csrf-token": form.elements._csrf.value },
        });
        if (!r.ok) throw new Error(String(r.status));
        const opts = await r.json();
        const cred = btn.dataset.passkey === "create"
          ? await navigator.credentials.create({ publicKey: pkc.parseCreationOptionsFromJSON(opts) })
          : await navigator.credentials.get({ publicKey: pkc.parseRequestOptionsFromJSON(opts) });
        form.elements.credential.value = JSON.stringify(cred.toJSON());
        form.submit();
      } catch (_) {
        if (status) status.textContent = btn.dataset.fail;
      }
    });
  }
})();

// Signed actions: a form with data-sign asks the server for the exact action to sign,
// has the passkey sign it, and sends the signature with the form. Without a passkey the
// server answers 409 and the form goes unsigned, as the person's actions are.
(function () {
  const pkc = window.PublicKeyCredential;
  if (!pkc || !pkc.parseRequestOptionsFromJSON) return;
  const b64url = (text) => {
    const bytes = new TextEncoder().encode(text);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const fields = (form) => {
    const fd = new FormData(form);
    switch (form.dataset.sign) {
      case "member.role_change":
        return { role: fd.get("role") };
      case "announcement.publish":
        return {
          title: fd.get("title") || "",
          body: fd.get("body") || "",
          pinned: fd.has("pinned"),
          requires_confirmation: fd.has("requires_confirmation"),
          subgroups: fd.getAll("subgroups"),
        };
      default:
        return {};
    }
  };
  for (const form of document.querySelectorAll("form[data-sign]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const status = form.querySelector("[role=status]");
      try {
        const r = await fetch(form.dataset.signOptions, {
          method: "POST",
          headers: { "content-type": "application/json", "x-csrf-token": form.elements._csrf.value },
          body: JSON.stringify({ kind: form.dataset.sign, target: form.dataset.signTarget, fields: fields(form) }),
        });
        if (r.status === 409) return form.submit();
        if (!r.ok) throw new Error(String(r.status));
        const o = await r.json();
        const cred = await navigator.credentials.get({ publicKey: pkc.parseRequestOptionsFromJSON(o.public_key) });
        form.elements._signature.value = b64url(JSON.stringify({ action: o.action, credential: cred.toJSON() }));
        form.submit();
      } catch (_) {
        if (status) status.textContent = form.dataset.signFail || "";
      }
    });
  }
})();
