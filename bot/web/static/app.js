/* paperdesk dashboard: session, navigation, theme and polling. */
"use strict";

(function () {
  const page = (window.location.pathname.replace(/^\/+/, "") || "overview");
  const root = document.documentElement;

  function applyTheme(theme) { root.dataset.theme = theme; localStorage.setItem("paperdesk-theme", theme); }
  applyTheme(localStorage.getItem("paperdesk-theme") ||
    (window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));

  async function refresh(first) {
    const main = document.getElementById("main");
    if (!first && main.querySelector("input:focus, select:focus, [data-busy]")) return; // never under the user's cursor
    try {
      const view = await PD.pages[page](first);
      if (view) { PD.dropCharts(); main.replaceChildren(view); if (view.afterMount) view.afterMount(); }
      document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    } catch (error) {
      main.replaceChildren(PD.el("p", { class: "message bad", text: "Could not load: " + error.message }));
    }
    PD.api("/api/pending").then((items) => {
      document.getElementById("pending-count").textContent = items.length ? String(items.length) : "";
    }).catch(() => {});
  }

  async function start() {
    PD.session = await PD.api("/api/session");
    document.body.dataset.role = PD.session.role;
    document.getElementById("who").textContent = PD.session.actor + " · " + PD.session.role;
    for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.page === page);
    document.getElementById("theme").addEventListener("click", () => {
      applyTheme(root.dataset.theme === "dark" ? "light" : "dark"); refresh(true);
    });
    document.getElementById("logout").addEventListener("click", async () => {
      await PD.api("/logout", { method: "POST" }).catch(() => {}); window.location.reload();
    });
    await refresh(true);
    if (PD.pages[page].poll !== false) setInterval(() => refresh(false), 10000);
  }

  PD.refresh = () => refresh(true);
  document.addEventListener("DOMContentLoaded", start);
})();
