// The docket's forms: a new case, and scheduling a hearing. Scheduling checks with the server
// as the court fills the form (ScheduleHearing with validate_only): the judge's conflicts show on
// the time before submitting, with the judge's other hearings that day listed.
import { api, attempt, myRole, session, type Refusal } from "../api";
import { Role, Visibility } from "../gen/court/v1/common_pb";
import { busy, clear, empty, errorSummary, field, h, notice, showRefusal, title, type Field } from "../dom";
import { strings } from "../i18n";
import { go } from "../nav";
import { caseOptions, hearingTime, judges, localDay, select, stateTag, ts } from "./docket-common";

const T = strings(
  {
    back: "Back to the docket",
    problem: "There is a problem",
    newCase: "New case",
    caseNumber: "Case number",
    caseNumberHint: "As the court numbers it, for example (2026)京0105民初12345号",
    caseTitle: "Title",
    caseTitleHint: "For example: Zhang v. Li",
    visibility: "Who may read the case record",
    public: "Public: anyone",
    restricted: "Restricted: the court and the case's participants",
    sealed: "Sealed: judges and clerks only",
    create: "Create the case",
    created: "Case {number} created. Schedule its first hearing.",
    schedule: "Schedule a hearing",
    case: "Case",
    chooseCase: "Choose a case",
    noCases: "There are no cases yet.",
    newCaseFirst: "Create a case first",
    hearingTitle: "Hearing title",
    hearingTitleHint: "For example: First hearing",
    day: "Date",
    starts: "Start time",
    ends: "End time",
    judge: "Presiding judge",
    chooseJudge: "Choose a judge",
    youPreside: "You preside: {name}",
    submit: "Schedule the hearing",
    checking: "Checking the judge's diary…",
    free: "The judge is free at that time.",
    othersThatDay: "The judge's other hearings that day",
    noOthers: "The judge has no other hearings that day.",
    missingCase: "Choose the case",
    missingCaseNumber: "Enter the case number",
    missingTitle: "Enter a title",
    missingDay: "Enter the date",
    missingStarts: "Enter the start time",
    missingEnds: "Enter the end time",
    endsBeforeStarts: "The end time must be after the start time",
    missingJudge: "Choose the presiding judge",
  },
  {
    back: "返回庭审日程",
    problem: "出现问题",
    newCase: "新建案件",
    caseNumber: "案号",
    caseNumberHint: "按法院编号填写，例如 (2026)京0105民初12345号",
    caseTitle: "案件名称",
    caseTitleHint: "例如：张某诉李某",
    visibility: "谁可以查阅案件记录",
    public: "公开：任何人",
    restricted: "限制：法院和本案参与人",
    sealed: "保密：仅法官和书记员",
    create: "创建案件",
    created: "案件 {number} 已创建。请安排第一次庭审。",
    schedule: "安排庭审",
    case: "案件",
    chooseCase: "请选择案件",
    noCases: "还没有案件。",
    newCaseFirst: "请先新建案件",
    hearingTitle: "庭审名称",
    hearingTitleHint: "例如：第一次开庭",
    day: "日期",
    starts: "开始时间",
    ends: "结束时间",
    judge: "主审法官",
    chooseJudge: "请选择法官",
    youPreside: "由您主持：{name}",
    submit: "安排庭审",
    checking: "正在核对法官日程…",
    free: "该法官在此时间没有其他庭审。",
    othersThatDay: "该法官当天的其他庭审",
    noOthers: "该法官当天没有其他庭审。",
    missingCase: "请选择案件",
    missingCaseNumber: "请输入案号",
    missingTitle: "请输入名称",
    missingDay: "请输入日期",
    missingStarts: "请输入开始时间",
    missingEnds: "请输入结束时间",
    endsBeforeStarts: "结束时间必须晚于开始时间",
    missingJudge: "请选择主审法官",
  },
);

/** The case just created, chosen in the schedule form that follows. */
let lastCase = "";
let lastCreated = "";

const back = () => h("p", {}, h("a", { href: "#/docket", class: "back-link" }, T("back")));

/** A problem found in the page before asking the server. */
const mine = (text: string, f: string): Refusal => ({ code: 3, text, field: f, detail: "" });

export function newCase(root: HTMLElement): void {
  const number = field(T("caseNumber"), h("input", { name: "case_number", autocomplete: "off" }), T("caseNumberHint"));
  const name = field(T("caseTitle"), h("input", { name: "title", autocomplete: "off" }), T("caseTitleHint"));
  const vis = field(
    T("visibility"),
    h(
      "select",
      { name: "visibility" },
      ([[Visibility.RESTRICTED, T("restricted")], [Visibility.PUBLIC, T("public")], [Visibility.SEALED, T("sealed")]] as const).map(([v, text]) => h("option", { value: String(v) }, text)),
    ),
  );
  const fields = { case_number: number, title: name, visibility: vis };
  const errors = h("div");
  const form = h("form", { novalidate: true, id: "new-case-form" }, errors, number.el, name.el, vis.el, h("button", { type: "submit", class: "button button-primary" }, T("create")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const caseNumber = number.control.value.trim();
    const caseTitle = name.control.value.trim();
    if (!caseNumber || !caseTitle) {
      showRefusal(errors, T("problem"), !caseNumber ? mine(T("missingCaseNumber"), "case_number") : mine(T("missingTitle"), "title"), fields);
      return;
    }
    void busy(form, async () => {
      const visibility = Number(vis.control.value) as Visibility;
      const c = await attempt(() => api.cases.createCase({ caseNumber, title: caseTitle, visibility }), (r) => showRefusal(errors, T("problem"), r.code === 6 ? { ...r, field: "case_number" } : r, fields));
      if (!c) return;
      lastCase = c.id;
      lastCreated = c.caseNumber;
      go("/docket/schedule");
    });
  });
  clear(root, back(), title(T("newCase")), form);
}

const pad = (n: number) => String(n).padStart(2, "0");
const dayValue = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

export async function schedule(root: HTMLElement): Promise<void> {
  const clerk = myRole() === Role.CLERK;
  const [cs, js] = await Promise.all([caseOptions().catch(() => []), clerk ? judges().catch(() => []) : Promise.resolve([])]);
  const created = lastCreated ? notice("success", T("created", { number: lastCreated })) : null;
  lastCreated = "";
  if (!cs.length) {
    clear(root, back(), title(T("schedule")), empty(T("noCases")), h("a", { href: "#/docket/new-case", class: "button button-primary" }, T("newCaseFirst")));
    return;
  }
  const kase = field(T("case"), select("case_id", T("chooseCase"), cs.map((c) => ({ value: c.id, text: `${c.caseNumber} ${c.title}` })), lastCase));
  const name = field(T("hearingTitle"), h("input", { name: "title", autocomplete: "off" }), T("hearingTitleHint"));
  const day = field(T("day"), h("input", { name: "day", type: "date", value: dayValue(new Date()) }));
  const starts = field(T("starts"), h("input", { name: "starts_at", type: "time", step: 300 }));
  const ends = field(T("ends"), h("input", { name: "ends_at", type: "time", step: 300 }));
  const judge = clerk ? field(T("judge"), select("judge_id", T("chooseJudge"), js.map((u) => ({ value: u.id, text: u.displayName })))) : null;
  const fields: Record<string, Field> = { case_id: kase, title: name, day, starts_at: starts, ends_at: ends };
  if (judge) fields.judge_id = judge;
  const errors = h("div");
  const verdict = h("div", { id: "schedule-check", "aria-live": "polite" });
  const others = h("div", { id: "judge-day" });

  /** Everything missing or wrong in the form so far (all of it, for the error summary). */
  const problems = (need: "all" | "times"): Refusal[] => {
    const at = (t: string) => new Date(`${day.control.value}T${t}`);
    const judgeId = judge ? judge.control.value : session?.user?.id ?? "";
    return [
      need === "all" && !kase.control.value && mine(T("missingCase"), "case_id"),
      need === "all" && !name.control.value.trim() && mine(T("missingTitle"), "title"),
      !day.control.value && mine(T("missingDay"), "day"),
      !starts.control.value && mine(T("missingStarts"), "starts_at"),
      !ends.control.value && mine(T("missingEnds"), "ends_at"),
      !!(starts.control.value && ends.control.value) && at(ends.control.value) <= at(starts.control.value) && mine(T("endsBeforeStarts"), "ends_at"),
      !judgeId && mine(T("missingJudge"), "judge_id"),
    ].filter((p): p is Refusal => !!p);
  };
  /** The request as filled so far, or the first thing missing. */
  const read = (need: "all" | "times") => {
    const at = (t: string) => new Date(`${day.control.value}T${t}`);
    const judgeId = judge ? judge.control.value : session?.user?.id ?? "";
    const wrong = problems(need);
    if (wrong.length) return wrong[0];
    return {
      caseId: kase.control.value,
      title: name.control.value.trim() || "-",
      startsAt: ts(at(starts.control.value)),
      endsAt: ts(at(ends.control.value)),
      judgeId,
    };
  };

  let checks = 0;
  /** On each change: the judge's day, and the server's verdict on the times (nothing stored). */
  const check = async () => {
    const mineNow = ++checks;
    const req = read("times");
    if ("code" in req) return;
    clear(verdict, h("p", { class: "loading" }, T("checking")));
    void judgeDay(others, req.judgeId, new Date(`${day.control.value}T00:00`));
    const ok = await attempt(
      () => api.hearings.scheduleHearing({ ...req, caseId: req.caseId || cs[0].id, validateOnly: true }),
      (r) => {
        if (mineNow !== checks) return;
        clear(verdict);
        showRefusal(errors, T("problem"), r, fields);
      },
    );
    if (ok && mineNow === checks) {
      clear(errors);
      for (const f of Object.values(fields)) f.setError(null);
      clear(verdict, h("p", { class: "check-ok" }, T("free")));
    }
  };
  for (const f of [day, starts, ends, judge, kase]) f?.control.addEventListener("change", () => void check());

  const form = h(
    "form",
    { novalidate: true, id: "schedule-form" },
    errors,
    kase.el,
    name.el,
    h("div", { class: "inline-fields" }, day.el, starts.el, ends.el),
    judge ? judge.el : h("p", { class: "hint", id: "you-preside" }, T("youPreside", { name: session?.user?.displayName ?? "" })),
    verdict,
    others,
    h("button", { type: "submit", class: "button button-primary" }, T("submit")),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const req = read("all");
    if ("code" in req) {
      for (const f of Object.values(fields)) f.setError(null);
      const all = problems("all");
      for (const p of all) fields[p.field!]?.setError(p.text);
      clear(errors, errorSummary(T("problem"), all.map((p) => ({ text: p.text, field: fields[p.field!] }))));
      return;
    }
    void busy(form, async () => {
      const hr = await attempt(() => api.hearings.scheduleHearing(req), (r) => showRefusal(errors, T("problem"), r, fields));
      if (hr) go(`/manage/${hr.id}`);
    });
  });
  clear(root, back(), title(T("schedule")), created, form);
}

/** The judge's hearings on the local day starting at `day`. */
async function judgeDay(slot: HTMLElement, judgeId: string, day: Date): Promise<void> {
  const res = await api.hearings.listHearings({ judgeId, startsAfter: ts(localDay(day)), startsBefore: ts(localDay(day, 1)), pageSize: 50 }).catch(() => null);
  if (!res) return clear(slot);
  clear(
    slot,
    h("h2", { class: "subheading" }, T("othersThatDay")),
    res.hearings.length
      ? h("ul", { class: "judge-day" }, res.hearings.map((hr) => h("li", {}, `${hearingTime(hr, false)} · ${hr.caseNumber} · ${hr.title} `, stateTag(hr.state))))
      : empty(T("noOthers")),
  );
}
