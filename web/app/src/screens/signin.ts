// The start: join a hearing with an invitation code, or sign in as court staff.
import { api, attempt, isStaff, setStaffSession } from "../api";
import { busy, clear, field, h, showRefusal, title } from "../dom";
import { strings } from "../i18n";
import { go, home, sessionChanged } from "../nav";

const T = strings(
  {
    heading: "Take part in a court hearing online",
    lead: "If the court sent you an invitation link, open it, or enter the code from it here.",
    joinHeading: "Join a hearing",
    code: "Invitation code",
    codeHint: "The code at the end of your invitation link, for example k3v9-…",
    join: "Continue",
    staffHeading: "Court staff",
    staffLead: "Judges, clerks and administrators sign in with their account.",
    username: "User name",
    password: "Password",
    signIn: "Sign in",
    problem: "There is a problem",
    codeMissing: "Enter your invitation code",
    usernameMissing: "Enter your user name",
    passwordMissing: "Enter your password",
  },
  {
    heading: "在线参加法院庭审",
    lead: "如果法院向您发送了邀请链接，请直接打开，或在此输入链接中的邀请码。",
    joinHeading: "加入庭审",
    code: "邀请码",
    codeHint: "邀请链接末尾的代码，例如 k3v9-…",
    join: "继续",
    staffHeading: "法院工作人员",
    staffLead: "法官、书记员和管理员使用账户登录。",
    username: "用户名",
    password: "密码",
    signIn: "登录",
    problem: "出现问题",
    codeMissing: "请输入邀请码",
    usernameMissing: "请输入用户名",
    passwordMissing: "请输入密码",
  },
);

export function render(root: HTMLElement): void {
  if (isStaff()) {
    go(home());
    return;
  }
  const code = field(T("code"), h("input", { name: "code", autocomplete: "off", spellcheck: "false", autocapitalize: "none" }), T("codeHint"));
  const joinErrors = h("div");
  const joinForm = h(
    "form",
    { class: "panel", id: "invite-form", novalidate: true, "aria-labelledby": "join-h" },
    h("h2", { id: "join-h" }, T("joinHeading")),
    joinErrors,
    code.el,
    h("button", { type: "submit", class: "button button-primary" }, T("join")),
  );
  joinForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = code.control.value.trim().replace(/^.*#\/join\//, "");
    if (!value) {
      showRefusal(joinErrors, T("problem"), { code: 3, text: T("codeMissing"), field: "code", detail: "" }, { code });
      return;
    }
    go(`/join/${encodeURIComponent(value)}`);
  });

  const username = field(T("username"), h("input", { name: "username", autocomplete: "username", spellcheck: "false", autocapitalize: "none" }));
  const password = field(T("password"), h("input", { name: "password", type: "password", autocomplete: "current-password" }));
  const loginErrors = h("div");
  const loginForm = h(
    "form",
    { class: "panel", id: "login-form", novalidate: true, "aria-labelledby": "staff-h" },
    h("h2", { id: "staff-h" }, T("staffHeading")),
    h("p", { class: "hint" }, T("staffLead")),
    loginErrors,
    username.el,
    password.el,
    h("button", { type: "submit", class: "button button-secondary" }, T("signIn")),
  );
  const fields = { username, password };
  loginForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const u = username.control.value.trim();
    const p = password.control.value;
    if (!u || !p) {
      const missing = !u ? { text: T("usernameMissing"), field: "username" } : { text: T("passwordMissing"), field: "password" };
      showRefusal(loginErrors, T("problem"), { code: 3, detail: "", ...missing }, fields);
      return;
    }
    void busy(loginForm, async () => {
      const res = await attempt(() => api.auth.login({ username: u, password: p }), (r) => showRefusal(loginErrors, T("problem"), r, fields));
      if (!res || !res.user) return;
      setStaffSession(res.token, res.user);
      sessionChanged();
      go(home());
    });
  });

  clear(root, title(T("heading")), h("p", { class: "lead" }, T("lead")), h("div", { class: "columns" }, joinForm, loginForm));
}
