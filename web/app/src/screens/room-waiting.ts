// The waiting room: who the court is, the case and hearing, the time, the hearing's state, and the
// court's messages (newest first, announced politely) until the court lets the person in.
import { button, clear, empty, h, tag, title } from "../dom";
import type { HearingLive } from "../hearing-live";
import { stateName, strings, when } from "../i18n";

const T = strings(
  {
    heading: "Please wait: the court will let you in",
    lead: "You are in the waiting room. Keep this page open; the hearing appears here when the court admits you.",
    court: "Presiding judge",
    caseNo: "Case",
    hearing: "Hearing",
    time: "Scheduled for",
    state: "State",
    messages: "Messages from the court",
    noMessages: "No messages from the court yet.",
    leave: "Leave the waiting room",
  },
  {
    heading: "请稍候：法庭将准许您进入",
    lead: "您在候庭室中。请保持本页面打开；法庭准许后，庭审画面将在此显示。",
    court: "审判长",
    caseNo: "案件",
    hearing: "庭审",
    time: "预定时间",
    state: "状态",
    messages: "法庭消息",
    noMessages: "法庭暂无消息。",
    leave: "离开候庭室",
  },
);

export interface WaitingView {
  el: HTMLElement;
  update(): void;
}

export function waitingView(live: HearingLive, mediaStatus: HTMLElement, onLeave: () => void): WaitingView {
  const details = h("dl", { class: "summary", id: "waiting-details" });
  const list = h("ul", { class: "messages", id: "court-messages" });
  const noMessages = empty(T("noMessages"));
  const el = h(
    "div",
    { class: "waiting" },
    title(T("heading")),
    h("p", { class: "lead" }, T("lead")),
    mediaStatus,
    details,
    h(
      "section",
      { class: "section", "aria-labelledby": "messages-h" },
      h("h2", { id: "messages-h" }, T("messages")),
      h("div", { "aria-live": "polite", "aria-relevant": "additions", id: "messages-live" }, noMessages, list),
    ),
    button(T("leave"), onLeave, "secondary", { id: "leave-btn" }),
  );
  const update = () => {
    const hg = live.hearing;
    if (hg) {
      const row = (k: string, v: Node | string, id?: string) => [h("dt", {}, k), h("dd", { id }, v)];
      clear(
        details,
        row(T("court"), hg.presidingJudgeName, "court-name"),
        row(T("caseNo"), hg.caseNumber),
        row(T("hearing"), hg.title, "hearing-title"),
        row(T("time"), when(hg.startsAt ? new Date(Number(hg.startsAt.seconds) * 1000) : undefined)),
        row(T("state"), tag(stateName(hg.state), "blue"), "hearing-state"),
      );
    }
    const messages = live.events.filter((e) => e.payload.case === "waitingRoomMessage");
    noMessages.hidden = messages.length > 0;
    // Newest first; only new ones are added, so the live region announces each once.
    for (const ev of messages.slice(list.children.length)) {
      if (ev.payload.case !== "waitingRoomMessage") continue;
      const at = ev.at ? new Date(Number(ev.at.seconds) * 1000) : undefined;
      list.prepend(h("li", {}, h("time", {}, when(at, { timeStyle: "short" })), " ", ev.payload.value.text));
    }
  };
  update();
  return { el, update };
}
