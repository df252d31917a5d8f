// Moving between screens, for any module: the router in main.ts listens.
import { isStaff, myRole } from "./api";
import { Role } from "./gen/court/v1/common_pb";

/** Goes to `path` (e.g. "/hearing/ID"); the router draws it (again, if it is the current one). */
export function go(path: string): void {
  if (location.hash === `#${path}`) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = path;
}

/** Where a signed-in person starts: administrators manage accounts, the court its docket. */
export function home(): string {
  if (!isStaff()) return "/";
  return myRole() === Role.ADMIN ? "/admin" : "/docket";
}

/** Tells the shell that who is signed in changed (the header redraws). */
export function sessionChanged(): void {
  window.dispatchEvent(new Event("oc-session"));
}
