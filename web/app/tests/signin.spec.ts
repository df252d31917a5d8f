// The start screen: both languages pass axe-core; a wrong invitation code and a wrong password
// are refused in words, on the field; a judge who signs in reaches the docket.
import { test, expect, expectAccessible, screenshot } from "./harness";

test("the start screen, in English and Chinese, refuses bad codes and passwords in words", async ({ server, people }) => {
  const visitor = await people("visitor");
  const page = visitor.page;
  await page.goto(`${server.url}/?lang=en`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Take part in a court hearing online");
  await expectAccessible(page, "start");
  await screenshot(page, "start-en");

  // An empty code: the error summary links to the field.
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("alert")).toContainText("Enter your invitation code");
  await expectAccessible(page, "start with an error");

  await page.getByRole("button", { name: "中文" }).click();
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("在线参加法院庭审");
  await expectAccessible(page, "start (zh)");
  await screenshot(page, "start-zh");

  // A wrong password, in Chinese.
  await page.getByLabel("用户名").fill("judge");
  await page.getByLabel("密码").fill("not-the-password");
  await page.getByRole("button", { name: "登录" }).click();
  await expect(page.getByRole("alert")).toContainText("用户名或密码不正确");

  await page.getByRole("button", { name: "English" }).click();
  await page.getByLabel("User name").fill("judge");
  await page.getByLabel("Password").fill("pw-judge-0123456789");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/#\/docket$/);
  await expect(page.locator(".who")).toContainText("Judge Wang");
});
