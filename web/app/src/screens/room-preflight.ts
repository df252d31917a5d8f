// The pre-flight before entering a hearing, one thing on the page: check your camera and
// microphone. A preview, a microphone level, a test sound, device pickers, audio only (no camera,
// or by choice), and a clear message when the browser cannot get media. Then "Join".
import { busy, button, clear, field, h, notice, title } from "../dom";
import { strings } from "../i18n";
import { listDevices, levelMeter, MediaProblem, openDevices, prepared, stopStream, testSound, type Devices } from "../media";

const T = strings(
  {
    heading: "Check your camera and microphone",
    lead: "Before you join, make sure the court will see and hear you. Speak: the bar below should move.",
    preview: "Your camera",
    level: "Microphone level",
    levelHint: "Speak now: the bar should move when you talk.",
    microphone: "Microphone",
    camera: "Camera",
    noCamera: "No camera (audio only)",
    speaker: "Speaker",
    defaultDevice: "Default",
    testSound: "Play a test sound",
    testHint: "You should hear two short tones. If you do not, check your volume or choose another speaker.",
    audioOnly: "You will take part by microphone only. The court will hear you and you will see the courtroom.",
    noCameraFound: "No camera was found. You can still join by microphone only.",
    join: "Join the hearing",
    retry: "Try again",
    problem: "Your camera and microphone cannot be used",
    starting: "Starting your camera and microphone…",
  },
  {
    heading: "检查摄像头和麦克风",
    lead: "加入前，请确认法庭能看到并听到您。请说话：下方的音量条应随之跳动。",
    preview: "您的摄像头画面",
    level: "麦克风音量",
    levelHint: "请说话：说话时音量条应跳动。",
    microphone: "麦克风",
    camera: "摄像头",
    noCamera: "不使用摄像头（仅语音）",
    speaker: "扬声器",
    defaultDevice: "默认",
    testSound: "播放测试音",
    testHint: "您应听到两声短音。如未听到，请检查音量或选择其他扬声器。",
    audioOnly: "您将仅通过麦克风参加。法庭可以听到您，您也能看到法庭画面。",
    noCameraFound: "未找到摄像头。您仍可仅通过麦克风加入。",
    join: "加入庭审",
    retry: "重试",
    problem: "无法使用摄像头和麦克风",
    starting: "正在启动摄像头和麦克风…",
  },
);

export interface PreflightOptions {
  caption?: string;
  /** Called with the devices ready in `prepared`; a refusal it shows itself. */
  onJoin(): Promise<void>;
}

/** Draws the pre-flight into `root`; returns what stops the meter and preview. */
export function renderPreflight(root: HTMLElement, opts: PreflightOptions): () => void {
  let stopMeter: (() => void) | null = null;
  let disposed = false;
  const status = h("div", { id: "preflight-status" });
  const preview = h("video", { class: "self-view preflight-preview", id: "preview", autoplay: true, playsinline: true, "aria-label": T("preview") });
  preview.muted = true;
  const meter = h("meter", { id: "mic-level", min: 0, max: 1, low: 0.15, high: 0.85, optimum: 0.5, value: 0, class: "mic-meter" });
  const meterLabel = h("label", { for: "mic-level" }, T("level"));
  const micSel = h("select", { id: "pick-mic", name: "microphone" });
  const camSel = h("select", { id: "pick-camera", name: "camera" });
  const outSel = h("select", { id: "pick-speaker", name: "speaker" });
  const mic = field(T("microphone"), micSel);
  const cam = field(T("camera"), camSel);
  const out = field(T("speaker"), outSel);
  const modeNote = h("div", { id: "audio-only-note" });
  const testBtn = button(T("testSound"), () => void testSound(prepared.choice.outputId), "secondary", { id: "test-sound" });
  const joinBtn = button(T("join"), () => void busy(form, () => opts.onJoin()), "primary", { id: "join-btn" });
  const form = h(
    "div",
    { class: "preflight" },
    h("div", { class: "preflight-media" }, preview, h("div", { class: "field" }, meterLabel, h("p", { class: "hint" }, T("levelHint")), meter)),
    modeNote,
    h("div", { class: "inline-fields" }, mic.el, cam.el, out.el),
    h("div", { class: "field" }, testBtn, h("p", { class: "hint" }, T("testHint"))),
    joinBtn,
  );

  const options = (sel: HTMLSelectElement, list: MediaDeviceInfo[], chosen: string | undefined, extra?: [string, string]) => {
    clear(
      sel,
      extra ? h("option", { value: extra[0] }, extra[1]) : null,
      list.map((d, i) => h("option", { value: d.deviceId }, d.label || `${T("defaultDevice")} ${i + 1}`)),
    );
    if (chosen !== undefined) sel.value = chosen;
  };

  const fillPickers = (devices: Devices, stream: MediaStream) => {
    const a = stream.getAudioTracks()[0]?.getSettings().deviceId;
    const v = stream.getVideoTracks()[0]?.getSettings().deviceId;
    options(micSel, devices.inputs, prepared.choice.audioId ?? a);
    options(camSel, devices.cameras, prepared.choice.camera ? (prepared.choice.videoId ?? v ?? "") : "", ["", T("noCamera")]);
    options(outSel, devices.outputs, prepared.choice.outputId, devices.outputs.length ? undefined : ["", T("defaultDevice")]);
    out.el.hidden = !("setSinkId" in HTMLMediaElement.prototype) || devices.outputs.length === 0;
  };

  const start = async () => {
    stopMeter?.();
    stopMeter = null;
    stopStream(prepared.stream);
    prepared.stream = null;
    clear(status, h("p", { class: "loading", role: "status" }, T("starting")));
    try {
      const stream = await openDevices(prepared.choice);
      if (disposed) return stopStream(stream);
      prepared.stream = stream;
      preview.srcObject = stream;
      const hasVideo = stream.getVideoTracks().length > 0;
      preview.hidden = !hasVideo;
      stopMeter = levelMeter(stream, (level) => (meter.value = level));
      const devices = await listDevices();
      fillPickers(devices, stream);
      clear(
        modeNote,
        hasVideo ? null : notice("info", prepared.choice.camera ? (devices.cameras.length ? T("audioOnly") : T("noCameraFound")) : T("audioOnly")),
      );
      if (!hasVideo) camSel.value = "";
      clear(status);
      joinBtn.disabled = false;
    } catch (e) {
      const text = e instanceof MediaProblem ? e.message : new MediaProblem("other").message;
      clear(status, notice("error", text, T("problem")), button(T("retry"), () => void start(), "secondary", { id: "retry-media" }));
      joinBtn.disabled = true;
    }
  };

  micSel.addEventListener("change", () => {
    prepared.choice.audioId = micSel.value || undefined;
    void start();
  });
  camSel.addEventListener("change", () => {
    prepared.choice.camera = camSel.value !== "";
    prepared.choice.videoId = camSel.value || undefined;
    void start();
  });
  outSel.addEventListener("change", () => (prepared.choice.outputId = outSel.value || undefined));
  const onDeviceChange = () => {
    if (prepared.stream) void listDevices().then((d) => prepared.stream && fillPickers(d, prepared.stream));
  };
  navigator.mediaDevices?.addEventListener("devicechange", onDeviceChange);

  clear(root, title(T("heading"), opts.caption), h("p", { class: "lead" }, T("lead")), status, form);
  joinBtn.disabled = true;
  void start();
  return () => {
    disposed = true;
    stopMeter?.();
    navigator.mediaDevices?.removeEventListener("devicechange", onDeviceChange);
  };
}
