// Resident chat. The conversation id and the messages stay in this phone's storage, so a reload
// shows the same conversation with the same id until the resident presses 清空.
//
// What the resident sees is only what they said and what the assistant answered, in Chinese:
// - the greeting is fetched with "/greet" on first load and no bubble of the resident's is shown
//   for it (they did not say anything);
// - a quick reply sends its payload (/intent{...}) and shows its title;
// - a message that did not get through stays in its bubble with the reason in Chinese and a
//   重新发送 button, which sends it again with the same message_id: the engine's webchat channel
//   answers each id once, so a message that did reach it (only the answer was lost) is not run twice.
(function () {
  const KEY = "linli.chat";
  const VERSION = 2;
  const TIMEOUT_MS = 45000;  // a turn takes well under a second; this is a connection that hangs
  const log = document.getElementById("log");
  const quick = document.getElementById("quick");
  const typing = document.getElementById("typing");
  const input = document.getElementById("text");
  const sendButton = document.getElementById("send");
  const big = document.getElementById("big");
  const confirmBox = document.getElementById("confirm");

  const SAY = {
    offline: "手机没有连上网络，这条消息还没有发出去。请检查网络，再按“重新发送”。",
    network: "网络不通，这条消息还没有发出去。请稍后按“重新发送”。",
    timeout: "助手好一会儿没有回复，可能是网络慢。请按“重新发送”，不会重复办理。",
    server: "助手暂时出了点问题，这条消息没有办成。请稍后按“重新发送”。",
    busy: "说得太快了，请稍等一下，再按“重新发送”。",
    tooLong: "这条消息太长了，请分几次发。",
    refused: "这条消息发不出去，请改一改再发。",
    interrupted: "这条消息可能没有发出去，请按“重新发送”。",
    greeting: "暂时连不上助手。您可以先写好要说的话，网络好了再发送。",
  };

  function randomHex(count) {  // getRandomValues works on plain http too (randomUUID does not)
    return Array.from(crypto.getRandomValues(new Uint8Array(count)), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function fresh(bigText) {
    return { version: VERSION, sender: "web-" + randomHex(12), messages: [], big: bigText, greeted: false };
  }
  function load() {
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(KEY)); } catch (e) { /* start afresh */ }
    if (!saved || !saved.sender || !Array.isArray(saved.messages)) return fresh(!!(saved && saved.big));
    if (saved.version !== VERSION) {
      // Earlier pages showed a "你好" the resident never typed (the greeting they sent), and their
      // error notices could be in English ("Failed to fetch"): both go.
      const first = saved.messages[0];
      if (first && first.who === "me" && first.text === "你好") saved.messages.shift();
      saved.messages = saved.messages.filter((m) => m.who === "me" || m.who === "bot");
      saved.version = VERSION;
      saved.greeted = saved.messages.length > 0;
    }
    for (const m of saved.messages) {
      if (m.who === "me" && m.status === "sending") Object.assign(m, { status: "failed", error: SAY.interrupted, retry: true });
    }
    return saved;
  }
  let state = load();
  let busy = false;
  let notice = "";  // said once, not kept (the greeting could not be fetched)
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode: this page only */ }
  }

  // Only Chinese reaches the screen: a server's own sentence is shown when it is one (our app's
  // details are), anything else (a proxy's "Bad Gateway", a framework's list of errors) is not.
  function chinese(detail) {
    return typeof detail === "string" && /[\u4e00-\u9fff]/.test(detail) && !/[A-Za-z]/.test(detail) ? detail : "";
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;  // never HTML
    return node;
  }

  // Quick replies of the assistant's latest turn (the last of its messages that has any).
  function currentButtons() {
    for (let i = state.messages.length - 1; i >= 0; i--) {
      const m = state.messages[i];
      if (m.who !== "bot") return [];
      if (m.buttons && m.buttons.length) return m.buttons;
    }
    return [];
  }

  // messages on screen at the last render: the first new one is where reading starts (a reload
  // opens at the end)
  let shown = state.messages.length;
  let anchor = null;
  function render() {
    log.replaceChildren();
    const nodes = [];
    for (const m of state.messages) {
      const node = element("div", "bubble " + m.who, m.text);
      if (m.who === "me" && m.status === "failed") {
        node.classList.add("failed");
        const failure = element("div", "failure");
        failure.setAttribute("role", "alert");
        failure.append(element("p", "", m.error || SAY.network));
        if (m.retry) {
          const again = element("button", "retry", "重新发送");
          again.type = "button";
          again.disabled = busy;
          again.addEventListener("click", () => resend(m));
          failure.append(again);
        }
        const wrap = element("div", "mine");
        wrap.append(node, failure);
        log.append(wrap);
        nodes.push(wrap);
      } else {
        log.append(node);
        nodes.push(node);
      }
    }
    if (notice) log.append(element("div", "bubble notice", notice));
    quick.replaceChildren();
    for (const b of busy ? [] : currentButtons()) {
      const button = element("button", "", b.title);
      button.type = "button";
      button.addEventListener("click", () => send(b.payload, b.title));
      quick.append(button);
    }
    typing.hidden = !busy;
    sendButton.disabled = busy;
    document.body.classList.toggle("big", !!state.big);
    big.setAttribute("aria-pressed", state.big ? "true" : "false");
    big.querySelector(".state").textContent = state.big ? "开" : "关";
    input.placeholder = state.big ? "请输入" : "请输入，比如：居委会几点开门";
    anchor = shown < nodes.length ? nodes[shown] : null;
    shown = nodes.length;
    reveal();
  }

  // The newest text is shown whole above the quick replies and the composer: the log scrolls to
  // its end, or, when what is new is taller than the log, to the start of what is new.
  function reveal() {
    const room = log.clientHeight;
    if (anchor && anchor.isConnected && log.scrollHeight - anchor.offsetTop > room) {
      log.scrollTop = anchor.offsetTop - 8;
    } else {
      log.scrollTop = log.scrollHeight;
    }
  }
  // The log's height changes when the quick replies, the typing dots or the keyboard come and go.
  if (window.ResizeObserver) new ResizeObserver(reveal).observe(log);

  async function deliver(message) {
    const request = { sender: state.sender, message: message.payload, message_id: message.id };
    const post = () => {
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), TIMEOUT_MS);
      return fetch("/chat/send", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request),
        signal: stop.signal,
      }).finally(() => clearTimeout(timer));
    };
    let response;
    try {
      // one quiet second try at once (a blip); the same id, so never answered twice
      response = await post().catch((e) => (e.name === "AbortError" ? Promise.reject(e) : post()));
    } catch (e) {
      if (e.name === "AbortError") return { error: SAY.timeout, retry: true };
      return { error: navigator.onLine === false ? SAY.offline : SAY.network, retry: true };
    }
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    const said = chinese(body && body.detail);
    if (response.status === 429) return { error: said ? said + "请稍后按“重新发送”。" : SAY.busy, retry: true };
    if (response.status === 413) return { error: SAY.tooLong, retry: false, edit: true };
    if (response.status >= 400 && response.status < 500) return { error: said || SAY.refused, retry: false, edit: true };
    if (!response.ok) return { error: said || SAY.server, retry: true };
    if (!Array.isArray(body)) return { error: SAY.server, retry: true };
    return { replies: body };
  }

  async function ask(message, silent) {
    busy = true;
    notice = "";
    render();
    const outcome = await deliver(message);
    busy = false;
    if (outcome.replies) {
      if (!silent) Object.assign(message, { status: "sent", error: undefined, retry: undefined });
      for (const m of outcome.replies) {
        const buttons = (m.buttons || []).filter((b) => b && b.title && b.payload);
        if (m.text || buttons.length) state.messages.push({ who: "bot", text: m.text || "", buttons });
        // a knowledge answer's details (谁可以办, 要带, 在哪里办…): read, not spoken
        const details = ((m.custom || {}).details || []).filter((d) => Array.isArray(d) && d.length === 2);
        if (details.length) state.messages.push({ who: "bot", text: details.map(([k, v]) => `${k}：${v}`).join("\n"), buttons: [] });
      }
      if (silent) state.greeted = true;
    } else if (silent) {
      notice = SAY.greeting;
    } else {
      Object.assign(message, { status: "failed", error: outcome.error, retry: outcome.retry });
      // a message that must be changed goes back into the box, so nothing typed is lost
      if (outcome.edit && message.typed && !input.value) input.value = message.text;
    }
    save();
    render();
  }

  function send(payload, title) {
    const text = (title || payload).trim();
    if (busy || !text) return false;
    const message = { who: "me", text, payload: payload.trim(), id: randomHex(16), status: "sending", typed: !title };
    state.messages.push(message);
    save();
    ask(message, false);
    return true;
  }
  function resend(message) {
    if (busy) return;
    // it goes to the end: the dialogue hears it now, after anything said since
    state.messages = state.messages.filter((m) => m !== message);
    state.messages.push(Object.assign(message, { status: "sending", error: undefined }));
    shown = Math.min(shown, state.messages.length - 1);
    save();
    ask(message, false);
  }

  document.getElementById("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    if (send(input.value)) input.value = "";  // while a reply is awaited the text stays in the box
  });
  big.addEventListener("click", () => { state.big = !state.big; save(); render(); });
  document.getElementById("clear").addEventListener("click", () => { confirmBox.hidden = false; });
  document.getElementById("clear-no").addEventListener("click", () => { confirmBox.hidden = true; });
  document.getElementById("clear-yes").addEventListener("click", () => {
    confirmBox.hidden = true;
    state = fresh(state.big);
    shown = 0;
    notice = "";
    save();
    render();
    greet();
  });
  function greet() {
    if (!state.greeted && !state.messages.length && !busy) ask({ payload: "/greet", id: randomHex(16) }, true);
  }
  render();
  greet();
})();
