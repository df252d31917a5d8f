// The administrator's screen (`#/admin`): the staff accounts (ListStaff), and disabling or
// enabling one after a confirmation (SetAccountEnabled: disabling ends the account's sessions at
// once and refuses its sign-ins).
import { api, attempt, isStaff, myRole, refusal, session } from "../api";
import { Role, type User } from "../gen/court/v1/common_pb";
import type { StaffMember } from "../gen/court/v1/auth_pb";
import { busy, button, clear, empty, h, loading, notice, showRefusal, tag, title } from "../dom";
import { roleName, strings } from "../i18n";
import { go } from "../nav";

const T = strings(
  {
    heading: "Staff accounts",
    caption: "Administration",
    lead: "Disabling an account ends its sessions at once and refuses its sign-ins until it is enabled again.",
    loading: "Loading the staff accounts…",
    cannotLoad: "The staff accounts could not be loaded",
    none: "There are no staff accounts.",
    name: "Name",
    username: "User name",
    role: "Role",
    status: "Status",
    actions: "Actions",
    enabled: "Enabled",
    disabled: "Disabled",
    you: "This is you",
    disable: "Disable",
    enable: "Enable",
    disableFor: "Disable {name}",
    enableFor: "Enable {name}",
    confirmDisable: "Disable {name}'s account? They are signed out everywhere at once and cannot sign in until it is enabled again.",
    confirmEnable: "Enable {name}'s account? They can sign in again.",
    yesDisable: "Yes, disable the account",
    yesEnable: "Yes, enable the account",
    no: "Do not change",
    doneDisable: "{name}'s account is disabled. Sessions ended: {n}.",
    doneEnable: "{name}'s account is enabled.",
    problem: "There is a problem",
    notAdmin: "Staff accounts are managed by administrators.",
  },
  {
    heading: "工作人员账户",
    caption: "系统管理",
    lead: "停用账户会立即结束其所有会话，并在重新启用前拒绝其登录。",
    loading: "正在加载工作人员账户…",
    cannotLoad: "无法加载工作人员账户",
    none: "没有工作人员账户。",
    name: "姓名",
    username: "用户名",
    role: "角色",
    status: "状态",
    actions: "操作",
    enabled: "已启用",
    disabled: "已停用",
    you: "这是您本人",
    disable: "停用",
    enable: "启用",
    disableFor: "停用 {name}",
    enableFor: "启用 {name}",
    confirmDisable: "停用 {name} 的账户？其所有会话将立即结束，重新启用前无法登录。",
    confirmEnable: "启用 {name} 的账户？其可以重新登录。",
    yesDisable: "确认停用",
    yesEnable: "确认启用",
    no: "不更改",
    doneDisable: "{name} 的账户已停用。已结束的会话：{n} 个。",
    doneEnable: "{name} 的账户已启用。",
    problem: "出现问题",
    notAdmin: "工作人员账户由管理员管理。",
  },
);

export async function render(root: HTMLElement): Promise<void> {
  if (!isStaff()) return go("/");
  const outcome = h("div", { id: "admin-outcome" });
  const list = h("div", { id: "staff-list" }, loading(T("loading")));
  clear(root, title(T("heading"), T("caption")), h("p", { class: "lead" }, T("lead")), outcome, list);
  if (myRole() !== Role.ADMIN) return void clear(list, notice("error", T("notAdmin")));
  await draw(list, outcome);
}

async function draw(list: HTMLElement, outcome: HTMLElement): Promise<void> {
  let staff: StaffMember[];
  try {
    staff = (await api.auth.listStaff({})).staff;
  } catch (e) {
    clear(list, notice("error", refusal(e).text, T("cannotLoad")));
    return;
  }
  if (!staff.length) return void clear(list, empty(T("none")));
  const confirmSlot = h("div", { id: "admin-confirm" });
  const ask = (u: User, enable: boolean) => {
    const errors = h("div");
    const box = h("div", { class: "notice notice-warning", role: "alert" }, h("p", {}, T(enable ? "confirmEnable" : "confirmDisable", { name: u.displayName })), errors);
    const yes = button(T(enable ? "yesEnable" : "yesDisable"), () =>
      void busy(box, async () => {
        const res = await attempt(() => api.auth.setAccountEnabled({ username: u.username, enabled: enable }), (r) => showRefusal(errors, T("problem"), r));
        if (!res) return;
        clear(outcome, notice("success", T(enable ? "doneEnable" : "doneDisable", { name: u.displayName, n: String(res.sessionsRevoked) })));
        await draw(list, outcome);
      }), enable ? "primary" : "warning", { id: "admin-yes" });
    box.append(h("div", { class: "button-group" }, yes, button(T("no"), () => clear(confirmSlot), "secondary")));
    clear(confirmSlot, box);
    queueMicrotask(() => yes.focus());
  };
  const rows = staff.filter((s) => s.user).map(({ user, enabled }) => {
    const u = user!;
    const me = u.id === session?.user?.id;
    const cell = (label: string, ...c: (Node | string)[]) => h("td", { "data-label": label }, ...c);
    return h(
      "tr",
      { "data-username": u.username },
      cell(T("name"), u.displayName),
      cell(T("username"), u.username),
      cell(T("role"), roleName(u.role)),
      cell(T("status"), enabled ? tag(T("enabled"), "green") : tag(T("disabled"), "red")),
      cell(
        T("actions"),
        me
          ? h("span", { class: "hint" }, T("you"))
          : button(T(enabled ? "disable" : "enable"), () => ask(u, !enabled), enabled ? "warning" : "secondary", { "aria-label": T(enabled ? "disableFor" : "enableFor", { name: u.displayName }) }),
      ),
    );
  });
  clear(
    list,
    confirmSlot,
    h(
      "table",
      { class: "docket-table", "aria-label": T("heading") },
      h("thead", {}, h("tr", {}, [T("name"), T("username"), T("role"), T("status"), T("actions")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows),
    ),
  );
}
