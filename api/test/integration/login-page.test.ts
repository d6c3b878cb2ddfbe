import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { ADMIN, startApiOnTestDatabase, type ApiOnDatabase, type RunningApi } from "../support.ts";

describe("the login page in a real browser", () => {
  let running: ApiOnDatabase;
  let api: RunningApi;
  let browser: Browser;

  before(async () => {
    running = await startApiOnTestDatabase("page");
    api = running.api;
    browser = await chromium.launch({
      executablePath: process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  });
  after(async () => {
    await browser.close();
    await running.close();
  });

  it("logs in, shows the user id and email, and logs out", async () => {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    await page.goto(api.url);
    await page.fill("#email", ADMIN.email);
    await page.fill("#password", ADMIN.password);
    await page.click("button[type=submit]");
    await page.waitForSelector("#session:not([hidden])");
    assert.match((await page.textContent("#user-id")) ?? "", /^\d+$/);
    assert.equal(await page.textContent("#user-email"), ADMIN.email);

    await page.click("#logout");
    await page.waitForSelector("#login-form:not([hidden])");
    assert.equal(await page.isHidden("#session"), true);
    assert.ok(api.logs().some((l) => l["action"] === "logout"));
    assert.deepEqual(consoleErrors, [], "no script errors (the CSP allows the page's own script)");
  });

  it("shows the API's error message on wrong credentials", async () => {
    const page = await browser.newPage();
    await page.goto(api.url);
    await page.fill("#email", ADMIN.email);
    await page.fill("#password", "wrong");
    await page.click("button[type=submit]");
    await page.locator("#error:not(:empty)").waitFor();
    assert.equal(await page.textContent("#error"), "email or password is incorrect");
    assert.equal(await page.isHidden("#session"), true);
  });
});
