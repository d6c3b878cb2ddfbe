import type { IRouter } from "express";
import { LOGIN_PAGE_HTML, LOGIN_PAGE_SCRIPT } from "../login-page.ts";

/** The small login page: GET / and its script, and an empty favicon. */
export function pageRoutes(router: IRouter): void {
  router.get("/", (_req, res) => {
    res.type("html").send(LOGIN_PAGE_HTML);
  });
  router.get("/login.js", (_req, res) => {
    res.type("js").send(LOGIN_PAGE_SCRIPT);
  });
  // Browsers ask for it on every page; an empty answer keeps their consoles and the 404 metrics clean.
  router.get("/favicon.ico", (_req, res) => {
    res.status(204).end();
  });
}
