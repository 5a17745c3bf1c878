// Resident chat. The conversation id and the messages stay in this phone's storage, so a reload
// shows the same conversation with the same id until the resident presses 清空.
(function () {
  const KEY = "linli.chat";
  const log = document.getElementById("log");
  const quick = document.getElementById("quick");
  const typing = document.getElementById("typing");
  const input = document.getElementById("text");
  const big = document.getElementById("big");

  function randomHex(count) {  // getRandomValues works on plain http too (randomUUID does not)
    return Array.from(crypto.getRandomValues(new Uint8Array(count)), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function newSender() {
    return "web-" + randomHex(12);
  }
  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(KEY));
      if (saved && saved.sender) return saved;
    } catch (e) { /* start afresh */ }
    return { sender: newSender(), messages: [], big: false };
  }
  let state = load();
  function save() { localStorage.setItem(KEY, JSON.stringify(state)); }

  function bubble(who, text) {
    const div = document.createElement("div");
    div.className = "bubble " + who;
    div.textContent = text;  // never HTML
    log.append(div);
    log.scrollTop = log.scrollHeight;
  }
  function showQuick(buttons) {
    quick.replaceChildren();
    for (const b of buttons || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      button.addEventListener("click", () => send(b.payload, b.title));
      quick.append(button);
    }
  }
  function render() {
    log.replaceChildren();
    for (const m of state.messages) bubble(m.who, m.text);
    const last = state.messages[state.messages.length - 1];
    showQuick(last && last.who === "bot" ? last.buttons : []);
    document.body.classList.toggle("big", !!state.big);
    big.checked = !!state.big;
  }

  async function send(payload, shown) {
    const text = (shown || payload).trim();
    if (!text) return;
    state.messages.push({ who: "me", text });
    save(); render();
    typing.hidden = false;
    try {
      // One id per message: if the connection drops, the resend is answered once, not twice.
      const request = { sender: state.sender, message: payload, message_id: randomHex(16) };
      const post = () => fetch("/chat/send", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request),
      });
      const response = await post().catch(() => post());
      const body = await response.json();
      if (response.status === 429) {
        // Too many messages at once: a pause, not a fault. The message was not sent; say it again later.
        state.messages.push({ who: "notice", text: typeof body.detail === "string" ? body.detail : "说得太快了，请稍等一下再说。" });
        return;
      }
      if (!response.ok) throw new Error(typeof body.detail === "string" ? body.detail : "发送没有成功，请再试一次。");
      for (const m of body) {
        if (m.text || (m.buttons && m.buttons.length)) state.messages.push({ who: "bot", text: m.text || "", buttons: m.buttons || [] });
      }
    } catch (e) {
      state.messages.push({ who: "error", text: e.message || "网络不通，请稍后再试。" });
    } finally {
      typing.hidden = true;
      save(); render();
    }
  }

  document.getElementById("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    send(text);
  });
  big.addEventListener("change", () => { state.big = big.checked; save(); render(); });
  document.getElementById("clear").addEventListener("click", () => {
    if (!confirm("清空这段对话吗？")) return;
    state = { sender: newSender(), messages: [], big: state.big };
    save(); render();
  });
  render();
  if (!state.messages.length) send("/greet", "你好");
})();
