// Alerts at the top of every staff page: polled every 5 seconds, shown until acknowledged.
(function () {
  const box = document.getElementById("alerts");
  if (!box) return;
  const list = box.querySelector("ul");
  function render(alerts) {
    list.replaceChildren();
    for (const a of alerts) {
      const li = document.createElement("li");
      const kind = document.createElement("strong");
      kind.textContent = a.label;
      const what = document.createElement("span");
      what.textContent = `${a.time}  ${a.message}`;  // textContent: never rendered as HTML
      const where = document.createElement("span");
      where.className = "alert-where";
      where.textContent = [a.where, a.phone ? `电话 ${a.phone}` : ""].filter(Boolean).join(" · ");
      const link = document.createElement("a");
      link.href = a.conversation;
      link.textContent = "看对话";
      const ack = document.createElement("button");
      ack.textContent = "已处理";
      ack.dataset.id = a.id;
      ack.addEventListener("click", () => acknowledge(a.id));
      li.append(kind, what, where, link, ack);
      list.append(li);
    }
    box.classList.toggle("on", alerts.length > 0);
    document.title = alerts.length ? `(${alerts.length}) 紧急 · 邻里助手` : document.title.replace(/^\(\d+\) 紧急 · /, "");
  }
  // Signed out (elsewhere, by a password change, by expiry): this page would go on showing no
  // alerts, so it goes to the login page, which says why.
  function signedOut(response) {
    if (response.status !== 401) return false;
    location.assign(`/staff/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    return true;
  }
  async function poll() {
    try {
      const response = await fetch("/api/staff/alerts", { credentials: "same-origin" });
      if (signedOut(response)) return;
      if (response.ok) render(await response.json());
    } catch (e) { /* the next poll tries again */ }
  }
  async function acknowledge(id) {
    const response = await fetch(`/api/staff/alerts/${id}/ack`, { method: "POST", credentials: "same-origin" });
    if (signedOut(response)) return;
    poll();
  }
  poll();
  setInterval(poll, 5000);
})();
