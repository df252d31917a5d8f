// `#/join/CODE`: an invitation link. The token kept for this code (an earlier tab, a reload) is
// used again when it still works, so the person is the same participant; otherwise the code is
// redeemed once. A code that no longer works gets a page saying to ask the court for a new link.
// Then the pre-flight, the waiting room and the room (room-flow.ts).
import { api, forgetInvite, keptInviteToken, refusal, resume, session, setInviteSession } from "../api";
import { clear, h, loading, notice, title } from "../dom";
import { roleName, strings } from "../i18n";
import { sessionChanged } from "../nav";
import { enterHearing, hasFlow, joiningText, leaveScreen } from "./room-flow";

const T = strings(
  {
    badHeading: "This invitation link does not work",
    ask: "Ask the court (the clerk who sent you the link) for a new link. A new link replaces the old one.",
  },
  {
    badHeading: "此邀请链接无法使用",
    ask: "请向法院（向您发送链接的书记员）索取新链接。新链接会取代旧链接。",
  },
);

export async function render(root: HTMLElement, params: Record<string, string>): Promise<void> {
  const code = params.code;
  const hash = location.hash;
  if (!hasFlow(hash)) {
    clear(root, loading(joiningText()));
    const problem = await signIn(code);
    if (problem !== null) {
      clear(root, title(T("badHeading")), notice("error", problem), h("p", {}, T("ask")));
      return;
    }
    sessionChanged();
  }
  const me = session!.participant!;
  enterHearing(root, { hearingId: me.hearingId, hash, caption: `${me.displayName} · ${roleName(me.role)}` });
}

export function dispose(): void {
  leaveScreen();
}

/** Signs in with the kept token or the code; the refusal's words when neither works. */
async function signIn(code: string): Promise<string | null> {
  const kept = keptInviteToken(code);
  if (kept) {
    // null: the token no longer works; a failure to ask keeps it for the next try.
    const s = await resume(kept).catch(() => undefined);
    if (s?.participant) return null;
    if (s === null) forgetInvite(code);
  }
  try {
    const res = await api.auth.redeemInvite({ code });
    if (!res.participant) return T("badHeading");
    setInviteSession(code, res.token, res.participant);
    return null;
  } catch (e) {
    return refusal(e).text;
  }
}
