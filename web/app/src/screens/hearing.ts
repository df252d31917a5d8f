// The hearing room: the courtroom view large, the person's own view and controls (mute, camera,
// leave), whether the hearing is on the record, who is there, and live captions; for judges and
// clerks, the court's panel beside it. `#/hearing/ID` is the staff's way in (the same pre-flight
// as everyone, then the room); participants arrive here from their invitation (join.ts).
import { api, isCourt, isStaff, refusal } from "../api";
import { button, clear, empty, h, notice, tag, title } from "../dom";
import { HearingState, Presence, type Participant } from "../gen/court/v1/common_pb";
import type { HearingLive } from "../hearing-live";
import { presenceName, roleName, stateName, strings } from "../i18n";
import { addCamera, listDevices, prepared, useOutput, type MediaLink } from "../media";
import { go } from "../nav";
import { mountCourtPanel } from "./presiding";
import { enterHearing, leaveScreen } from "./room-flow";

const T = strings(
  {
    courtroom: "The courtroom",
    selfView: "You",
    controls: "Your controls",
    mute: "Mute my microphone",
    unmute: "Unmute my microphone",
    mutedByCourt: "The court has muted your microphone.",
    mutedSelf: "Your microphone is muted.",
    cameraOff: "Turn camera off",
    cameraOn: "Turn camera on",
    audioOnly: "Audio only",
    leave: "Leave the hearing",
    onRecord: "Everything said is recorded.",
    offRecord: "Nothing is being recorded.",
    people: "People in the hearing",
    muted: "Muted",
    you: "(you)",
    captions: "Live captions",
    noCaptions: "Captions appear here while the hearing is on the record.",
    court: "The court",
    ended: "The hearing has ended.",
  },
  {
    courtroom: "法庭画面",
    selfView: "您自己",
    controls: "您的控制",
    mute: "关闭我的麦克风",
    unmute: "打开我的麦克风",
    mutedByCourt: "法庭已关闭您的麦克风。",
    mutedSelf: "您的麦克风已关闭。",
    cameraOff: "关闭摄像头",
    cameraOn: "打开摄像头",
    audioOnly: "仅语音",
    leave: "离开庭审",
    onRecord: "所有发言都会被录制。",
    offRecord: "当前不录制任何内容。",
    people: "在庭人员",
    muted: "已静音",
    you: "（您）",
    captions: "实时字幕",
    noCaptions: "庭审记录期间，字幕将显示在此处。",
    court: "法庭",
    ended: "庭审已结束。",
  },
);

export function render(root: HTMLElement, params: Record<string, string>): void {
  if (!isStaff()) {
    go("/");
    return;
  }
  enterHearing(root, { hearingId: params.hearingId, hash: location.hash });
}

export function dispose(): void {
  leaveScreen();
}

export interface RoomView {
  el: HTMLElement;
  update(): void;
  stop(): void;
}

/** The room for `me` in `live`, over `link`; `onLeave` leaves the hearing. */
export function roomView(live: HearingLive, link: MediaLink, me: Participant, mediaStatus: HTMLElement, onLeave: () => void): RoomView {
  const stage = h("video", { id: "courtroom", autoplay: true, playsinline: true, "aria-label": T("courtroom") });
  stage.srcObject = link.remote;
  useOutput(stage, undefined);
  const self = h("video", { class: "self-view", id: "self-view", autoplay: true, playsinline: true, "aria-label": T("selfView") });
  self.muted = true;
  self.srcObject = link.local;
  const hasVideo = () => link.local.getVideoTracks().length > 0;
  self.hidden = !hasVideo();

  const record = h("div", { id: "record-state", role: "status" });
  const muteNote = h("p", { id: "mute-note", role: "status" });
  const controlError = h("div");
  const muteBtn = button(T("mute"), () => void toggleMute(), "secondary", { id: "mute-btn", "aria-pressed": "false" });
  const camBtn = button(hasVideo() ? T("cameraOff") : T("cameraOn"), () => void toggleCamera(), "secondary", { id: "camera-btn", "aria-pressed": String(!hasVideo()) });
  camBtn.hidden = !hasVideo();
  const audioOnly = hasVideo() ? null : tag(T("audioOnly"), "grey");
  // Joined by microphone only: the camera can still be turned on when there is one.
  if (!hasVideo()) void listDevices().then((d) => (camBtn.hidden = d.cameras.length === 0)).catch(() => undefined);
  const leaveBtn = button(T("leave"), onLeave, "warning", { id: "leave-btn" });
  const roster = h("ul", { class: "roster", id: "roster" });
  const captions = h("ol", { class: "captions", id: "captions" });
  const noCaptions = empty(T("noCaptions"));
  const ended = h("div");
  const panel = h("aside", { class: "court-panel", "aria-label": T("court"), id: "court-panel" });
  const stopPanel = isCourt() ? mountCourtPanel(panel, live) : null;

  const mine = (): Participant | undefined => live.hearing?.participants.find((p) => p.id === me.id);
  const muted = () => mine()?.muted ?? me.muted;

  async function toggleMute(): Promise<void> {
    const want = !muted();
    // Cut the microphone here at once; the server cuts the track from the record too.
    if (want) link.local.getAudioTracks().forEach((t) => (t.enabled = false));
    try {
      await api.hearings.muteParticipant({ hearingId: live.hearingId, participantId: me.id, muted: want });
      clear(controlError);
      await live.refetch();
    } catch (e) {
      clear(controlError, notice("error", refusal(e).text));
      update();
    }
  }

  async function toggleCamera(): Promise<void> {
    if (!hasVideo()) {
      try {
        await addCamera(link.local, prepared.choice.videoId);
      } catch (e) {
        clear(controlError, notice("error", e instanceof Error ? e.message : String(e)));
        return;
      }
      clear(controlError);
      self.srcObject = link.local;
      self.hidden = false;
      audioOnly?.remove();
      link.takeOver();
    }
    // aria-pressed: the camera is off.
    const on = camBtn.getAttribute("aria-pressed") === "false";
    link.local.getVideoTracks().forEach((t) => (t.enabled = !on));
    camBtn.textContent = on ? T("cameraOn") : T("cameraOff");
    camBtn.setAttribute("aria-pressed", String(on));
  }

  const el = h(
    "div",
    { class: "room-screen" },
    title(live.hearing?.title ?? "", live.hearing?.caseNumber),
    record,
    ended,
    mediaStatus,
    h(
      "div",
      { class: "room" },
      h(
        "div",
        { class: "room-main" },
        h("div", { class: "stage" }, stage),
        h(
          "section",
          { class: "room-controls", "aria-labelledby": "controls-h" },
          h("h2", { id: "controls-h", class: "visually-hidden" }, T("controls")),
          h("div", { class: "self" }, self, audioOnly),
          muteNote,
          controlError,
          h("div", { class: "button-group" }, muteBtn, camBtn, leaveBtn),
        ),
        h(
          "section",
          { class: "section", "aria-labelledby": "captions-h" },
          h("h2", { id: "captions-h" }, T("captions")),
          h("div", { "aria-live": "polite", "aria-relevant": "additions", id: "captions-live" }, noCaptions, captions),
        ),
      ),
      h(
        "div",
        { class: "room-side" },
        h("section", { class: "section", "aria-labelledby": "people-h" }, h("h2", { id: "people-h" }, T("people")), roster),
        isCourt() ? panel : null,
      ),
    ),
  );

  let shownCaptions = 0;
  function update(): void {
    const hg = live.hearing;
    if (!hg) return;
    const on = hg.state === HearingState.ON_RECORD;
    clear(
      record,
      on
        ? h("p", { class: "record record-on" }, tag(stateName(hg.state), "red"), " ", T("onRecord"))
        : h("p", { class: "record record-off" }, tag(stateName(hg.state), "grey"), " ", hg.state === HearingState.OFF_RECORD ? T("offRecord") : ""),
    );
    const over = hg.state === HearingState.ADJOURNED || hg.state === HearingState.CANCELLED;
    clear(ended, over ? notice("info", T("ended")) : null);

    const isMuted = muted();
    // The server's word is what counts: muted by anyone, the microphone is off here too.
    link.local.getAudioTracks().forEach((t) => (t.enabled = !isMuted));
    muteBtn.textContent = isMuted ? T("unmute") : T("mute");
    muteBtn.setAttribute("aria-pressed", String(isMuted));
    const lastMute = [...live.events].reverse().find((e) => e.payload.case === "muted" && e.payload.value.participantId === me.id);
    muteNote.textContent = !isMuted ? "" : lastMute && lastMute.actor?.participantId !== me.id ? T("mutedByCourt") : T("mutedSelf");

    clear(
      roster,
      hg.participants
        .filter((x) => x.presence !== Presence.INVITED)
        .map((x) =>
          h(
            "li",
            { "data-participant": x.id },
            h("strong", {}, x.displayName),
            " ",
            x.id === me.id ? T("you") : null,
            " · ",
            roleName(x.role),
            " ",
            tag(presenceName(x.presence), x.presence === Presence.ADMITTED ? "green" : x.presence === Presence.WAITING ? "yellow" : "grey"),
            x.muted ? [" ", tag(T("muted"), "purple")] : null,
          ),
        ),
    );

    const lines = live.events.filter((e) => e.payload.case === "caption");
    noCaptions.hidden = lines.length > 0;
    for (const ev of lines.slice(shownCaptions)) {
      if (ev.payload.case !== "caption") continue;
      const c = ev.payload.value;
      captions.append(h("li", { "data-participant": c.participantId }, h("strong", {}, `${c.speaker}: `), c.text));
    }
    shownCaptions = lines.length;
    captions.scrollTop = captions.scrollHeight;
  }
  update();
  return {
    el,
    update,
    stop: () => stopPanel?.(),
  };
}
