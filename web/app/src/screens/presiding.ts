// The court's panel while a hearing runs (the presiding judge and clerks): the current problems
// as banners, the hearing's controls, who is waiting (with Admit) and the waiting-room message,
// everyone's presence and connection (MediaService.GetConnections, polled while mounted), and the
// log as a timeline. Each control is shown only to whom the server allows it
// (hearing-core's permission table): the record's state is the presiding judge's alone; admitting,
// standing down, removing, muting, locking and messaging are the judges' and clerks'.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Hearing, Participant } from "../gen/court/v1/common_pb";
import { HearingState, Presence, Role } from "../gen/court/v1/common_pb";
import type { PeerConnection } from "../gen/court/v1/media_pb";
import { api, attempt, myRole, session, type Refusal } from "../api";
import { button, busy, clear, empty, h, notice, showRefusal, tag } from "../dom";
import { presenceName, roleName, stateName, strings } from "../i18n";
import type { HearingLive } from "../hearing-live";
import { connectionWords, currentProblems, qualityName } from "./presiding-health";
import { describe, timelineItem } from "./presiding-timeline";
import { messageForm, reasonForm } from "./presiding-forms";

const T = strings(
  {
    controls: "Hearing",
    locked: "Room locked",
    open: "Open the waiting room",
    onRecord: "Go on the record",
    offRecord: "Go off the record…",
    offReason: "Why the hearing goes off the record",
    offConfirm: "Go off the record",
    adjourn: "Adjourn…",
    adjournReason: "Why the hearing is adjourned",
    adjournConfirm: "Adjourn the hearing",
    adjournWarn: "Adjourning ends the hearing for everyone. It cannot be undone.",
    lock: "Lock the room",
    unlock: "Unlock the room",
    lockHint: "While the room is locked, nobody new can join: people already admitted may reconnect.",
    waiting: "Waiting to be admitted",
    waitingCount: "Waiting to be admitted ({n})",
    nobodyWaiting: "Nobody is waiting.",
    admit: "Admit",
    present: "Participants",
    nobody: "Nobody has joined yet.",
    muted: "Muted",
    mute: "Mute",
    unmute: "Unmute",
    standDown: "Stand down…",
    standDownReason: "Why they stand down (optional)",
    standDownConfirm: "Stand down",
    remove: "Remove…",
    removeReason: "Why they are removed",
    removeConfirm: "Remove from the hearing",
    removeWarn: "Removal is final: their invitation stops working.",
    noMedia: "No media",
    connections: "Connection",
    connectionsUnavailable: "This server does not report connection quality.",
    connectionsFailed: "Could not get connection quality just now; trying again.",
    timeline: "Hearing log",
    showAll: "Show every entry (recording files, captions)",
    noEvents: "Nothing has happened yet.",
    problem: "There is a problem",
    dismiss: "Dismiss",
    presiding: "Presiding",
    you: "you",
    readOnly: "Only the presiding judge and the court's clerks can run this hearing.",
  },
  {
    controls: "庭审",
    locked: "法庭已锁定",
    open: "开放候庭室",
    onRecord: "开始记录",
    offRecord: "暂停记录…",
    offReason: "暂停记录的理由",
    offConfirm: "暂停记录",
    adjourn: "闭庭…",
    adjournReason: "闭庭理由",
    adjournConfirm: "宣布闭庭",
    adjournWarn: "闭庭后所有人的庭审即告结束，且不可撤销。",
    lock: "锁定法庭",
    unlock: "解除锁定",
    lockHint: "锁定期间，新的参与人无法进入；已获准入庭的人可以重新连接。",
    waiting: "等待入庭",
    waitingCount: "等待入庭（{n} 人）",
    nobodyWaiting: "目前无人等待。",
    admit: "准许入庭",
    present: "参与人",
    nobody: "尚无人加入。",
    muted: "已静音",
    mute: "静音",
    unmute: "取消静音",
    standDown: "退庭…",
    standDownReason: "退庭理由（可选）",
    standDownConfirm: "退庭",
    remove: "移出…",
    removeReason: "移出理由",
    removeConfirm: "移出庭审",
    removeWarn: "移出后不可恢复：其邀请链接将失效。",
    noMedia: "无音视频",
    connections: "连接",
    connectionsUnavailable: "此服务器不提供连接质量信息。",
    connectionsFailed: "暂时无法获取连接质量，正在重试。",
    timeline: "庭审日志",
    showAll: "显示全部记录（录制文件、字幕）",
    noEvents: "尚无记录。",
    problem: "出现问题",
    dismiss: "关闭提示",
    presiding: "审判长",
    you: "您",
    readOnly: "只有审判长和本院书记员可以主持本次庭审。",
  },
);

/** How often the connections are asked for while the panel is mounted. */
const POLL_MS = 3000;

const LIVE = new Set([HearingState.OPEN, HearingState.ON_RECORD, HearingState.OFF_RECORD]);

/** What the caller may do in this hearing, as the server's permission table says. */
function powers(hearing: Hearing) {
  const me = session?.user;
  const presiding = !!me && me.role === Role.JUDGE && me.id === hearing.presidingJudgeId;
  const court = presiding || myRole() === Role.CLERK;
  return { presiding, court, myUserId: me?.id ?? "" };
}

/** A button whose accessible name says whom it acts on ("Admit" + hidden " Ann Lee"). */
function actionButton(text: string, who: string, onclick: () => void, kind: "primary" | "secondary" | "warning" = "secondary"): HTMLButtonElement {
  const b = button(text, onclick, kind);
  b.append(h("span", { class: "visually-hidden" }, ` ${who}`));
  return b;
}

/** Draws the court's controls for `live` into `el`; returns what stops it (streams, timers). */
export function mountCourtPanel(el: HTMLElement, live: HearingLive): () => void {
  el.dataset.hearing = live.hearingId;
  el.classList.add("court-panel");
  const banners = h("div", { class: "court-banners" });
  const errors = h("div");
  const controls = h("div", { class: "button-group" });
  const controlForm = h("div");
  const waitingList = h("ul", { class: "roster", id: "court-waiting-list" });
  const waitingHeading = h("h2", { id: "court-waiting-h" }, T("waiting"));
  const rosterList = h("ul", { class: "roster", id: "court-roster" });
  const connectionNote = h("div");
  const timeline = h("ol", { class: "timeline", id: "court-timeline", reversed: true, tabindex: 0, "aria-labelledby": "court-timeline-h" });
  const showAll = h("input", { type: "checkbox", id: "court-timeline-all" });
  const readOnly = h("div");
  const messageSlot = h("div");

  clear(
    el,
    banners,
    readOnly,
    h("section", { class: "section", "aria-labelledby": "court-controls-h" }, h("h2", { id: "court-controls-h" }, T("controls")), h("p", { id: "court-state" }), errors, controls, controlForm),
    h("section", { class: "section panel waiting-room", "aria-labelledby": "court-waiting-h" }, waitingHeading, waitingList, messageSlot),
    h("section", { class: "section", "aria-labelledby": "court-roster-h" }, h("h2", { id: "court-roster-h" }, T("present")), connectionNote, rosterList),
    h(
      "section",
      { class: "section", "aria-labelledby": "court-timeline-h" },
      h("h2", { id: "court-timeline-h" }, T("timeline")),
      h("div", { class: "checkbox" }, showAll, h("label", { for: "court-timeline-all" }, T("showAll"))),
      timeline,
    ),
  );
  const stateLine = el.querySelector<HTMLElement>("#court-state")!;

  // Dismissed banners stay dismissed for this hearing in this tab (a redraw, a language switch).
  const dismissedKey = `oc.court.dismissed.${live.hearingId}`;
  const dismissed = new Set<string>(JSON.parse(sessionStorage.getItem(dismissedKey) ?? "[]") as string[]);
  let bannerKeys = "";
  let controlsKey = "";
  let connections = new Map<string, PeerConnection>();
  /** Whether the last GetConnections answered (else "no media" would be a guess). */
  let connectionsKnown = false;
  const rows = new Map<string, { el: HTMLElement; status: HTMLElement; conn: HTMLElement; actions: HTMLElement; form: HTMLElement; key: string }>();
  let messageShown = false;

  const refuse = (slot: HTMLElement) => (r: Refusal) => showRefusal(slot, T("problem"), r);
  const hid = live.hearingId;

  function drawBanners(): void {
    const problems = currentProblems(live.events, live, dismissed);
    // The text too: a loss that goes on grows its span under the same key.
    const keys = problems.map((p) => `${p.key}=${p.text}`).join("\n");
    if (keys === bannerKeys) return;
    bannerKeys = keys;
    clear(
      banners,
      problems.map((p) => {
        const n = notice(p.kind, p.text, p.heading);
        n.dataset.problem = p.key.split(":")[0];
        if (p.dismissable) n.append(button(T("dismiss"), () => { dismissed.add(p.key); sessionStorage.setItem(dismissedKey, JSON.stringify([...dismissed])); drawBanners(); }, "link"));
        return n;
      }),
    );
  }

  function drawControls(hearing: Hearing): void {
    const { presiding, court } = powers(hearing);
    const s = hearing.state;
    clear(stateLine, tag(stateName(s), s === HearingState.ON_RECORD ? "red" : LIVE.has(s) ? "green" : "grey"), " ", hearing.locked ? tag(T("locked"), "yellow") : null);
    const key = `${s}:${hearing.locked}:${presiding}:${court}`;
    if (key === controlsKey) return;
    controlsKey = key;
    clear(controlForm);
    clear(readOnly, court ? null : notice("info", T("readOnly")));
    const call = (work: () => Promise<unknown>) => () => void busy(controls, async () => { clear(errors); await attempt(work, refuse(errors)); });
    const ask = (label: string, confirm: string, required: boolean, kind: "primary" | "warning", send: (reason: string) => Promise<unknown>, warn?: string) => () =>
      clear(controlForm, reasonForm({ label, confirm, required, kind, warn, send, done: () => clear(controlForm) }));
    clear(
      controls,
      court && s === HearingState.SCHEDULED ? button(T("open"), call(() => api.hearings.openHearing({ hearingId: hid })), "primary", { id: "court-open-hearing" }) : null,
      presiding && (s === HearingState.OPEN || s === HearingState.OFF_RECORD)
        ? button(T("onRecord"), call(() => api.hearings.goOnRecord({ hearingId: hid })), "primary", { id: "court-on-record" })
        : null,
      presiding && s === HearingState.ON_RECORD
        ? button(T("offRecord"), ask(T("offReason"), T("offConfirm"), true, "primary", (reason) => api.hearings.goOffRecord({ hearingId: hid, reason })), "secondary", { id: "court-off-record" })
        : null,
      court && !hearing.locked && s !== HearingState.ADJOURNED && s !== HearingState.CANCELLED
        ? button(T("lock"), call(() => api.hearings.lockHearing({ hearingId: hid, locked: true })), "secondary", { id: "court-lock-room", "aria-describedby": "court-lock-hint" })
        : null,
      court && hearing.locked ? button(T("unlock"), call(() => api.hearings.lockHearing({ hearingId: hid, locked: false })), "secondary", { id: "court-unlock-room" }) : null,
      presiding && LIVE.has(s)
        ? button(T("adjourn"), ask(T("adjournReason"), T("adjournConfirm"), true, "warning", (reason) => api.hearings.adjournHearing({ hearingId: hid, reason }), T("adjournWarn")), "warning", { id: "court-adjourn" })
        : null,
    );
    if (court && s !== HearingState.ADJOURNED && s !== HearingState.CANCELLED) controls.append(h("p", { class: "hint", id: "court-lock-hint" }, T("lockHint")));
  }

  function participantRow(p: Participant, hearing: Hearing) {
    const { court, myUserId } = powers(hearing);
    const isPresiding = p.id === hearing.presidingParticipantId;
    const isMe = !!myUserId && p.userId === myUserId;
    const key = `${p.presence}:${p.muted}:${court}`;
    let row = rows.get(p.id);
    if (!row) {
      const status = h("span", { class: "roster-status" });
      const conn = h("span", { class: "roster-conn" });
      const actions = h("div", { class: "button-group" });
      const form = h("div");
      const name = h("strong", {}, p.displayName);
      const el = h("li", { "data-participant": p.id }, name, " ", h("span", { class: "hint" }, roleName(p.role)), isPresiding ? [" · ", T("presiding")] : null, isMe ? ` (${T("you")})` : null, h("div", {}, status, " ", conn), actions, form);
      row = { el, status, conn, actions, form, key: "" };
      rows.set(p.id, row);
    }
    const r = row;
    clear(r.status, tag(presenceName(p.presence), p.presence === Presence.ADMITTED ? "green" : p.presence === Presence.WAITING ? "yellow" : p.presence === Presence.DISCONNECTED ? "red" : "grey"), p.muted ? [" ", tag(T("muted"), "grey")] : null);
    const c = connections.get(p.id);
    if (c) {
      const w = connectionWords(c);
      clear(r.conn, `${T("connections")}: `, tag(w.state, w.quality === "good" ? "green" : w.quality === "fair" ? "yellow" : w.quality === "poor" ? "red" : "grey"), w.quality ? ` ${qualityName(w.quality)}` : null, w.detail ? ` — ${w.detail}` : null);
    } else clear(r.conn, connectionsKnown && (p.presence === Presence.ADMITTED || p.presence === Presence.WAITING) ? `${T("connections")}: ${T("noMedia")}` : null);
    if (r.key === key) return r.el;
    r.key = key;
    clear(r.form);
    const act = (work: () => Promise<unknown>) => () => void busy(r.actions, async () => { clear(r.form); await attempt(work, refuse(r.form)); });
    const ask = (label: string, confirm: string, required: boolean, kind: "primary" | "warning", send: (reason: string) => Promise<unknown>, warn?: string) => () =>
      clear(r.form, reasonForm({ label, confirm, required, kind, warn, send, done: () => clear(r.form) }));
    const target = { hearingId: hid, participantId: p.id };
    const mayAct = court && !isPresiding && !isMe;
    clear(
      r.actions,
      mayAct && p.presence === Presence.WAITING ? actionButton(T("admit"), p.displayName, act(() => api.hearings.admitParticipant(target)), "primary") : null,
      mayAct && p.presence === Presence.ADMITTED && !(p.muted && p.role === Role.OBSERVER)
        ? actionButton(p.muted ? T("unmute") : T("mute"), p.displayName, act(() => api.hearings.muteParticipant({ ...target, muted: !p.muted })))
        : null,
      mayAct && p.presence === Presence.ADMITTED
        ? actionButton(T("standDown"), p.displayName, ask(T("standDownReason"), T("standDownConfirm"), false, "primary", (reason) => api.hearings.standDownParticipant({ ...target, reason })))
        : null,
      mayAct && p.presence !== Presence.REMOVED
        ? actionButton(T("remove"), p.displayName, ask(T("removeReason"), T("removeConfirm"), true, "warning", (reason) => api.hearings.removeParticipant({ ...target, reason }), T("removeWarn")), "warning")
        : null,
    );
    return r.el;
  }

  function drawPeople(hearing: Hearing): void {
    const waiting = hearing.participants.filter((p) => p.presence === Presence.WAITING);
    const others = hearing.participants.filter((p) => p.presence !== Presence.WAITING);
    waitingHeading.textContent = waiting.length ? T("waitingCount", { n: waiting.length }) : T("waiting");
    clear(waitingList, waiting.length ? waiting.map((p) => participantRow(p, hearing)) : h("li", {}, empty(T("nobodyWaiting"))));
    clear(rosterList, others.length ? others.map((p) => participantRow(p, hearing)) : h("li", {}, empty(T("nobody"))));
    const { court } = powers(hearing);
    const open = court && hearing.state !== HearingState.ADJOURNED && hearing.state !== HearingState.CANCELLED;
    if (open !== messageShown) {
      messageShown = open;
      clear(messageSlot, open ? messageForm((text) => api.hearings.messageWaitingRoom({ hearingId: hid, text })) : null);
    }
  }

  const seen = new Set<bigint>();
  function drawTimeline(): void {
    const all = showAll.checked;
    const items = live.events.filter((ev) => all || !describe(ev, live).quiet);
    seen.clear();
    clear(timeline, items.length ? items.slice(-300).reverse().map((ev) => (seen.add(ev.seq), timelineItem(ev, live))) : h("li", {}, empty(T("noEvents"))));
  }
  showAll.addEventListener("change", drawTimeline);

  function draw(): void {
    const hearing = live.hearing;
    if (!hearing) return;
    drawControls(hearing);
    drawPeople(hearing);
    drawBanners();
  }

  drawTimeline();
  draw();
  const unsubscribe = live.subscribe((_live, ev) => {
    if (ev && !seen.has(ev.seq) && (showAll.checked || !describe(ev, live).quiet)) {
      if (!seen.size) clear(timeline);
      seen.add(ev.seq);
      timeline.prepend(timelineItem(ev, live)!);
    }
    draw();
  });

  // The server's view of every peer, while the panel is up.
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  async function poll(): Promise<void> {
    if (stopped) return;
    try {
      const res = await api.media.getConnections({ hearingId: hid });
      connections = new Map(res.connections.map((c) => [c.participantId, c]));
      connectionsKnown = true;
      clear(connectionNote);
    } catch (e) {
      const err = ConnectError.from(e);
      if (err.code === Code.Unimplemented || err.code === Code.PermissionDenied) {
        clear(connectionNote, h("p", { class: "hint" }, T("connectionsUnavailable")));
        return;
      }
      if (err.code !== Code.FailedPrecondition) clear(connectionNote, h("p", { class: "hint" }, T("connectionsFailed")));
      connections = new Map();
      connectionsKnown = false;
    }
    if (stopped) return;
    if (live.hearing) drawPeople(live.hearing);
    timer = setTimeout(() => void poll(), POLL_MS);
  }
  void poll();

  return () => {
    stopped = true;
    clearTimeout(timer);
    unsubscribe();
  };
}
