// The kiosk page: touch buttons and one talk button. Audio goes over the WebSocket as 16 kHz
// 16-bit mono PCM; the app answers with captions, the reply text and the reply as WAV speech.
(function () {
  const IDLE_SECONDS = 90;  // then goodbye, and a clean screen and session for the next person
  const params = new URLSearchParams(location.search);
  const kioskId = params.get("kiosk") || "lobby";
  const caption = document.getElementById("caption");
  const reply = document.getElementById("reply");
  const choices = document.getElementById("choices");
  const talk = document.getElementById("talk");
  const state = document.getElementById("voice-state");
  let socket, voice = false, capture = null, idleTimer = null;
  window.linli = { played: 0, replies: 0 };  // for the browser tests

  function showReply(text) {
    // Numbers (phone, booking and request numbers, times) big and spaced.
    reply.replaceChildren();
    for (const part of text.split(/(\d{3,})/)) {
      const span = document.createElement("span");
      span.textContent = part;
      if (/^\d{3,}$/.test(part)) span.className = "num";
      reply.append(span);
    }
  }
  function showChoices(buttons) {
    choices.replaceChildren();
    for (const b of buttons || []) {
      const button = document.createElement("button");
      button.textContent = b.title;
      button.addEventListener("click", () => say(b.payload, b.title));
      choices.append(button);
    }
  }
  function connect() {
    socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/kiosk/ws`);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => socket.send(JSON.stringify({ type: "hello", kiosk_id: kioskId, location: params.get("where") || "" }));
    socket.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) { play(event.data); return; }
      const message = JSON.parse(event.data);
      if (message.type === "ready") {
        voice = message.voice;
        state.textContent = voice ? "" : "语音没有安装，请用手点按钮";
        talk.disabled = !voice;
      } else if (message.type === "partial") {
        caption.textContent = message.text ? `听到：${message.text}…` : "请说…";
      } else if (message.type === "heard") {
        stopCapture();
        caption.textContent = message.text ? `您说：${message.text}` : "";
      } else if (message.type === "reply") {
        window.linli.replies += 1;
        const texts = message.messages.filter((m) => m.text).map((m) => m.text);
        showReply(texts.join("\n"));
        showChoices(message.messages.flatMap((m) => m.buttons || []));
      } else if (message.type === "error") {
        stopCapture();
        caption.textContent = message.message;
      }
    };
    socket.onclose = () => setTimeout(connect, 1000);
  }
  function play(buffer) {
    const audio = new Audio(URL.createObjectURL(new Blob([buffer], { type: "audio/wav" })));
    audio.play().then(() => { window.linli.played += 1; }).catch(() => {});
  }
  function say(payload, shown) {
    touched();
    caption.textContent = `您选了：${shown || payload}`;
    socket.send(JSON.stringify({ type: "text", text: payload }));
  }
  async function startCapture() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
    const context = new AudioContext({ sampleRate: 16000 });
    await context.audioWorklet.addModule("/static/pcm-worklet.js");
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "pcm-capture");
    node.port.onmessage = (event) => { if (socket.readyState === 1) socket.send(event.data); };
    source.connect(node);
    capture = { stream, context };
    socket.send(JSON.stringify({ type: "listen", expect: [...choices.querySelectorAll("button")].map((b) => b.textContent) }));
    talk.classList.add("listening");
    talk.textContent = "正在听，说完再按一下";
    caption.textContent = "请说…";
  }
  function stopCapture() {
    if (!capture) return;
    capture.stream.getTracks().forEach((t) => t.stop());
    capture.context.close();
    capture = null;
    talk.classList.remove("listening");
    talk.textContent = "按一下说话";
  }
  talk.addEventListener("click", () => {
    touched();
    if (capture) { socket.send(JSON.stringify({ type: "stop" })); stopCapture(); }
    else startCapture().catch(() => { caption.textContent = "麦克风打不开，请用手点按钮。"; });
  });
  document.querySelectorAll("[data-say]").forEach((b) => b.addEventListener("click", () => say(b.dataset.say, b.textContent)));
  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(goodbye, IDLE_SECONDS * 1000);
  }
  function goodbye() {
    // Say goodbye (spoken), then a clean screen and a new conversation for the next person.
    stopCapture();
    socket.send(JSON.stringify({ type: "text", text: "再见" }));
    setTimeout(() => {
      showChoices([]);
      caption.textContent = "";
      showReply("您好！请按下面的按钮，或者按“按一下说话”跟我说。");
      socket.onclose = null;
      socket.close();
      connect();
    }, 6000);
  }
  connect();
})();
