// Small helpers for building the page's DOM, and the shared pieces of its visual language:
// headings, notices (info, success, warning, error), the error summary that links to each
// field, form fields with hint and error, buttons, tags and tables. Styles: web/ui/style.css.
import { fill } from "./i18n";
import type { Refusal } from "./api";

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined | null>;

/** `h("button", { class: "button", onclick: go }, "Open")`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

export function clear(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
/** A fresh element id, for labels and aria references. */
export const uid = (prefix: string) => `${prefix}-${++ids}`;

/** The screen's one h1, focused on arrival so a screen reader announces the new screen. */
export function title(text: string, caption?: string): HTMLElement {
  const h1 = h("h1", { class: "title", tabindex: -1 }, caption ? h("span", { class: "caption" }, caption) : null, text);
  queueMicrotask(() => h1.focus({ preventScroll: true }));
  return h1;
}

export type NoticeKind = "info" | "success" | "warning" | "error";

/** A notice banner; warnings and errors are announced (role=alert), the rest politely. */
export function notice(kind: NoticeKind, text: string | Node, heading?: string): HTMLElement {
  return h(
    "div",
    { class: `notice notice-${kind}`, role: kind === "error" || kind === "warning" ? "alert" : "status" },
    heading ? h("p", { class: "notice-heading" }, heading) : null,
    typeof text === "string" ? h("p", {}, text) : text,
  );
}

/** A form field: label, optional hint, the control, and room for its error message. */
export interface Field {
  el: HTMLElement;
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  setError(text: string | null): void;
}

export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): Field {
  if (!control.id) control.id = uid("f");
  const hintEl = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  const error = h("p", { class: "field-error", id: `${control.id}-error`, hidden: true });
  const el = h("div", { class: "field" }, h("label", { for: control.id }, label), hintEl, error, control);
  const describe = () =>
    control.setAttribute("aria-describedby", [hintEl?.id, error.hidden ? null : error.id].filter(Boolean).join(" "));
  describe();
  return {
    el,
    control,
    setError(text) {
      error.hidden = !text;
      error.textContent = text ?? "";
      el.classList.toggle("field-invalid", !!text);
      if (text) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
      describe();
    },
  };
}

/** An error summary at the top of a form: each problem links to its field (GOV.UK pattern). */
export function errorSummary(heading: string, problems: { text: string; field?: Field }[]): HTMLElement {
  const box = h(
    "div",
    { class: "error-summary", role: "alert", tabindex: -1 },
    h("h2", { class: "error-summary-title" }, heading),
    h(
      "ul",
      {},
      problems.map((p) =>
        h(
          "li",
          {},
          p.field
            ? h("a", { href: `#${p.field.control.id}`, onclick: (e: Event) => { e.preventDefault(); p.field!.control.focus(); } }, p.text)
            : p.text,
        ),
      ),
    ),
  );
  queueMicrotask(() => box.focus());
  return box;
}

/** Shows a refusal in a form: in the summary, and on the field it names when the form has it. */
export function showRefusal(slot: HTMLElement, heading: string, r: Refusal, fields: Record<string, Field> = {}): void {
  for (const f of Object.values(fields)) f.setError(null);
  const f = r.field ? fields[r.field] : undefined;
  f?.setError(r.text);
  clear(slot, errorSummary(heading, [{ text: r.text, field: f }]));
}

export function button(text: string, onclick: (e: Event) => void, kind: "primary" | "secondary" | "warning" | "link" = "primary", attrs: Attrs = {}): HTMLButtonElement {
  return h("button", { type: "button", class: `button button-${kind}`, onclick, ...attrs }, text);
}

/** A small status tag (e.g. a hearing's state), coloured by `tone`. */
export function tag(text: string, tone: "grey" | "blue" | "green" | "red" | "yellow" | "purple" = "grey"): HTMLElement {
  return h("strong", { class: `tag tag-${tone}` }, text);
}

/** Disables a form's buttons while `work` runs (no double submits), and marks it busy. */
export async function busy<R>(form: HTMLElement, work: () => Promise<R>): Promise<R> {
  const controls = [...form.querySelectorAll("button")];
  controls.forEach((b) => (b.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    controls.forEach((b) => (b.disabled = false));
    form.removeAttribute("aria-busy");
  }
}

/** The loading state of a screen or panel. */
export const loading = (text: string) => h("p", { class: "loading", role: "status" }, text);
/** The empty state of a list. */
export const empty = (text: string) => h("p", { class: "empty" }, text);

export { fill };
