// The court panel's small forms: a reason (going off the record, standing down, removing,
// adjourning) with its confirming button, and the message to the waiting room (1 to 500
// characters). Refusals show in an error summary and on the field the server names.
import { attempt } from "../api";
import { button, busy, clear, field, h, notice, showRefusal, uid } from "../dom";
import { strings } from "../i18n";

const T = strings(
  {
    problem: "There is a problem",
    reasonMissing: "Enter a reason",
    cancel: "Cancel",
    message: "Message to the waiting room",
    messageHint: "Everyone waiting to be admitted sees it, for example “We start at 10:15.” Up to 500 characters.",
    messageMissing: "Enter a message",
    messageTooLong: "The message must be 500 characters or fewer (it has {n})",
    send: "Send to the waiting room",
    sent: "Message sent to the waiting room.",
  },
  {
    problem: "出现问题",
    reasonMissing: "请填写理由",
    cancel: "取消",
    message: "发给候庭室的消息",
    messageHint: "所有等待入庭的人都能看到，例如“10:15 开庭”。最多 500 个字符。",
    messageMissing: "请输入消息",
    messageTooLong: "消息不能超过 500 个字符（当前 {n} 个）",
    send: "发送到候庭室",
    sent: "消息已发送到候庭室。",
  },
);

export interface ReasonFormOptions {
  label: string;
  /** The confirming button's text (the second step of a consequential action). */
  confirm: string;
  required: boolean;
  kind: "primary" | "warning";
  /** Said above the field, for actions that cannot be undone. */
  warn?: string;
  send: (reason: string) => Promise<unknown>;
  done: () => void;
}

/** Asks for a reason, then sends it; the field is focused when the form appears. */
export function reasonForm(o: ReasonFormOptions): HTMLElement {
  const reason = field(o.label, h("input", { name: "reason", autocomplete: "off" }));
  const errors = h("div");
  const form = h(
    "form",
    { class: "reason-form", novalidate: true },
    errors,
    o.warn ? notice("warning", o.warn) : null,
    reason.el,
    h("div", { class: "button-group" }, h("button", { type: "submit", class: `button button-${o.kind}` }, o.confirm), button(T("cancel"), o.done, "link")),
  );
  const fields = { reason };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = reason.control.value.trim();
    if (o.required && !text) {
      showRefusal(errors, T("problem"), { code: 3, text: T("reasonMissing"), field: "reason", detail: "" }, fields);
      return;
    }
    void busy(form, async () => {
      const ok = await attempt(() => o.send(text), (r) => showRefusal(errors, T("problem"), r, fields));
      if (ok !== null) o.done();
    });
  });
  queueMicrotask(() => reason.control.focus());
  return form;
}

/** The court's message to the waiting room. */
export function messageForm(send: (text: string) => Promise<unknown>): HTMLElement {
  const id = uid("wr-message");
  const text = field(T("message"), h("textarea", { name: "text", id, rows: 2 }), T("messageHint"));
  const errors = h("div");
  const result = h("div");
  const form = h("form", { class: "message-form", novalidate: true }, errors, text.el, h("button", { type: "submit", class: "button button-secondary" }, T("send")), result);
  const fields = { text };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clear(result);
    const value = text.control.value.trim();
    const problem = !value ? T("messageMissing") : [...value].length > 500 ? T("messageTooLong", { n: [...value].length }) : null;
    if (problem) {
      showRefusal(errors, T("problem"), { code: 3, text: problem, field: "text", detail: "" }, fields);
      return;
    }
    void busy(form, async () => {
      const ok = await attempt(() => send(value), (r) => showRefusal(errors, T("problem"), r, fields));
      if (ok === null) return;
      text.setError(null);
      clear(errors);
      text.control.value = "";
      clear(result, notice("success", T("sent")));
    });
  });
  return form;
}
