// The docket (`#/docket`), for judges and clerks: today's hearings first, then the coming days
// and the past ones, each a page at a time (ListHearings with the local day's bounds), filtered
// by judge and by case. `#/docket/schedule` and `#/docket/new-case` are its forms.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { api, isCourt, isStaff, refusal } from "../api";
import type { ListHearingsRequestSchema } from "../gen/court/v1/hearing_pb";
import type { Hearing } from "../gen/court/v1/common_pb";
import { button, clear, empty, field, h, loading, notice, title } from "../dom";
import { strings } from "../i18n";
import { go } from "../nav";
import { caseOptions, date, hearingActions, hearingTime, judges, localDay, select, stateTag, ts, waitingNames } from "./docket-common";
import * as forms from "./docket-forms";

const T = strings(
  {
    heading: "Docket",
    caption: "Hearings",
    schedule: "Schedule a hearing",
    newCase: "New case",
    cases: "Case records",
    search: "Search transcripts",
    filters: "Filter the docket",
    judge: "Judge",
    anyJudge: "Any judge",
    case: "Case",
    anyCase: "Any case",
    findCase: "Find a case",
    findCaseHint: "Case number or title: narrows the list of cases",
    apply: "Apply filters",
    today: "Today",
    upcoming: "Coming days",
    past: "Past hearings",
    noneToday: "No hearings today.",
    noneUpcoming: "No hearings in the coming days.",
    nonePast: "No past hearings.",
    more: "Show more hearings",
    loading: "Loading hearings…",
    time: "Time",
    caseNumber: "Case number",
    hearing: "Hearing",
    state: "State",
    waiting: "Waiting",
    actions: "Actions",
    notCourt: "The docket is for judges and clerks.",
    cannotLoad: "The docket could not be loaded",
  },
  {
    heading: "庭审日程",
    caption: "庭审",
    schedule: "安排庭审",
    newCase: "新建案件",
    cases: "案件记录",
    search: "搜索笔录",
    filters: "筛选日程",
    judge: "法官",
    anyJudge: "全部法官",
    case: "案件",
    anyCase: "全部案件",
    findCase: "查找案件",
    findCaseHint: "案号或案件名称：缩小案件列表",
    apply: "筛选",
    today: "今天",
    upcoming: "今后几天",
    past: "以往庭审",
    noneToday: "今天没有庭审。",
    noneUpcoming: "今后几天没有庭审。",
    nonePast: "没有以往的庭审。",
    more: "显示更多庭审",
    loading: "正在加载庭审…",
    time: "时间",
    caseNumber: "案号",
    hearing: "庭审",
    state: "状态",
    waiting: "候庭人员",
    actions: "操作",
    notCourt: "庭审日程仅供法官和书记员使用。",
    cannotLoad: "无法加载庭审日程",
  },
);

type Query = MessageInitShape<typeof ListHearingsRequestSchema>;

/** The filters stay while the tab does (moving to a hearing and back keeps them). */
const filters = { judgeId: "", caseId: "" };
const PAGE = 10;

export async function render(root: HTMLElement, params: Record<string, string>): Promise<void> {
  if (!isStaff()) return go("/");
  if (!isCourt()) {
    clear(root, title(T("heading")), notice("error", T("notCourt")));
    return;
  }
  if (params.view === "schedule") return forms.schedule(root);
  if (params.view === "new-case") return forms.newCase(root);

  const body = h("div", { id: "docket-body" });
  const filterForm = h("form", { class: "panel docket-filters", "aria-labelledby": "filters-h" }, h("h2", { id: "filters-h", class: "visually-hidden" }, T("filters")));
  clear(
    root,
    title(T("heading"), T("caption")),
    h(
      "div",
      { class: "button-group" },
      h("a", { href: "#/docket/schedule", class: "button button-primary", id: "schedule-link" }, T("schedule")),
      h("a", { href: "#/docket/new-case", class: "button button-secondary", id: "new-case-link" }, T("newCase")),
      h("a", { href: "#/cases", class: "action" }, T("cases")),
      h("a", { href: "#/search", class: "action" }, T("search")),
    ),
    filterForm,
    body,
  );
  const draw = () => drawSections(body);
  void fillFilters(filterForm, draw);
  await draw();
}

async function fillFilters(form: HTMLFormElement, redraw: () => Promise<void>): Promise<void> {
  const [js, cs] = await Promise.all([judges().catch(() => []), caseOptions().catch(() => [])]);
  const judge = field(T("judge"), select("judge", T("anyJudge"), js.map((u) => ({ value: u.id, text: u.displayName })), filters.judgeId));
  const options = (list: typeof cs) => list.map((c) => ({ value: c.id, text: `${c.caseNumber} ${c.title}` }));
  const kase = field(T("case"), select("case", T("anyCase"), options(cs), filters.caseId));
  // Narrowing the case list by number or title (ListCases' query), as the court types.
  const find = field(T("findCase"), h("input", { name: "case_query", type: "search", autocomplete: "off" }), T("findCaseHint"));
  let typed = 0;
  find.control.addEventListener("input", () => {
    const mine = ++typed;
    setTimeout(async () => {
      if (mine !== typed) return;
      const found = await caseOptions(find.control.value.trim()).catch(() => null);
      if (!found || mine !== typed) return;
      const keep = kase.control.value;
      kase.control.replaceChildren(...select("case", T("anyCase"), options(found)).children);
      kase.control.value = found.some((c) => c.id === keep) ? keep : "";
    }, 250);
  });
  form.append(h("div", { class: "inline-fields" }, judge.el, find.el, kase.el), h("button", { type: "submit", class: "button button-secondary" }, T("apply")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    filters.judgeId = judge.control.value;
    filters.caseId = kase.control.value;
    void redraw();
  });
}

async function drawSections(body: HTMLElement): Promise<void> {
  const start = localDay(new Date());
  const end = localDay(start, 1);
  const base: Query = { judgeId: filters.judgeId, caseId: filters.caseId, pageSize: PAGE };
  clear(
    body,
    section("today", T("today"), T("noneToday"), { ...base, pageSize: 50, startsAfter: ts(start), startsBefore: ts(end) }, false),
    section("upcoming", T("upcoming"), T("noneUpcoming"), { ...base, startsAfter: ts(end) }, true),
    section("past", T("past"), T("nonePast"), { ...base, startsBefore: ts(start), newestFirst: true }, true),
  );
}

/** One part of the docket: a heading, a table that grows a page at a time, and its states. */
function section(id: string, heading: string, none: string, query: Query, withDate: boolean): HTMLElement {
  const status = loading(T("loading"));
  const rows = h("tbody");
  const table = h(
    "table",
    { class: "docket-table", "aria-labelledby": `${id}-h` },
    h("thead", {}, h("tr", {}, [T("time"), T("caseNumber"), T("hearing"), T("judge"), T("state"), T("waiting"), T("actions")].map((c) => h("th", { scope: "col" }, c)))),
    rows,
  );
  table.hidden = true;
  const more = h("div");
  const el = h("section", { class: "section", id: `docket-${id}`, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h` }, heading), status, table, more);

  const load = async (pageToken: string) => {
    try {
      const res = await api.hearings.listHearings({ ...query, pageToken });
      status.remove();
      const added = res.hearings.map((hr) => row(hr, withDate));
      rows.append(...added);
      // After "Show more", the keyboard goes on from the first hearing it brought, not from the
      // button that is about to go.
      if (pageToken) added[0]?.querySelector<HTMLElement>("a, button")?.focus();
      table.hidden = rows.childElementCount === 0;
      if (rows.childElementCount === 0) el.append(empty(none));
      clear(more, res.nextPageToken ? button(T("more"), (e) => { (e.currentTarget as HTMLButtonElement).disabled = true; void load(res.nextPageToken); }, "secondary", { class: "button button-secondary more", "aria-describedby": `${id}-h` }) : null);
    } catch (e) {
      status.remove();
      clear(more, notice("error", refusal(e).text, T("cannotLoad")));
    }
  };
  void load("");
  return el;
}

function row(hr: Hearing, withDate: boolean): HTMLTableRowElement {
  const cell = (label: string, ...content: (Node | string)[]) => h("td", { "data-label": label }, ...content);
  return h(
    "tr",
    { "data-hearing": hr.id, "data-starts": date(hr.startsAt)?.toISOString() ?? "" },
    cell(T("time"), hearingTime(hr, withDate)),
    cell(T("caseNumber"), h("a", { href: `#/case/${hr.caseId}` }, hr.caseNumber)),
    cell(T("hearing"), hr.title),
    cell(T("judge"), hr.presidingJudgeName),
    cell(T("state"), stateTag(hr.state)),
    cell(T("waiting"), h("span", { class: "waiting" }, waitingNames(hr))),
    cell(T("actions"), hearingActions(hr)),
  );
}
