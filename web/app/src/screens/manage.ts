// Managing a hearing (`#/manage/ID`), for judges and clerks: its summary and who takes part
// (presence, live), inviting someone (a link to copy and a QR code, shown once: the server keeps
// only the code's hash), a new link for a participant (the old one stops working), and
// cancelling the hearing with a reason.
import QRCode from "qrcode";
import { api, attempt, isCourt, isStaff, refusal } from "../api";
import { HearingState, Presence, Role, type Hearing, type Participant } from "../gen/court/v1/common_pb";
import { busy, button, clear, field, h, loading, notice, showRefusal, title, type Field } from "../dom";
import { HearingLive } from "../hearing-live";
import { INVITABLE, presenceName, roleName, strings } from "../i18n";
import { go } from "../nav";
import { hearingActions, hearingTime, isOver, select, stateTag } from "./docket-common";

const T = strings(
  {
    back: "Back to the docket",
    caption: "Manage the hearing",
    loading: "Loading the hearing…",
    cannotLoad: "The hearing could not be loaded",
    problem: "There is a problem",
    case: "Case",
    when: "When",
    judge: "Presiding judge",
    state: "State",
    locked: "Room",
    isLocked: "Locked: nobody new may enter",
    isOpen: "Not locked",
    people: "Participants",
    name: "Name",
    role: "Role",
    presence: "Presence",
    actions: "Actions",
    reissue: "New link",
    reissueFor: "New link for {name}",
    reissueWarn: "{name}'s current link will stop working at once. Send them the new one.",
    reissueYes: "Issue a new link",
    keep: "Keep the current link",
    invite: "Invite someone",
    inviteName: "Full name",
    inviteNameHint: "As the court will address them",
    inviteRole: "Role",
    chooseRole: "Choose a role",
    inviteSubmit: "Create an invitation link",
    missingName: "Enter the person's name",
    missingRole: "Choose the person's role",
    links: "Invitation links",
    linksLead: "Each link is shown only once. Copy it now and send it to the person; if it is lost, issue a new link.",
    linkFor: "Link for {name} ({role})",
    copy: "Copy the link",
    copyFor: "Copy the link for {name}",
    copied: "Copied.",
    copyFailed: "Copying did not work: select the link and copy it.",
    qr: "QR code of the link for {name}",
    cancel: "Cancel the hearing",
    reason: "Reason for cancelling",
    reasonHint: "Recorded in the hearing's log and shown to the participants.",
    missingReason: "Enter the reason for cancelling",
    cancelWarn: "Cancelling cannot be undone. Participants can no longer join.",
    cancelYes: "Yes, cancel the hearing",
    cancelNo: "Do not cancel",
    cancelled: "The hearing is cancelled.",
    over: "This hearing is over: nobody can be invited.",
    notCourt: "Managing hearings is for judges and clerks.",
  },
  {
    back: "返回庭审日程",
    caption: "管理庭审",
    loading: "正在加载庭审…",
    cannotLoad: "无法加载庭审",
    problem: "出现问题",
    case: "案件",
    when: "时间",
    judge: "主审法官",
    state: "状态",
    locked: "法庭",
    isLocked: "已锁定：新人不得进入",
    isOpen: "未锁定",
    people: "参与人",
    name: "姓名",
    role: "角色",
    presence: "状态",
    actions: "操作",
    reissue: "新链接",
    reissueFor: "为 {name} 生成新链接",
    reissueWarn: "{name} 现有的链接将立即失效。请把新链接发给对方。",
    reissueYes: "生成新链接",
    keep: "保留现有链接",
    invite: "邀请参与人",
    inviteName: "姓名",
    inviteNameHint: "法庭称呼其所用的姓名",
    inviteRole: "角色",
    chooseRole: "请选择角色",
    inviteSubmit: "生成邀请链接",
    missingName: "请输入姓名",
    missingRole: "请选择角色",
    links: "邀请链接",
    linksLead: "每个链接只显示一次。请立即复制并发送给对方；如遗失，请生成新链接。",
    linkFor: "{name}（{role}）的链接",
    copy: "复制链接",
    copyFor: "复制 {name} 的链接",
    copied: "已复制。",
    copyFailed: "复制失败：请选中链接后手动复制。",
    qr: "{name} 的链接二维码",
    cancel: "取消庭审",
    reason: "取消理由",
    reasonHint: "记入庭审日志，并告知参与人。",
    missingReason: "请输入取消理由",
    cancelWarn: "取消后无法恢复，参与人将无法加入。",
    cancelYes: "确认取消庭审",
    cancelNo: "不取消",
    cancelled: "庭审已取消。",
    over: "本次庭审已结束，不能再邀请。",
    notCourt: "仅法官和书记员可以管理庭审。",
  },
);

let live: HearingLive | null = null;
/** The links issued on this page since it was loaded, by hearing: they stay on screen (e.g. after
 *  switching language) until the tab goes; the server cannot show them again. */
const issued = new Map<string, { p: Participant; code: string }[]>();

export function dispose(): void {
  live?.stop();
  live = null;
}

export async function render(root: HTMLElement, params: Record<string, string>): Promise<void> {
  if (!isStaff()) return go("/");
  const hearingId = params.hearingId;
  const summary = h("div", { id: "manage-summary" }, loading(T("loading")));
  const people = h("section", { class: "section", "aria-labelledby": "people-h" });
  const links = h("section", { class: "section", id: "links", "aria-labelledby": "links-h", hidden: true }, h("h2", { id: "links-h" }, T("links")), notice("warning", T("linksLead")));
  const invite = h("section", { class: "section", "aria-labelledby": "invite-h" });
  const cancel = h("section", { class: "section", "aria-labelledby": "cancel-h" });
  const heading = h("div", {}, title(T("caption")));
  clear(root, h("p", {}, h("a", { href: "#/docket", class: "back-link" }, T("back"))), heading, summary, links, people, invite, cancel);
  if (!isCourt()) return void clear(summary, notice("error", T("notCourt")));

  const kept = issued.get(hearingId) ?? [];
  issued.set(hearingId, kept);
  const card = (p: Participant, code: string) => {
    links.hidden = false;
    links.append(linkCard(p, code));
  };
  const showLink = (p: Participant, code: string) => {
    kept.push({ p, code });
    card(p, code);
  };
  for (const k of kept) card(k.p, k.code);
  let drawnOnce = false;
  let wasOver = false;
  live = new HearingLive(hearingId);
  live.subscribe((l) => {
    const hr = l.hearing;
    if (!hr) return;
    clear(heading, title(hr.title, T("caption")));
    drawSummary(summary, hr);
    drawPeople(people, hr, showLink);
    if (!drawnOnce || isOver(hr.state) !== wasOver) {
      drawInvite(invite, hr, showLink);
      drawCancel(cancel, hr);
      drawnOnce = true;
      wasOver = isOver(hr.state);
    }
  });
  try {
    await live.start();
  } catch (e) {
    clear(summary, notice("error", refusal(e).text, T("cannotLoad")));
  }
}

function drawSummary(slot: HTMLElement, hr: Hearing): void {
  const row = (k: string, v: Node | string) => [h("dt", {}, k), h("dd", {}, v)];
  clear(
    slot,
    h(
      "dl",
      { class: "summary" },
      row(T("case"), h("a", { href: `#/case/${hr.caseId}` }, hr.caseNumber)),
      row(T("when"), hearingTime(hr, true)),
      row(T("judge"), hr.presidingJudgeName),
      row(T("state"), stateTag(hr.state)),
      row(T("locked"), hr.locked ? T("isLocked") : T("isOpen")),
    ),
    h("p", {}, hearingActions(hr, false)),
  );
}

type ShowLink = (p: Participant, code: string) => void;

function drawPeople(slot: HTMLElement, hr: Hearing, showLink: ShowLink): void {
  const confirmSlot = h("div", { id: "reissue-confirm" });
  const may = (p: Participant) => !p.userId && p.presence !== Presence.REMOVED && !isOver(hr.state);
  clear(
    slot,
    h("h2", { id: "people-h" }, T("people")),
    confirmSlot,
    h(
      "table",
      { class: "docket-table", "aria-labelledby": "people-h" },
      h("thead", {}, h("tr", {}, [T("name"), T("role"), T("presence"), T("actions")].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        hr.participants.map((p) =>
          h(
            "tr",
            { "data-participant": p.id },
            h("td", { "data-label": T("name") }, p.displayName),
            h("td", { "data-label": T("role") }, roleName(p.role)),
            h("td", { "data-label": T("presence") }, h("span", { class: "presence" }, presenceName(p.presence))),
            h(
              "td",
              { "data-label": T("actions") },
              may(p) ? button(T("reissue"), () => confirmReissue(confirmSlot, hr, p, showLink), "secondary", { "aria-label": T("reissueFor", { name: p.displayName }), class: "button button-secondary reissue" }) : null,
            ),
          ),
        ),
      ),
    ),
  );
}

function confirmReissue(slot: HTMLElement, hr: Hearing, p: Participant, showLink: ShowLink): void {
  const box = h(
    "div",
    { class: "notice notice-warning", role: "alert" },
    h("p", {}, T("reissueWarn", { name: p.displayName })),
  );
  const errors = h("div");
  const yes = button(T("reissueYes"), () =>
    void busy(box, async () => {
      const res = await attempt(() => api.hearings.reissueInvite({ hearingId: hr.id, participantId: p.id }), (r) => showRefusal(errors, T("problem"), r));
      if (!res) return;
      clear(slot);
      showLink(res.participant ?? p, res.code);
    }), "warning", { class: "button button-warning", id: "reissue-yes" });
  box.append(errors, h("div", { class: "button-group" }, yes, button(T("keep"), () => clear(slot), "secondary")));
  clear(slot, box);
  queueMicrotask(() => yes.focus());
}

function drawInvite(slot: HTMLElement, hr: Hearing, showLink: ShowLink): void {
  if (isOver(hr.state)) {
    clear(slot, h("h2", { id: "invite-h" }, T("invite")), h("p", {}, T("over")));
    return;
  }
  const name = field(T("inviteName"), h("input", { name: "display_name", autocomplete: "off" }), T("inviteNameHint"));
  const role = field(T("inviteRole"), select("role", T("chooseRole"), INVITABLE.map((r) => ({ value: String(r), text: roleName(r) }))));
  const fields: Record<string, Field> = { display_name: name, role };
  const errors = h("div");
  const form = h("form", { novalidate: true, id: "invite-participant-form", class: "panel" }, h("h2", { id: "invite-h" }, T("invite")), errors, h("div", { class: "inline-fields" }, name.el, role.el), h("button", { type: "submit", class: "button button-primary" }, T("inviteSubmit")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const displayName = name.control.value.trim();
    if (!displayName || !role.control.value) {
      const r = !displayName ? { text: T("missingName"), field: "display_name" } : { text: T("missingRole"), field: "role" };
      showRefusal(errors, T("problem"), { code: 3, detail: "", ...r }, fields);
      return;
    }
    void busy(form, async () => {
      const res = await attempt(() => api.hearings.inviteParticipant({ hearingId: hr.id, displayName, role: Number(role.control.value) as Role }), (r) => showRefusal(errors, T("problem"), r, fields));
      if (!res?.participant) return;
      clear(errors);
      for (const f of Object.values(fields)) f.setError(null);
      name.control.value = "";
      role.control.value = "";
      showLink(res.participant, res.code);
    });
  });
  clear(slot, form);
}

/** An invitation link, once: the address, a Copy button and the QR code. */
function linkCard(p: Participant, code: string): HTMLElement {
  const link = `${location.origin}/#/join/${encodeURIComponent(code)}`;
  const id = `link-${p.id}-${code.slice(0, 6)}`;
  const status = h("span", { class: "copy-status", role: "status" });
  const img = h("img", { class: "qr", alt: T("qr", { name: p.displayName }), width: 160, height: 160 });
  QRCode.toDataURL(link, { margin: 1, width: 160 }).then((url) => (img.src = url)).catch(() => img.remove());
  return h(
    "div",
    { class: "link-card panel", "data-participant": p.id },
    h("h3", { id: `${id}-h` }, T("linkFor", { name: p.displayName, role: roleName(p.role) })),
    h("div", { class: "link-row" },
      h("div", {},
        h("p", {}, h("code", { class: "invite-link", id }, link)),
        button(T("copy"), () => {
          navigator.clipboard.writeText(link).then(
            () => (status.textContent = T("copied")),
            () => (status.textContent = T("copyFailed")),
          );
        }, "secondary", { class: "button button-secondary copy-link", "aria-label": T("copyFor", { name: p.displayName }), "aria-describedby": id }),
        status,
      ),
      img,
    ),
  );
}

function drawCancel(slot: HTMLElement, hr: Hearing): void {
  if (isOver(hr.state)) {
    clear(slot, hr.state === HearingState.CANCELLED ? notice("success", T("cancelled")) : null);
    return;
  }
  const reason = field(T("reason"), h("textarea", { name: "reason", rows: 3 }), T("reasonHint"));
  const errors = h("div");
  const confirm = h("div");
  const form = h("form", { novalidate: true, id: "cancel-form" }, h("h2", { id: "cancel-h" }, T("cancel")), errors, reason.el, confirm, h("button", { type: "submit", class: "button button-warning", id: "cancel-start" }, T("cancel")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const why = reason.control.value.trim();
    if (!why) {
      showRefusal(errors, T("problem"), { code: 3, detail: "", text: T("missingReason"), field: "reason" }, { reason });
      return;
    }
    clear(errors);
    reason.setError(null);
    const yes = button(T("cancelYes"), () =>
      void busy(form, async () => {
        const done = await attempt(() => api.hearings.cancelHearing({ hearingId: hr.id, reason: why }), (r) => showRefusal(errors, T("problem"), r, { reason }));
        if (done) clear(slot, h("h2", { id: "cancel-h" }, T("cancel")), notice("success", T("cancelled")));
      }), "warning", { class: "button button-warning", id: "cancel-yes" });
    clear(confirm, h("div", { class: "notice notice-warning", role: "alert" }, h("p", {}, T("cancelWarn")), h("div", { class: "button-group" }, yes, button(T("cancelNo"), () => clear(confirm), "secondary"))));
    queueMicrotask(() => yes.focus());
  });
  clear(slot, form);
}
