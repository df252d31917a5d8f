// The one way the page talks to the server: clients generated from proto/ over grpc-web, the
// caller's token on every call, and the server's refusals turned into words in the page's
// language (never shown raw).
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuthService } from "./gen/court/v1/auth_pb";
import { CaseService } from "./gen/court/v1/case_pb";
import { HearingService } from "./gen/court/v1/hearing_pb";
import { MediaService } from "./gen/court/v1/media_pb";
import { RecordService } from "./gen/court/v1/record_pb";
import type { Participant, User } from "./gen/court/v1/common_pb";
import { Role } from "./gen/court/v1/common_pb";
import { strings } from "./i18n";

// ---- who the page is signed in as --------------------------------------------------------------

/** A staff sign-in lives as long as the tab (sessionStorage); an invitation's token lives in
 *  localStorage under its code, so a reload or a second tab with the same link is the same
 *  participant without spending a new code. */
export interface Session {
  token: string;
  user?: User;
  participant?: Participant;
}

export let session: Session | null = null;

const STAFF = "oc.staff";
const inviteKey = (code: string) => `oc.invite.${code}`;

export function setStaffSession(token: string, user: User): void {
  session = { token, user };
  sessionStorage.setItem(STAFF, token);
}

export function setInviteSession(code: string, token: string, participant: Participant): void {
  session = { token, participant };
  localStorage.setItem(inviteKey(code), token);
}

/** The token kept for an invitation code by an earlier tab, if any. */
export function keptInviteToken(code: string): string | null {
  return localStorage.getItem(inviteKey(code));
}

export function forgetInvite(code: string): void {
  localStorage.removeItem(inviteKey(code));
}

export function keptStaffToken(): string | null {
  return sessionStorage.getItem(STAFF);
}

/** Uses a kept token: asks the server whom it belongs to; null when it no longer works. */
export async function resume(token: string): Promise<Session | null> {
  try {
    const me = await api.auth.whoAmI({}, { headers: { authorization: `Bearer ${token}` } });
    session = { token, user: me.user, participant: me.participant };
    return session;
  } catch (e) {
    if (e instanceof ConnectError && (e.code === Code.Unauthenticated || e.code === Code.PermissionDenied)) return null;
    throw e;
  }
}

export function signOut(): void {
  if (session?.user) {
    // Best effort: the token stops working on the server at once; the page forgets it anyway.
    api.auth.logout({}).catch(() => undefined);
  }
  session = null;
  sessionStorage.removeItem(STAFF);
}

export const isStaff = () => !!session?.user;
export const myRole = (): Role => session?.user?.role ?? session?.participant?.role ?? Role.UNSPECIFIED;
/** Judges and clerks run hearings; administrators manage accounts only. */
export const isCourt = () => myRole() === Role.JUDGE || myRole() === Role.CLERK;

// ---- clients -------------------------------------------------------------------------------------

const bearer: Interceptor = (next) => async (req) => {
  if (session && !req.header.has("authorization")) req.header.set("authorization", `Bearer ${session.token}`);
  return next(req);
};

export const transport = createGrpcWebTransport({ baseUrl: location.origin, interceptors: [bearer] });

export const api = {
  auth: createClient(AuthService, transport),
  cases: createClient(CaseService, transport),
  hearings: createClient(HearingService, transport),
  media: createClient(MediaService, transport),
  record: createClient(RecordService, transport),
};

// ---- refusals in words ---------------------------------------------------------------------------

const T = strings(
  {
    unauthenticated: "Your sign-in has ended. Sign in again, or open your invitation link again.",
    denied: "You are not allowed to do that.",
    notFound: "That could not be found. It may have been removed.",
    exists: "That already exists.",
    busy: "The server is busy. Wait a moment and try again.",
    unavailable: "The court's server cannot be reached. Check your connection; the page keeps trying.",
    deadline: "The server took too long to answer. Try again.",
    internal: "Something went wrong on the server. The court's staff can see what in its log.",
    precondition: "That cannot be done now.",
    invalid: "Check what you entered.",
    locked: "The court has locked the room. Ask the court's clerk to let you in.",
    badCode: "This invitation link does not work. It may have been used on another device, replaced, or expired. Ask the court for a new link.",
    removed: "You have been removed from this hearing.",
    conflict: "The judge already presides over another hearing at that time.",
    wrongCredentials: "The user name or password is not right.",
    disabled: "This account is disabled. Ask the court's administrator.",
    tooMany: "Too many attempts. Wait a minute and try again.",
    notLive: "The hearing is not open at the moment.",
    field: "{field}: {detail}",
  },
  {
    unauthenticated: "您的登录已失效。请重新登录，或重新打开邀请链接。",
    denied: "您无权进行此操作。",
    notFound: "未找到该内容，可能已被删除。",
    exists: "该内容已存在。",
    busy: "服务器繁忙，请稍候再试。",
    unavailable: "无法连接法院服务器。请检查网络，页面会自动重试。",
    deadline: "服务器响应超时，请重试。",
    internal: "服务器出现错误。法院工作人员可在日志中查看详情。",
    precondition: "当前无法进行此操作。",
    invalid: "请检查您填写的内容。",
    locked: "法庭已锁定，暂不允许新人进入。请联系书记员。",
    badCode: "此邀请链接无效：可能已在其他设备上使用、已被替换或已过期。请向法院索取新链接。",
    removed: "您已被移出本次庭审。",
    conflict: "该法官在此时间已有其他庭审。",
    wrongCredentials: "用户名或密码不正确。",
    disabled: "该账户已停用，请联系管理员。",
    tooMany: "尝试次数过多，请一分钟后再试。",
    notLive: "庭审当前未开放。",
    field: "{field}：{detail}",
  },
);

/** A refusal: what to tell the user, and the request field it concerns (for an error summary
 *  that links to the field), from the status code and the server's message. */
export interface Refusal {
  code: Code;
  text: string;
  field?: string;
  /** The server's own words, for a details line and for staff. */
  detail: string;
}

export function refusal(e: unknown): Refusal {
  const err = ConnectError.from(e);
  const detail = err.rawMessage;
  const m = detail.toLowerCase();
  const r = (text: string, field?: string): Refusal => ({ code: err.code, text, field, detail });
  switch (err.code) {
    case Code.InvalidArgument: {
      const f = /^([a-z_]+):\s*(.*)$/.exec(detail);
      return f ? r(T("field", { field: f[1], detail: f[2] }), f[1]) : r(T("invalid"));
    }
    case Code.Unauthenticated:
      if (m.includes("invitation")) return r(T("badCode"), "code");
      if (m.includes("disabled")) return r(T("disabled"));
      if (m.includes("password") || m.includes("user name") || m.includes("username")) return r(T("wrongCredentials"), "username");
      return r(T("unauthenticated"));
    case Code.PermissionDenied:
      if (m.includes("removed")) return r(T("removed"));
      return r(T("denied"));
    case Code.NotFound:
      return r(T("notFound"));
    case Code.AlreadyExists:
      if (m.includes("overlapping") || m.includes("presides")) return r(T("conflict"), "starts_at");
      return r(T("exists"));
    case Code.FailedPrecondition:
      if (m.includes("locked")) return r(T("locked"));
      if (m.includes("removed")) return r(T("removed"));
      if (m.includes("overlapping") || m.includes("presides")) return r(T("conflict"), "starts_at");
      if (m.includes("not open") || m.includes("scheduled") || m.includes("adjourned")) return r(T("notLive"));
      return r(T("precondition"));
    case Code.ResourceExhausted:
      return r(m.includes("attempt") || m.includes("sign") ? T("tooMany") : T("busy"));
    case Code.Unavailable:
      return r(T("unavailable"));
    case Code.DeadlineExceeded:
      return r(T("deadline"));
    default:
      return r(T("internal"));
  }
}

/** Runs `call`; a refusal becomes null after `onRefusal` (e.g. showing it in the form). */
export async function attempt<R>(call: () => Promise<R>, onRefusal: (r: Refusal) => void): Promise<R | null> {
  try {
    return await call();
  } catch (e) {
    onRefusal(refusal(e));
    return null;
  }
}
