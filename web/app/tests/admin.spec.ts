// The administrator: signs in to the staff accounts (not a refusal), disables the clerk after a
// confirmation (the clerk's sign-in is then refused in the page's words), and enables them again.
import { Code, ConnectError } from "@connectrpc/connect";
import { test, expect, expectAccessible, screenshot, clients, STAFF, type StaffName } from "./harness";
import type { Page } from "@playwright/test";

async function signIn(page: Page, url: string, who: StaffName): Promise<void> {
  await page.goto(`${url}/?lang=en#/`);
  await page.getByLabel("User name").fill(who);
  await page.getByLabel("Password").fill(STAFF[who][0]);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("the admin disables the clerk, whose sign-in is refused in words, and enables them again", async ({ server, people }) => {
  const admin = await people("admin");
  const page = admin.page;
  await signIn(page, server.url, "admin");
  await expect(page).toHaveURL(/#\/admin$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Staff accounts");
  const clerkRow = page.locator('tr[data-username="clerk"]');
  await expect(clerkRow).toContainText("Clerk Zhao");
  await expect(clerkRow).toContainText("Enabled");
  for (const who of ["judge", "judge2", "admin"]) await expect(page.locator(`tr[data-username="${who}"]`)).toBeVisible();
  await expect(page.locator('tr[data-username="admin"]')).toContainText("This is you");
  await expect(page.getByRole("alert")).toHaveCount(0);
  await expectAccessible(page, "admin");
  await screenshot(page, "admin");

  // Disabling asks first; "do not change" changes nothing.
  await clerkRow.getByRole("button", { name: "Disable Clerk Zhao" }).click();
  await expect(page.getByRole("alert")).toContainText("Disable Clerk Zhao's account?");
  await expectAccessible(page, "admin confirming");
  await page.getByRole("button", { name: "Do not change" }).click();
  await expect(clerkRow).toContainText("Enabled");
  const clerkApi = await server.as("clerk");
  await clerkRow.getByRole("button", { name: "Disable Clerk Zhao" }).click();
  await page.getByRole("button", { name: "Yes, disable the account" }).click();
  await expect(page.locator("#admin-outcome")).toContainText("Clerk Zhao's account is disabled. Sessions ended: 1.");
  await expect(clerkRow).toContainText("Disabled");
  // The clerk's session ended at once.
  const after = await clerkApi.cases.listCases({}).catch((e) => ConnectError.from(e));
  expect(after instanceof ConnectError && after.code).toBe(Code.Unauthenticated);

  const clerk = await people("clerk");
  await signIn(clerk.page, server.url, "clerk");
  await expect(clerk.page.locator(".error-summary")).toContainText("This account is disabled. Ask the court's administrator.");
  await expect(clerk.page).not.toHaveURL(/#\/docket$/);

  await page.getByRole("button", { name: "中文" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("工作人员账户");
  await expect(clerkRow).toContainText("已停用");
  await expectAccessible(page, "admin (zh)");
  await clerkRow.getByRole("button", { name: "启用 Clerk Zhao" }).click();
  await page.getByRole("button", { name: "确认启用" }).click();
  await expect(page.locator("#admin-outcome")).toContainText("Clerk Zhao 的账户已启用");
  await expect(clerkRow).toContainText("已启用");

  await clerk.page.getByRole("button", { name: "Sign in" }).click();
  await expect(clerk.page).toHaveURL(/#\/docket$/);
  expect((await clients(server.url).auth.login({ username: "clerk", password: STAFF.clerk[0] })).user?.displayName).toBe("Clerk Zhao");
});
