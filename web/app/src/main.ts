// The page's shell: header (who is signed in, language, sign out), the router (one module per
// screen, by the address's #fragment), and the first screen. Screens: src/screens/*.ts.
import { isStaff, keptStaffToken, myRole, resume, session, signOut } from "./api";
import { go, home } from "./nav";
import { button, clear, h } from "./dom";
import { lang, roleName, setLang, strings } from "./i18n";
import * as signin from "./screens/signin";
import * as join from "./screens/join";
import * as hearing from "./screens/hearing";
import * as docket from "./screens/docket";
import * as admin from "./screens/admin";
import * as caseScreen from "./screens/case";
import * as cases from "./screens/cases";
import * as search from "./screens/search";
import * as manage from "./screens/manage";
import * as court from "./screens/court";

/** A screen draws itself into `root`; `dispose` stops what it started (streams, media). */
export interface Screen {
  render(root: HTMLElement, params: Record<string, string>): void | Promise<void>;
  dispose?(): void;
}

const T = strings(
  {
    skip: "Skip to main content",
    service: "OpenCourt",
    tagline: "Online court hearings",
    other: "中文",
    otherLabel: "切换到中文",
    signOut: "Sign out",
    notFound: "Page not found",
    notFoundBody: "Check the address, or go to the start.",
    start: "Go to the start",
  },
  {
    skip: "跳到主要内容",
    service: "OpenCourt 在线庭审",
    tagline: "在线庭审",
    other: "English",
    otherLabel: "Switch to English",
    signOut: "退出登录",
    notFound: "未找到页面",
    notFoundBody: "请检查地址，或返回首页。",
    start: "返回首页",
  },
);

/** Routes: the first pattern that matches the #fragment wins; `:name` captures a part. */
const ROUTES: [string, Screen][] = [
  ["/join/:code", join],
  ["/hearing/:hearingId", hearing],
  ["/admin", admin],
  ["/docket", docket],
  ["/docket/:view", docket],
  ["/cases", cases],
  ["/case/:caseId", caseScreen],
  ["/search", search],
  ["/manage/:hearingId", manage],
  ["/court/:hearingId", court],
  ["/", signin],
];

let current: Screen | null = null;

function match(path: string): [Screen, Record<string, string>] | null {
  for (const [pattern, screen] of ROUTES) {
    const want = pattern.split("/");
    const got = path.split("/");
    if (want.length !== got.length) continue;
    const params: Record<string, string> = {};
    if (want.every((w, i) => (w.startsWith(":") ? ((params[w.slice(1)] = decodeURIComponent(got[i])), got[i] !== "") : w === got[i]))) {
      return [screen, params];
    }
  }
  return null;
}

function header(): HTMLElement {
  const who = session?.user ?? session?.participant;
  const name = session?.user?.displayName ?? session?.participant?.displayName;
  return h(
    "header",
    { class: "site-header" },
    h("a", { class: "skip-link", href: "#main", onclick: (e: Event) => { e.preventDefault(); document.getElementById("main")?.focus(); } }, T("skip")),
    h(
      "div",
      { class: "site-header-inner" },
      h("a", { class: "brand", href: `#${home()}` }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "⚖"), T("service")),
      h(
        "nav",
        { class: "site-nav", "aria-label": T("tagline") },
        who ? h("span", { class: "who" }, `${name} · ${roleName(myRole())}`) : null,
        button(T("other"), () => { setLang(lang === "en" ? "zh" : "en"); void route(); }, "link", { lang: lang === "en" ? "zh-CN" : "en", "aria-label": T("otherLabel"), id: "lang-switch" }),
        isStaff() ? button(T("signOut"), () => { signOut(); go("/"); }, "link", { id: "sign-out" }) : null,
      ),
    ),
  );
}

/** Draws the screen for the current address. */
export async function route(): Promise<void> {
  const path = location.hash.replace(/^#/, "") || "/";
  current?.dispose?.();
  current = null;
  const app = document.getElementById("app")!;
  const main = h("main", { id: "main", class: "main", tabindex: -1 });
  clear(app, header(), main);
  const found = match(path);
  if (!found) {
    clear(main, h("h1", { class: "title" }, T("notFound")), h("p", {}, T("notFoundBody")), h("a", { href: "#/" }, T("start")));
    return;
  }
  const [screen, params] = found;
  current = screen;
  await screen.render(main, params);
}

async function start(): Promise<void> {
  setLang(lang);
  const kept = keptStaffToken();
  if (kept) await resume(kept).catch(() => null);
  window.addEventListener("hashchange", () => void route());
  window.addEventListener("oc-session", () => document.querySelector(".site-header")?.replaceWith(header()));
  await route();
}

void start();
