// The kiosk page: touch buttons, and one talk button when the app has a voice model. Audio goes
// over the WebSocket as 16 kHz 16-bit mono PCM; the app answers with captions, the reply text and
// the reply as WAV speech. Every touch sends a Rasa intent payload (`payload` below), never words
// for the NLU to guess.
(function () {
  const params = new URLSearchParams(location.search);
  // Seconds without a touch before "您还在吗？", and then before the screen is cleared; the
  // browser tests shorten them (?idle=2&idle_end=2).
  const seconds = (name, fallback) => (Number(params.get(name)) > 0 ? Number(params.get(name)) : fallback);
  const IDLE_SECONDS = seconds("idle", 60);
  const IDLE_END_SECONDS = seconds("idle_end", 30);
  const kioskId = params.get("kiosk") || "lobby";
  const $ = (id) => document.getElementById(id);
  const caption = $("caption"), reply = $("reply"), choices = $("choices"), answer = $("answer");
  const entry = $("entry"), talk = $("talk");
  const sosScreen = $("sos-screen"), sosState = $("sos-state"), idleScreen = $("idle-screen");
  const GREETING = {
    touch: "您好！请按下面的按钮。",
    voice: "您好！请按下面的按钮，或者按“按一下说话”跟我说。",
  };
  let socket, voice = false, capture = null, atStart = true;
  window.linli = { played: 0, replies: 0, partials: 0 };  // for the browser tests

  // What a touch sends: `/intent`, or `/intent{"entity": "value"}` with the JSON made by
  // JSON.stringify. A pad's or picker's words are the form's answer: /inform{"answer": words}.
  function payload(intent, entities) {
    return entities ? `/${intent}${JSON.stringify(entities)}` : `/${intent}`;
  }
  const answerPayload = (words) => payload("inform", { answer: words });
  const yesOrNo = (sent) => ({ "/affirm": "yes", "/deny": "no" })[String(sent || "").trim()] || "";

  function showDetails(pairs) {
    // A knowledge answer's details (谁可以办, 要带, 在哪里办…), shown under it, never spoken.
    const details = document.getElementById("details");
    details.replaceChildren();
    for (const pair of pairs) {
      if (!Array.isArray(pair) || pair.length !== 2) continue;
      const term = document.createElement("dt");
      term.textContent = pair[0];
      const text = document.createElement("dd");
      text.textContent = pair[1];
      details.append(term, text);
    }
  }
  function showReply(text) {
    // Numbers (phone, booking and request numbers, times) big and spaced; a booking or request
    // number comes in two groups of four ("3051 2743") and stays one number on screen. A number in
    // an address ("安宁路100弄", "602室") is no number to note down: it stays as it is.
    reply.replaceChildren();
    for (const part of text.split(/(\d{4} \d{4}(?!\d)|\d{3,}(?![\d弄号路室楼]))/)) {
      const span = document.createElement("span");
      span.textContent = part;
      if (/^\d{3,}$|^\d{4} \d{4}$/.test(part)) span.className = "num";
      reply.append(span);
    }
  }
  let shownButtons = [];
  function showChoices(buttons) {
    choices.replaceChildren();
    choices.hidden = false;
    shownButtons = (buttons || []).map((b) => ({ title: b.title, payload: b.payload }));
    // A read-back with 对 / 不对 (its buttons say a bare /affirm and /deny) becomes a confirmation
    // screen: the text framed, two huge buttons, green and red. The tiles of "哪一项不对？" say
    // /deny{"item": …}: ordinary tiles (naming what to change), not six red 不对.
    const answers = shownButtons.map((b) => yesOrNo(b.payload));
    answer.classList.toggle("confirm", answers.includes("yes") && answers.includes("no"));
    for (const b of shownButtons) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      if (yesOrNo(b.payload)) button.className = yesOrNo(b.payload);
      button.addEventListener("click", () => say(b.payload, b.title));  // the payload as it came
      choices.append(button);
    }
  }
  function key(label, onPress, className) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    if (className) button.className = className;
    button.addEventListener("click", () => { touched(); onPress(); });
    return button;
  }
  const quitKey = () => key("不办了", () => say(answerPayload("不办了"), "不办了"), "quit");
  // Touch-only answers: a number pad (phone, booking number, floor), a building/floor/room pad
  // in three steps, and a day-then-hour picker. What is typed goes as the form's answer, in the
  // words it stands for ("13812345678", "5号楼6楼602室", "明天上午9点").
  // A digits entry gives its length, or the lengths it may have (a booking number: 8, or 6 for
  // one issued before; typed, it is shown in fours, as it is printed and spoken).
  let shownEntry = null;
  function showEntry(spec) {
    shownEntry = spec || null;
    answer.insertBefore(choices, entry);  // back in its place, if the last pad had it
    entry.replaceChildren();
    entry.className = "";
    document.body.classList.toggle("entering", Boolean(spec));
    if (!spec) return;
    const steps = {
      digits: [{ label: spec.label || "号码", lengths: spec.lengths || [spec.length], unit: "", grouped: Boolean(spec.lengths) }],
      number: [{ label: spec.label || "数字", maxLength: 3, unit: spec.suffix || "" }],
      address: [
        { label: "几号楼", maxLength: 3, unit: "号楼" },
        { label: "几楼", maxLength: 2, unit: "楼" },
        { label: "几室（不知道可以跳过）", maxLength: 4, unit: "室", optional: true },
      ],
    }[spec.kind];
    if (spec.kind === "time") timePicker();
    else if (steps) numberPad(steps);
    // Buttons offered beside the pad ("现在", "记不得") go beside it, so that all fits on one screen.
    if (entry.childElementCount && choices.childElementCount) entry.insertBefore(choices, entry.querySelector(".quit"));
  }
  function numberPad(steps) {
    const typed = steps.map(() => "");
    let at = 0;
    const label = document.createElement("p");
    label.className = "label";
    const shown = document.createElement("p");
    shown.className = "typed";
    const pad = document.createElement("div");
    pad.className = "pad";
    const done = key("确定", next, "ok");
    function render() {
      const step = steps[at];
      label.textContent = `请按${step.label}：`;
      const text = step.grouped ? inFours(typed[at]) : typed[at];
      shown.textContent = (text || "　") + (typed[at] ? step.unit : "");
      const complete = step.lengths ? step.lengths.includes(typed[at].length) : typed[at].length > 0 || step.optional;
      done.disabled = !complete;
      done.textContent = at < steps.length - 1 ? "下一步" : "确定";
    }
    function press(d) {
      const step = steps[at];
      const limit = step.lengths ? Math.max(...step.lengths) : step.maxLength;
      if (typed[at].length < limit) typed[at] += d;
      render();
    }
    function next() {
      if (at < steps.length - 1) { at += 1; render(); return; }
      const words = steps.map((s, i) => (typed[i] ? typed[i] + s.unit : "")).join("");
      say(answerPayload(words), words, "您按了");
    }
    for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9"]) pad.append(key(d, () => press(d)));
    pad.append(key("删除", () => { typed[at] = typed[at].slice(0, -1); render(); }, "erase"));
    pad.append(key("0", () => press("0")));
    pad.append(done);
    entry.append(label, shown, pad, quitKey());
    render();
  }
  const inFours = (digits) => digits.replace(/(\d{4})(?=\d)/g, "$1 ");  // "30512743" → "3051 2743"
  function timePicker() {
    const label = document.createElement("p");
    label.className = "label";
    const list = document.createElement("div");
    list.className = "pad times";
    entry.className = "picking";
    function pickDay() {
      choices.hidden = false;  // "现在" belongs with the day, not beside the hours
      label.textContent = "请按哪一天：";
      list.replaceChildren(...["今天", "明天", "后天"].map((day) => key(day, () => pickHour(day))));
    }
    function pickHour(day) {
      choices.hidden = true;
      label.textContent = `${day}几点？`;
      const hours = ["上午7点", "上午8点", "上午9点", "上午10点", "上午11点", "中午12点",
        "下午1点", "下午2点", "下午3点", "下午4点", "下午5点", "晚上6点"];
      list.replaceChildren(...hours.map((h) => key(h, () => say(answerPayload(day + h), day + h))), key("换一天", pickDay, "erase"));
    }
    entry.append(label, list, quitKey());
    pickDay();
  }
  function greeting() {
    return voice ? GREETING.voice : GREETING.touch;
  }
  function connect() {
    socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/kiosk/ws`);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      // after a dropped socket, the same conversation goes on (resume); a fresh start never resumes
      const hello = { type: "hello", kiosk_id: kioskId, location: params.get("where") || "" };
      if (resume) hello.resume = resume;
      socket.send(JSON.stringify(hello));
      if (sosUnsent !== null) sendSos(sosUnsent);  // the socket was down when 紧急求助 was touched
    };
    socket.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) { play(event.data); return; }
      const message = JSON.parse(event.data);
      if (message.type === "ready") {
        // Honest about voice: no talk button (and "请按", not "请说") without a voice model.
        voice = Boolean(message.voice);
        window.linli.session = message.session;
        window.linli.voice = voice;
        talk.hidden = !voice;
        document.body.classList.toggle("voice", voice);
        if (atStart) showReply(greeting());
      } else if (message.type === "partial") {
        if (message.text) window.linli.partials += 1;
        caption.textContent = message.text ? `听到：${message.text}…` : "请说…";
        touched();  // speaking is being there too
      } else if (message.type === "heard") {
        stopCapture();
        caption.textContent = message.text ? `您说：${message.text}` : "";
      } else if (message.type === "reply") {
        window.linli.replies += 1;
        atStart = false;
        const texts = message.messages.filter((m) => m.text).map((m) => m.text);
        showReply(texts.join("\n"));
        showDetails(message.messages.flatMap((m) => (m.custom || {}).details || []));
        showChoices(message.messages.flatMap((m) => m.buttons || []));
        showEntry(message.messages.map((m) => (m.custom || {}).entry).find(Boolean));
        touched();  // time to read the answer: the idle wait starts again
      } else if (message.type === "sos") {
        clearTimeout(sosTimer);
        if (!sosScreen.hidden) showSosState(message.come, message.told ? "told" : "failed");
      } else if (message.type === "error") {
        stopCapture();
        caption.textContent = message.message;
      } else if (message.type === "busy") {
        // Too many turns at once (the rate limit): a calm pause, not an error; the buttons stay.
        stopCapture();
        caption.textContent = message.message;
        caption.classList.add("pause");
        setTimeout(() => caption.classList.remove("pause"), 4000);
      }
    };
    socket.onclose = () => {
      resume = window.linli.session || null;
      if (sosAsked !== null) { sosUnsent = sosAsked; showSosState(sosAsked, "failed"); }  // tried again on reconnect
      setTimeout(connect, 1000);
    };
  }
  // 紧急求助: the numbers at once, from this page (no answer needed), then the app is asked to
  // tell staff; "told" only when the app says the alert is stored, else said plainly that it is not.
  const SOS_WAIT_SECONDS = 8;
  const SOS_SAYS = {
    asking: ["正在通知工作人员……", "正在请工作人员过来……"],
    told: ["已经通知工作人员。", "已经请工作人员过来，请在这里等。"],
    failed: ["没能通知到工作人员，请直接拨打上面的电话。", "没能通知到工作人员，请直接拨打上面的电话，或者请旁边的人帮忙。"],
  };
  let sosAsked = null, sosUnsent = null, sosTimer = null;
  function showSosState(come, how) {
    sosState.textContent = SOS_SAYS[how][come ? 1 : 0];
    sosState.className = `sos-state ${how}`;
    if (how !== "asking") sosAsked = null;
  }
  function sos(come) {
    closeQuestion();
    clearTimeout(idleTimer);  // no question and no clean screen while the emergency screen is up
    stopCapture();
    sosScreen.hidden = false;
    document.body.classList.add("sos");
    showSosState(come, "asking");
    sendSos(come);
  }
  function sendSos(come) {
    sosUnsent = null;
    clearTimeout(sosTimer);
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      sosUnsent = come;
      showSosState(come, "failed");
      return;
    }
    sosAsked = come;
    socket.send(JSON.stringify({ type: "sos", come }));
    sosTimer = setTimeout(() => { if (sosAsked !== null) showSosState(come, "failed"); }, SOS_WAIT_SECONDS * 1000);
  }
  function home() {
    // Back to the start screen, as a new conversation (whatever form was open is left behind).
    sosScreen.hidden = true;
    document.body.classList.remove("sos");
    sosAsked = sosUnsent = null;
    clearTimeout(sosTimer);
    closeQuestion();
    freshStart();
  }
  $("sos").addEventListener("click", () => sos(false));
  $("sos-come").addEventListener("click", () => sos(true));
  $("sos-home").addEventListener("click", home);
  $("home").addEventListener("click", home);
  function play(buffer) {
    const audio = new Audio(URL.createObjectURL(new Blob([buffer], { type: "audio/wav" })));
    audio.play().then(() => { window.linli.played += 1; }).catch(() => {});
  }
  function say(sent, shown, how = "您选了") {
    touched();
    atStart = false;
    caption.textContent = `${how}：${shown}`;
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "text", text: sent }));
    else caption.textContent = "正在连接，请稍等再按一次。";
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
    // The buttons on screen are what the dialogue expects: recognition is restricted to them.
    socket.send(JSON.stringify({ type: "listen", expect: shownButtons, number: Boolean(shownEntry && shownEntry.kind !== "time") }));
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
    if (!voice) return;
    if (capture) { socket.send(JSON.stringify({ type: "stop" })); stopCapture(); }
    else startCapture().catch(() => { caption.textContent = "麦克风打不开，请用手点按钮。"; });
  });
  // The menu and the footer: each button names its intent (and its words, for 再说一遍 and 说慢一点).
  document.querySelectorAll("[data-intent]").forEach((b) => {
    b.dataset.payload = payload(b.dataset.intent, b.dataset.answer ? { answer: b.dataset.answer } : null);
    b.addEventListener("click", () => say(b.dataset.payload, b.textContent));
  });

  // Idle with care: after IDLE_SECONDS without a touch, "您还在吗？" (继续 keeps everything, 结束
  // starts afresh); only if IDLE_END_SECONDS more pass untouched is the screen cleared. Never over
  // the emergency screen, and not on the start screen, where there is nothing to clear.
  let idleTimer = null, endTimer = null;
  function touched() {
    clearTimeout(idleTimer);
    if (!sosScreen.hidden || !idleScreen.hidden) return;  // the question waits for its own answer
    idleTimer = setTimeout(askStillThere, IDLE_SECONDS * 1000);
  }
  function askStillThere() {
    if (!sosScreen.hidden || atStart) return;
    stopCapture();
    idleScreen.hidden = false;
    document.body.classList.add("asking");
    endTimer = setTimeout(() => { closeQuestion(); freshStart(); }, IDLE_END_SECONDS * 1000);
  }
  function closeQuestion() {
    clearTimeout(endTimer);
    idleScreen.hidden = true;
    document.body.classList.remove("asking");
  }
  $("idle-on").addEventListener("click", () => { closeQuestion(); touched(); });
  $("idle-end").addEventListener("click", () => { closeQuestion(); freshStart(); });
  document.addEventListener("pointerdown", touched, true);

  function freshStart() {
    // A clean screen and a new conversation (a new socket is a new session) for the next person.
    clearTimeout(idleTimer);
    stopCapture();
    showDetails([]);
    showChoices([]);
    showEntry(null);
    caption.textContent = "";
    atStart = true;
    showReply(greeting());
    socket.onclose = null;
    socket.close();
    resume = null;
    connect();
  }
  let resume = null;  // the session to go on with after a dropped socket
  connect();
})();
