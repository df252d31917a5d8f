// Both languages of the page. Each module declares its own strings with `strings({ en, zh })`:
// the type requires every English key to have a Chinese text, so a missing translation fails
// `npm run check`. Texts may hold `{name}` placeholders.
import { HearingState, Presence, Role } from "./gen/court/v1/common_pb";
import { PeerState } from "./gen/court/v1/media_pb";

export type Lang = "en" | "zh";

const STORE = "oc.lang";

function initialLang(): Lang {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked === "en" || asked === "zh") return asked;
  const kept = localStorage.getItem(STORE);
  if (kept === "en" || kept === "zh") return kept;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export let lang: Lang = initialLang();

/** Switches the language, remembered for the next visit; the caller redraws. */
export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(STORE, next);
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
}

export type Strings<K extends string> = (key: K, params?: Record<string, string | number>) => string;

/** A module's texts in both languages. */
export function strings<T extends Record<string, string>>(en: T, zh: { [K in keyof T]: string }): Strings<Extract<keyof T, string>> {
  return (key, params) => fill((lang === "zh" ? zh : en)[key], params);
}

export function fill(text: string, params?: Record<string, string | number>): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

type Both = { en: string; zh: string };
const pick = (b: Both) => (lang === "zh" ? b.zh : b.en);

const ROLES: Record<Role, Both> = {
  [Role.UNSPECIFIED]: { en: "unknown role", zh: "未知角色" },
  [Role.JUDGE]: { en: "Judge", zh: "法官" },
  [Role.CLERK]: { en: "Clerk", zh: "书记员" },
  [Role.PROSECUTOR]: { en: "Prosecutor", zh: "公诉人" },
  [Role.COUNSEL]: { en: "Counsel", zh: "代理人" },
  [Role.PARTY]: { en: "Party", zh: "当事人" },
  [Role.WITNESS]: { en: "Witness", zh: "证人" },
  [Role.EXPERT]: { en: "Expert", zh: "鉴定人" },
  [Role.INTERPRETER]: { en: "Interpreter", zh: "翻译人员" },
  [Role.OBSERVER]: { en: "Observer", zh: "旁听人员" },
  [Role.ADMIN]: { en: "Administrator", zh: "管理员" },
  [Role.SYSTEM]: { en: "OpenCourt", zh: "系统" },
};
export const roleName = (r: Role) => pick(ROLES[r]);

/** The roles a court may invite (staff take part with their own accounts). */
export const INVITABLE: Role[] = [Role.PROSECUTOR, Role.COUNSEL, Role.PARTY, Role.WITNESS, Role.EXPERT, Role.INTERPRETER, Role.OBSERVER];

const STATES: Record<HearingState, Both> = {
  [HearingState.UNSPECIFIED]: { en: "unknown", zh: "未知" },
  [HearingState.SCHEDULED]: { en: "Scheduled", zh: "已排期" },
  [HearingState.OPEN]: { en: "Waiting room open", zh: "候庭中" },
  [HearingState.ON_RECORD]: { en: "On the record", zh: "正在记录" },
  [HearingState.OFF_RECORD]: { en: "Off the record", zh: "休庭（不记录）" },
  [HearingState.ADJOURNED]: { en: "Adjourned", zh: "已闭庭" },
  [HearingState.CANCELLED]: { en: "Cancelled", zh: "已取消" },
};
export const stateName = (s: HearingState) => pick(STATES[s]);

const PRESENCE: Record<Presence, Both> = {
  [Presence.UNSPECIFIED]: { en: "unknown", zh: "未知" },
  [Presence.INVITED]: { en: "Invited", zh: "已邀请" },
  [Presence.WAITING]: { en: "Waiting", zh: "候庭" },
  [Presence.ADMITTED]: { en: "In the hearing", zh: "在庭" },
  [Presence.LEFT]: { en: "Left", zh: "已离开" },
  [Presence.REMOVED]: { en: "Removed", zh: "已移出" },
  [Presence.DISCONNECTED]: { en: "Connection lost", zh: "连接中断" },
};
export const presenceName = (p: Presence) => pick(PRESENCE[p]);

const PEERS: Record<PeerState, Both> = {
  [PeerState.UNSPECIFIED]: { en: "No media", zh: "无音视频" },
  [PeerState.CONNECTING]: { en: "Connecting", zh: "正在连接" },
  [PeerState.CONNECTED]: { en: "Connected", zh: "已连接" },
  [PeerState.DISCONNECTED]: { en: "Interrupted", zh: "连接不稳" },
  [PeerState.FAILED]: { en: "Failed", zh: "连接失败" },
  [PeerState.CLOSED]: { en: "Closed", zh: "已断开" },
};
export const peerStateName = (s: PeerState) => pick(PEERS[s]);

/** A date and time in the page's language and the browser's time zone. */
export function when(d: Date | undefined, opts: Intl.DateTimeFormatOptions = { dateStyle: "medium", timeStyle: "short" }): string {
  if (!d) return "";
  return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", opts).format(d);
}

/** A hearing-clock offset, e.g. 01:02:03. */
export function clock(ms: number | bigint): string {
  const s = Math.max(0, Math.floor(Number(ms) / 1000));
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
