/**
 * The login page served at GET /: plain HTML and a few lines of script, no framework. The script is a
 * separate resource so the Content-Security-Policy can forbid inline scripts.
 */
export const LOGIN_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in</title>
  <style>
    body { font-family: system-ui, sans-serif; max-width: 26rem; margin: 4rem auto; padding: 0 1rem; }
    label { display: block; margin-top: 1rem; }
    input { width: 100%; padding: .5rem; box-sizing: border-box; }
    button { margin-top: 1rem; padding: .5rem 1rem; }
    #error { color: #b00020; min-height: 1.5rem; }
    [hidden] { display: none; }
  </style>
</head>
<body>
  <main>
    <h1>Sign in</h1>
    <form id="login-form">
      <label>Email <input id="email" name="email" type="email" autocomplete="username" required></label>
      <label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">Sign in</button>
    </form>
    <section id="session" hidden>
      <p>Signed in as <strong id="user-email"></strong> (user id <span id="user-id"></span>).</p>
      <button id="logout" type="button">Log out</button>
    </section>
    <p id="error" role="alert"></p>
  </main>
  <script src="/login.js"></script>
</body>
</html>
`;

export const LOGIN_PAGE_SCRIPT = `"use strict";
(() => {
  const form = document.getElementById("login-form");
  const session = document.getElementById("session");
  const error = document.getElementById("error");
  let token = null;

  const show = (signedIn) => { form.hidden = signedIn; session.hidden = !signedIn; };
  const fail = async (response) => {
    const body = await response.json().catch(() => null);
    error.textContent = body && body.error ? body.error.message : "Request failed (" + response.status + ")";
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const login = await fetch("/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: form.email.value, password: form.password.value }),
    });
    if (!login.ok) return fail(login);
    token = (await login.json()).token;
    const me = await fetch("/me", { headers: { Authorization: "Bearer " + token } });
    if (!me.ok) return fail(me);
    const user = await me.json();
    document.getElementById("user-id").textContent = String(user.userId);
    document.getElementById("user-email").textContent = user.email;
    form.password.value = "";
    show(true);
  });

  document.getElementById("logout").addEventListener("click", async () => {
    const response = await fetch("/logout", { method: "POST", headers: { Authorization: "Bearer " + token } });
    if (!response.ok && response.status !== 401) return fail(response);
    token = null;
    show(false);
  });
})();
`;
