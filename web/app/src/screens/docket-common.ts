// What the court's screens (docket, scheduling, managing a hearing, case records) share: the
// local day's bounds, the staff and case lists for pickers, a hearing's row on the docket, and
// the actions a caller's role may take (hearing-core's `role_may`: judges and clerks run the
// docket; only the presiding judge presides).
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { api, myRole, session } from "../api";
import { HearingState, Presence, Role, type Case, type Hearing, type User } from "../gen/court/v1/common_pb";
import { h, tag } from "../dom";
import { stateName, strings, when } from "../i18n";

const T = strings(
  {
    manage: "Manage",
    preside: "Preside",
    desk: "Court's desk",
    nobody: "Nobody",
    actionsFor: "{action}: {title}",
  },
  {
    manage: "管理",
    preside: "主持庭审",
    desk: "法庭控制台",
    nobody: "无",
    actionsFor: "{action}：{title}",
  },
);

/** Midnight (local time) of the day `d` falls on, and `days` days later. */
export function localDay(d: Date, days = 0): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + days);
}

export const ts = (d: Date): Timestamp => timestampFromDate(d);
export const date = (t: Timestamp | undefined): Date | undefined => (t ? timestampDate(t) : undefined);

/** The hearing's time, as a docket shows it: the time only when the day is given by a heading. */
export function hearingTime(hr: Hearing, withDate: boolean): string {
  const opts: Intl.DateTimeFormatOptions = withDate ? { dateStyle: "medium", timeStyle: "short" } : { timeStyle: "short" };
  return `${when(date(hr.startsAt), opts)}–${when(date(hr.endsAt), { timeStyle: "short" })}`;
}

export function stateTag(s: HearingState): HTMLElement {
  const tone = ({
    [HearingState.SCHEDULED]: "grey",
    [HearingState.OPEN]: "blue",
    [HearingState.ON_RECORD]: "red",
    [HearingState.OFF_RECORD]: "yellow",
    [HearingState.ADJOURNED]: "green",
    [HearingState.CANCELLED]: "purple",
  } as const)[s as Exclude<HearingState, HearingState.UNSPECIFIED>] ?? "grey";
  return tag(stateName(s), tone);
}

/** Whether the caller is the judge presiding over `hr` (the one who may preside from the room). */
export const presidesOver = (hr: Hearing) => myRole() === Role.JUDGE && session?.user?.id === hr.presidingJudgeId;

export const isOver = (s: HearingState) => s === HearingState.ADJOURNED || s === HearingState.CANCELLED;

/** The links a court member gets for a hearing: manage it, the court's desk, and (for its
 *  presiding judge only) preside from the room. */
export function hearingActions(hr: Hearing, withManage = true): HTMLElement {
  const link = (href: string, text: string, cls: string) =>
    h("a", { href, class: `action ${cls}`, "aria-label": T("actionsFor", { action: text, title: hr.title }) }, text);
  return h(
    "span",
    { class: "actions" },
    withManage ? link(`#/manage/${hr.id}`, T("manage"), "manage-link") : null,
    !isOver(hr.state) ? link(`#/court/${hr.id}`, T("desk"), "desk-link") : null,
    presidesOver(hr) && !isOver(hr.state) ? link(`#/hearing/${hr.id}`, T("preside"), "preside-link") : null,
  );
}

/** Who is in the waiting room, by name. */
export function waitingNames(hr: Hearing): string {
  const names = hr.participants.filter((p) => p.presence === Presence.WAITING).map((p) => p.displayName);
  return names.length ? names.join(", ") : T("nobody");
}

/** The judges (for filters and a clerk's pick of the presiding judge). */
export async function judges(): Promise<User[]> {
  const res = await api.auth.listStaff({ role: Role.JUDGE });
  return res.staff.filter((s) => s.enabled && s.user).map((s) => s.user!);
}

/** Cases the caller may read, newest first (a picker's options). */
export async function caseOptions(query = ""): Promise<Case[]> {
  return (await api.cases.listCases({ query, pageSize: 100 })).cases;
}

/** A `<select>` with a first "any"/"choose" option and one option per item. */
export function select(name: string, first: string, items: { value: string; text: string }[], value = ""): HTMLSelectElement {
  const s = h("select", { name }, h("option", { value: "" }, first), items.map((i) => h("option", { value: i.value }, i.text)));
  s.value = value;
  return s;
}
