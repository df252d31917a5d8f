// Transcript search (`#/search`), for staff: full-text search over the transcripts of the cases
// the caller may read (SearchTranscripts); each hit shows the case, the hearing clock, the
// speaker and the words around the match, and links to the case record.
import { api, isStaff, refusal } from "../api";
import type { SearchHit } from "../gen/court/v1/record_pb";
import { busy, clear, empty, field, h, notice, showRefusal, title } from "../dom";
import { clock, strings } from "../i18n";
import { go } from "../nav";

const T = strings(
  {
    heading: "Search transcripts",
    back: "Back to the docket",
    cases: "Case records",
    query: "Words to find",
    queryHint: "Words spoken in a hearing, for example: the contract was signed",
    find: "Search",
    problem: "There is a problem",
    missing: "Enter the words to find",
    found: "{n} found",
    none: "Nothing found.",
    cannot: "The search could not be done",
    open: "Open the case record",
    openFor: "Open the case record of {number}",
    at: "at {clock}",
  },
  {
    heading: "搜索笔录",
    back: "返回庭审日程",
    cases: "案件记录",
    query: "要查找的内容",
    queryHint: "庭审中说过的话，例如：合同已签署",
    find: "搜索",
    problem: "出现问题",
    missing: "请输入要查找的内容",
    found: "找到 {n} 条",
    none: "未找到。",
    cannot: "无法完成搜索",
    open: "打开案件记录",
    openFor: "打开 {number} 的案件记录",
    at: "{clock}",
  },
);

/** The last search, kept while the tab lives (coming back from a record shows it again). */
let last = "";

export async function render(root: HTMLElement): Promise<void> {
  if (!isStaff()) return go("/");
  const query = field(T("query"), h("input", { name: "query", type: "search", autocomplete: "off", value: last }), T("queryHint"));
  const errors = h("div");
  const results = h("div", { id: "search-results", "aria-live": "polite" });
  const form = h("form", { role: "search", class: "panel", id: "search-form", novalidate: true }, errors, query.el, h("button", { type: "submit", class: "button button-primary" }, T("find")));
  const run = async () => {
    const q = query.control.value.trim();
    if (!q) return showRefusal(errors, T("problem"), { code: 3, detail: "", text: T("missing"), field: "query" }, { query });
    clear(errors);
    query.setError(null);
    last = q;
    await busy(form, () => search(results, q));
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void run();
  });
  clear(
    root,
    h("p", {}, h("a", { href: "#/docket", class: "back-link" }, T("back"))),
    title(T("heading")),
    h("p", {}, h("a", { href: "#/cases", class: "action" }, T("cases"))),
    form,
    results,
  );
  if (last) await run();
}

async function search(slot: HTMLElement, query: string): Promise<void> {
  try {
    const res = await api.record.searchTranscripts({ query, pageSize: 50 });
    clear(
      slot,
      h("h2", {}, T("found", { n: String(res.hits.length) })),
      res.hits.length ? h("ol", { class: "hits" }, res.hits.map(hit)) : empty(T("none")),
    );
  } catch (e) {
    clear(slot, notice("error", refusal(e).text, T("cannot")));
  }
}

/** The snippet with the match (in [brackets] from the server) marked. */
function snippet(text: string): (Node | string)[] {
  return text.split(/(\[[^\]]*\])/).filter(Boolean).map((part) => (/^\[.*\]$/.test(part) ? h("mark", {}, part.slice(1, -1)) : part));
}

function hit(x: SearchHit): HTMLElement {
  return h(
    "li",
    { class: "hit", "data-hearing": x.hearingId },
    h("p", {}, h("strong", {}, x.caseNumber), " · ", T("at", { clock: clock(x.startMs) }), " · ", h("span", { class: "hit-speaker" }, x.speaker)),
    h("p", { class: "snippet" }, ...snippet(x.snippet)),
    h("a", { href: `#/case/${x.caseId}`, "aria-label": T("openFor", { number: x.caseNumber }) }, T("open")),
  );
}
