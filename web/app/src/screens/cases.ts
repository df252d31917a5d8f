// The case records (`#/cases`), for staff: the cases the caller may read, newest first, searched
// by case number or title (ListCases), a page at a time; each opens its record (`#/case/ID`).
import { api, isStaff, refusal } from "../api";
import { Visibility, type Case } from "../gen/court/v1/common_pb";
import { button, clear, empty, field, h, loading, notice, title } from "../dom";
import { strings, when } from "../i18n";
import { go } from "../nav";
import { date } from "./docket-common";

const T = strings(
  {
    heading: "Case records",
    back: "Back to the docket",
    search: "Search transcripts",
    query: "Find a case",
    queryHint: "Part of the case number or title",
    find: "Find",
    loading: "Loading cases…",
    cannotLoad: "The cases could not be loaded",
    none: "No case matches.",
    noCases: "There are no cases yet.",
    number: "Case number",
    title: "Title",
    visibility: "Visibility",
    created: "Created",
    more: "Show more cases",
    public: "Public",
    restricted: "Restricted",
    sealed: "Sealed",
  },
  {
    heading: "案件记录",
    back: "返回庭审日程",
    search: "搜索笔录",
    query: "查找案件",
    queryHint: "案号或案件名称的一部分",
    find: "查找",
    loading: "正在加载案件…",
    cannotLoad: "无法加载案件",
    none: "没有符合的案件。",
    noCases: "还没有案件。",
    number: "案号",
    title: "案件名称",
    visibility: "公开范围",
    created: "创建时间",
    more: "显示更多案件",
    public: "公开",
    restricted: "限制",
    sealed: "保密",
  },
);

export const visibilityName = (v: Visibility) =>
  v === Visibility.PUBLIC ? T("public") : v === Visibility.SEALED ? T("sealed") : T("restricted");

/** The last search, kept while the tab lives (coming back from a record keeps it). */
let lastQuery = "";

export async function render(root: HTMLElement): Promise<void> {
  if (!isStaff()) return go("/");
  const query = field(T("query"), h("input", { name: "query", type: "search", autocomplete: "off", value: lastQuery }), T("queryHint"));
  const results = h("div", { id: "case-results" });
  const form = h("form", { role: "search", class: "panel", id: "case-search" }, query.el, h("button", { type: "submit", class: "button button-secondary" }, T("find")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    lastQuery = query.control.value.trim();
    void list(results, lastQuery);
  });
  clear(
    root,
    h("p", {}, h("a", { href: "#/docket", class: "back-link" }, T("back"))),
    title(T("heading")),
    h("p", {}, h("a", { href: "#/search", class: "action" }, T("search"))),
    form,
    results,
  );
  await list(results, lastQuery);
}

async function list(slot: HTMLElement, q: string): Promise<void> {
  clear(slot, loading(T("loading")));
  const rows = h("tbody");
  const more = h("div");
  const table = h(
    "table",
    { class: "docket-table", "aria-label": T("heading") },
    h("thead", {}, h("tr", {}, [T("number"), T("title"), T("visibility"), T("created")].map((c) => h("th", { scope: "col" }, c)))),
    rows,
  );
  const page = async (pageToken: string) => {
    try {
      const res = await api.cases.listCases({ query: q, pageSize: 20, pageToken });
      if (!pageToken) clear(slot, res.cases.length ? table : empty(q ? T("none") : T("noCases")), more);
      for (const c of res.cases) rows.append(row(c));
      clear(more, res.nextPageToken ? button(T("more"), () => void page(res.nextPageToken), "secondary") : null);
    } catch (e) {
      clear(slot, notice("error", refusal(e).text, T("cannotLoad")));
    }
  };
  await page("");
}

function row(c: Case): HTMLTableRowElement {
  const cell = (label: string, ...content: (Node | string)[]) => h("td", { "data-label": label }, ...content);
  return h(
    "tr",
    { "data-case": c.id },
    cell(T("number"), h("a", { href: `#/case/${c.id}` }, c.caseNumber)),
    cell(T("title"), c.title),
    cell(T("visibility"), visibilityName(c.visibility)),
    cell(T("created"), when(date(c.createdAt))),
  );
}
