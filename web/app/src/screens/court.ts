// `#/court/ID`: the court's desk — the hearing's case and title, and the court's panel (with the
// hearing's state) full width, without joining the media: a clerk runs the hearing's
// administration from here; the judge normally presides from the room.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { api, attempt, isCourt, isStaff, refusal } from "../api";
import { clear, h, loading, notice, title } from "../dom";
import { strings, when } from "../i18n";
import { HearingLive } from "../hearing-live";
import { mountCourtPanel } from "./presiding";

const T = strings(
  {
    loading: "Loading the hearing…",
    heading: "Court desk",
    signIn: "Sign in as a judge or clerk to run a hearing.",
    start: "Go to the start",
    notCourt: "Only judges and clerks can use the court desk.",
    problem: "The hearing could not be opened",
    room: "Go to the hearing room",
    docket: "Back to the docket",
    reconnecting: "Reconnecting to the hearing’s log…",
  },
  {
    loading: "正在加载庭审…",
    heading: "法庭工作台",
    signIn: "请以法官或书记员身份登录后主持庭审。",
    start: "返回首页",
    notCourt: "只有法官和书记员可以使用法庭工作台。",
    problem: "无法打开该庭审",
    room: "进入庭审室",
    docket: "返回庭审日程",
    reconnecting: "正在重新连接庭审日志…",
  },
);

let live: HearingLive | null = null;
let stopPanel: (() => void) | null = null;

export async function render(root: HTMLElement, params: Record<string, string>): Promise<void> {
  const hearingId = params.hearingId;
  if (!isStaff() || !isCourt()) {
    clear(root, title(T("heading")), notice("info", isStaff() ? T("notCourt") : T("signIn")), h("a", { href: "#/" }, T("start")));
    return;
  }
  clear(root, title(T("heading")), loading(T("loading")));
  const mine = new HearingLive(hearingId);
  live = mine;
  try {
    await mine.start();
  } catch (e) {
    if (live !== mine) return;
    clear(root, title(T("heading")), notice("error", refusal(e).text, T("problem")), h("a", { href: "#/docket" }, T("docket")));
    return;
  }
  if (live !== mine || !mine.hearing) return;
  const hearing = mine.hearing;
  let caseNumber = hearing.caseNumber;
  if (!caseNumber) caseNumber = (await attempt(() => api.cases.getCase({ id: hearing.caseId }), () => undefined))?.caseNumber ?? "";
  if (live !== mine) return;

  const link = h("p", { id: "desk-link" });
  const status = h("div", { "aria-live": "polite" });
  const panel = h("div", { id: "court-panel" });
  const starts = hearing.startsAt ? when(timestampDate(hearing.startsAt)) : "";
  clear(
    root,
    title(hearing.title, caseNumber),
    h("p", { class: "hint" }, starts),
    status,
    link,
    panel,
  );
  const drawHead = () => {
    const hg = mine.hearing;
    if (!hg) return;
    clear(status, mine.connected || mine.events.length === 0 ? null : h("p", { class: "hint" }, T("reconnecting")));
    clear(link, h("a", { href: `#/hearing/${encodeURIComponent(hg.id)}` }, T("room")), " · ", h("a", { href: "#/docket" }, T("docket")));
  };
  drawHead();
  mine.subscribe(() => drawHead());
  stopPanel = mountCourtPanel(panel, mine);
}

export function dispose(): void {
  stopPanel?.();
  stopPanel = null;
  live?.stop();
  live = null;
}
