// Placeholder: this screen is being built (issue 14).
import { clear, h } from "../dom";

export function render(root: HTMLElement, params: Record<string, string>): void {
  clear(root, h("h1", { class: "title" }, "manage"), h("pre", {}, JSON.stringify(params)));
}
