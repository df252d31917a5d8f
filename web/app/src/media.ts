// The page's media, in one module: the person's devices (pre-flight: choosing them, a camera
// preview, a microphone level, a test sound) and the peer connection to the hearing's room
// (MediaService: Offer, AddIceCandidate, WatchMedia), which reconnects by itself after a drop
// and stops for good when another tab or device takes over.
import { Code, ConnectError } from "@connectrpc/connect";
import { api } from "./api";
import type { IceCandidate, MediaSignal } from "./gen/court/v1/media_pb";
import { strings } from "./i18n";

const T = strings(
  {
    insecure: "This browser cannot use a camera or microphone on this page. Open the link in an up-to-date browser (Chrome, Edge, Firefox or Safari), with an address that starts with https.",
    denied: "The browser was not allowed to use your microphone. Allow the microphone for this site (the camera symbol in the address bar), then try again.",
    noDevices: "No microphone was found. Connect a microphone or headset, then try again.",
    busy: "Your microphone or camera is being used by another program. Close it (for example another video call), then try again.",
    other: "Your camera and microphone could not be started. Try again, or try another browser.",
  },
  {
    insecure: "此页面无法在本浏览器中使用摄像头或麦克风。请用最新版浏览器（Chrome、Edge、Firefox 或 Safari）打开以 https 开头的链接。",
    denied: "浏览器未获准使用您的麦克风。请在地址栏的摄像头图标中允许本网站使用麦克风，然后重试。",
    noDevices: "未找到麦克风。请连接麦克风或耳机后重试。",
    busy: "您的麦克风或摄像头正被其他程序占用。请关闭该程序（例如其他视频通话）后重试。",
    other: "无法启动摄像头和麦克风。请重试，或换用其他浏览器。",
  },
);

// ---- devices -------------------------------------------------------------------------------------

export type MediaProblemKind = "insecure" | "denied" | "noDevices" | "busy" | "other";

/** Why the page cannot get media, in words. */
export class MediaProblem extends Error {
  constructor(readonly kind: MediaProblemKind) {
    super(T(kind));
  }
}

function problemOf(e: unknown): MediaProblem {
  if (e instanceof MediaProblem) return e;
  const name = e instanceof DOMException ? e.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") return new MediaProblem("denied");
  if (name === "NotFoundError" || name === "OverconstrainedError") return new MediaProblem("noDevices");
  if (name === "NotReadableError" || name === "AbortError") return new MediaProblem("busy");
  return new MediaProblem("other");
}

/** What the person chose in the pre-flight. */
export interface DeviceChoice {
  audioId?: string;
  videoId?: string;
  outputId?: string;
  /** False: audio only by choice. */
  camera: boolean;
}

export interface Devices {
  inputs: MediaDeviceInfo[];
  cameras: MediaDeviceInfo[];
  outputs: MediaDeviceInfo[];
}

export async function listDevices(): Promise<Devices> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    inputs: all.filter((d) => d.kind === "audioinput" && d.deviceId),
    cameras: all.filter((d) => d.kind === "videoinput" && d.deviceId),
    outputs: all.filter((d) => d.kind === "audiooutput" && d.deviceId),
  };
}

/** The person's microphone (and camera, when chosen and present). Without a camera the stream
 *  is audio only; without a microphone, or without permission, a MediaProblem says why. */
export async function openDevices(choice: DeviceChoice): Promise<MediaStream> {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) throw new MediaProblem("insecure");
  // Echo cancellation stays on: without it a participant on loudspeakers sends everyone else's
  // voice back on their own track, and the transcript would put those words under their name.
  // Noise suppression and gain control distort the speech the record and transcript get.
  const audio: MediaTrackConstraints = {
    echoCancellation: true,
    noiseSuppression: false,
    autoGainControl: false,
    ...(choice.audioId ? { deviceId: { exact: choice.audioId } } : {}),
  };
  const video: MediaTrackConstraints = { width: 640, height: 360, ...(choice.videoId ? { deviceId: { exact: choice.videoId } } : {}) };
  if (choice.camera) {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio, video });
    } catch (e) {
      const p = problemOf(e);
      // No camera (or a busy one): the person can still take part by microphone.
      if (p.kind !== "noDevices" && p.kind !== "busy") throw p;
    }
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio });
  } catch (e) {
    throw problemOf(e);
  }
}

/** Adds the camera to `stream` (someone who joined by microphone turns their camera on). */
export async function addCamera(stream: MediaStream, videoId?: string): Promise<void> {
  try {
    const cam = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360, ...(videoId ? { deviceId: { exact: videoId } } : {}) } });
    cam.getVideoTracks().forEach((t) => stream.addTrack(t));
  } catch (e) {
    throw problemOf(e);
  }
}

export function stopStream(stream: MediaStream | null | undefined): void {
  stream?.getTracks().forEach((t) => t.stop());
}

/** Follows `stream`'s loudness (0..1) into `onLevel` until the returned function is called. */
export function levelMeter(stream: MediaStream, onLevel: (level: number) => void): () => void {
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    // RMS of speech is about 0.05–0.3; scaled so normal speech fills most of the bar.
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
    setTimeout(tick, 100);
  };
  void ctx.resume().then(tick);
  return () => {
    stopped = true;
    void ctx.close();
  };
}

/** A short two-tone sound on the chosen speaker (where the browser can choose one). */
export async function testSound(outputId?: string): Promise<void> {
  const ctx = new AudioContext();
  const sinkable = ctx as AudioContext & { setSinkId?: (id: string) => Promise<void> };
  if (outputId && sinkable.setSinkId) await sinkable.setSinkId(outputId).catch(() => undefined);
  const gain = ctx.createGain();
  gain.gain.value = 0.2;
  gain.connect(ctx.destination);
  for (const [freq, at] of [[660, 0], [880, 0.35]] as const) {
    const osc = ctx.createOscillator();
    osc.frequency.value = freq;
    osc.connect(gain);
    osc.start(ctx.currentTime + at);
    osc.stop(ctx.currentTime + at + 0.3);
  }
  await new Promise((r) => setTimeout(r, 800));
  await ctx.close();
}

/** Plays `el`'s audio on the chosen speaker, where the browser can choose one. */
export function useOutput(el: HTMLMediaElement, outputId?: string): void {
  const sinkable = el as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (outputId && sinkable.setSinkId) void sinkable.setSinkId(outputId).catch(() => undefined);
}

/** The devices the person chose in the pre-flight, kept while they wait and take part. */
export const prepared: { stream: MediaStream | null; choice: DeviceChoice } = { stream: null, choice: { camera: true } };

// ---- the connection to the room -------------------------------------------------------------------

/** connecting: the first offer is under way; connected: media flows; reconnecting: after a drop,
 *  trying again by itself; replaced: another tab or device took over (no retry); closed: the
 *  server ended it for good (the hearing ended, the person left or was removed). */
export type LinkState = "connecting" | "connected" | "reconnecting" | "replaced" | "closed";

let iceServers: RTCIceServer[] | null = null;
async function iceConfig(): Promise<RTCIceServer[]> {
  if (!iceServers) {
    const config = (await fetch("/ui/config.json").then((r) => r.json())) as { iceServers?: RTCIceServer[] };
    iceServers = config.iceServers ?? [];
  }
  return iceServers;
}

const FINAL_CODES = new Set([Code.PermissionDenied, Code.Unauthenticated, Code.NotFound, Code.FailedPrecondition, Code.InvalidArgument]);
/** How long a "disconnected" peer may take to come back by itself before a new offer. */
const DISCONNECTED_GRACE_MS = 4000;

export class MediaLink {
  state: LinkState = "connecting";
  /** The courtroom view (the server's composite) and everyone else's voices. */
  readonly remote = new MediaStream();
  /** The server's reason when the link closed for good. */
  reason = "";
  private pc: RTCPeerConnection | null = null;
  private watch: AbortController | null = null;
  private generation = 0;
  private delay = 1000;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private graceTimer: ReturnType<typeof setTimeout> | null = null;
  private listeners = new Set<(link: MediaLink) => void>();

  constructor(readonly hearingId: string, public local: MediaStream) {}

  subscribe(fn: (link: MediaLink) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(state: LinkState): void {
    if (this.state === state) return;
    this.state = state;
    for (const fn of this.listeners) fn(this);
  }

  start(): void {
    // The browser knows first when the network goes (an established stream or UDP path can
    // take long to notice): treat it as a drop, and try again at once when it is back.
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("online", this.onOnline);
    void this.connect();
  }

  private onOffline = () => this.dropped(this.generation);

  private onOnline = () => {
    if (this.state !== "reconnecting") return;
    this.delay = 1000;
    void this.connect();
  };

  /** Connects again now with a new offer: "use this tab here" after another tab took over, or
   *  after the local tracks changed (the camera turned on). */
  takeOver(): void {
    this.delay = 1000;
    this.set("connecting");
    this.start();
  }

  /** Stops everything (leaving, or the screen going away); does not tell the server. */
  stop(): void {
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
    this.generation++;
    this.clearTimers();
    this.teardown();
  }

  get peer(): RTCPeerConnection | null {
    return this.pc;
  }

  private clearTimers(): void {
    if (this.retry) clearTimeout(this.retry);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.retry = this.graceTimer = null;
  }

  private teardown(): void {
    this.watch?.abort();
    this.watch = null;
    if (this.pc) {
      this.pc.onconnectionstatechange = this.pc.onicecandidate = this.pc.ontrack = null;
      this.pc.close();
      this.pc = null;
    }
  }

  /** After a drop: a new offer after the backoff (1, 2, 4, … 15 s). */
  private dropped(gen: number): void {
    if (gen !== this.generation || this.state === "replaced" || this.state === "closed") return;
    this.generation++;
    this.teardown();
    this.set("reconnecting");
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, 15_000);
    this.clearTimers();
    this.retry = setTimeout(() => void this.connect(), wait);
  }

  private final(state: "replaced" | "closed", reason: string): void {
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
    this.generation++;
    this.clearTimers();
    this.teardown();
    this.reason = reason;
    this.set(state);
  }

  private async connect(): Promise<void> {
    this.clearTimers();
    this.teardown();
    const gen = ++this.generation;
    const current = () => gen === this.generation;
    try {
      const servers = await iceConfig();
      if (!current()) return;
      const pc = new RTCPeerConnection({ iceServers: servers });
      this.pc = pc;
      const audio = this.local.getAudioTracks()[0];
      if (audio) pc.addTrack(audio, this.local);
      const video = this.local.getVideoTracks()[0];
      // Without a camera the courtroom view still comes: a receive-only video m-line.
      if (video) pc.addTrack(video, this.local);
      else pc.addTransceiver("video", { direction: "recvonly" });
      pc.ontrack = (e) => {
        for (const t of this.remote.getTracks()) if (t.kind === e.track.kind) this.remote.removeTrack(t);
        this.remote.addTrack(e.track);
        for (const fn of this.listeners) fn(this);
      };
      pc.onconnectionstatechange = () => {
        if (!current()) return;
        const s = pc.connectionState;
        if (s === "connected") {
          this.delay = 1000;
          if (this.graceTimer) clearTimeout(this.graceTimer);
          this.graceTimer = null;
          this.set("connected");
        } else if (s === "failed") {
          this.dropped(gen);
        } else if (s === "disconnected" && !this.graceTimer) {
          this.graceTimer = setTimeout(() => {
            this.graceTimer = null;
            if (current() && pc.connectionState !== "connected") this.dropped(gen);
          }, DISCONNECTED_GRACE_MS);
        }
      };

      // The server's candidates and the end of the connection: held until the answer names
      // this connection's session, then only this session's are used.
      let session: string | null = null;
      const held: MediaSignal[] = [];
      const ours: (RTCIceCandidate | null)[] = [];
      const sendOurs = (c: RTCIceCandidate | null) =>
        api.media
          .addIceCandidate({ hearingId: this.hearingId, mlineIndex: c?.sdpMLineIndex ?? 0, candidate: c?.candidate ?? "" })
          .catch(() => undefined);
      const addRemote = (c: IceCandidate) =>
        pc.addIceCandidate({ candidate: c.candidate, sdpMLineIndex: c.mlineIndex }).catch(() => undefined);
      const onSignal = (s: MediaSignal) => {
        if (session === null) return void held.push(s);
        if (s.sessionId !== session) return;
        if (s.signal.case === "iceCandidate" && s.signal.value.candidate) void addRemote(s.signal.value);
        else if (s.signal.case === "closed") {
          if (s.signal.value.replaced) this.final("replaced", s.signal.value.reason);
          else this.dropped(gen);
        }
      };
      pc.onicecandidate = (e) => {
        if (session === null) ours.push(e.candidate);
        else void sendOurs(e.candidate);
      };
      const watch = new AbortController();
      this.watch = watch;
      void (async () => {
        try {
          for await (const s of api.media.watchMedia({ hearingId: this.hearingId }, { signal: watch.signal })) {
            if (!current()) return;
            onSignal(s);
          }
        } catch {
          // ended below
        }
        if (current() && !watch.signal.aborted) this.dropped(gen);
      })();

      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const answer = await api.media.offer({ hearingId: this.hearingId, sdp: offer.sdp ?? "" });
      if (!current()) return;
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      session = answer.sessionId;
      for (const c of ours.splice(0)) void sendOurs(c);
      for (const s of held.splice(0)) onSignal(s);
    } catch (e) {
      if (!current()) return;
      const err = ConnectError.from(e);
      // Refused for good (left, removed, the hearing over): no point in trying again.
      if (FINAL_CODES.has(err.code)) this.final("closed", err.rawMessage);
      else this.dropped(gen);
    }
  }
}
