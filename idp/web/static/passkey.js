// passkey.js: passkeys on Fullmakt's login pages, the only script of the pages.
//
// The pages work without it: the passkey controls are in the page but hidden
// (the `hidden` attribute), with a note that passkeys need a browser with
// JavaScript. Where the browser has WebAuthn, this script shows the controls and
// hides the note.
//
// What it looks for:
//   <button type="button" data-passkey="login" data-flow="…" data-csrf="…">
//   <button type="button" data-passkey="step-up" data-flow="…" data-csrf="…">
//   <button type="button" data-passkey="register" data-csrf="…" data-name="<id of the name input>">
//   [data-passkey-ui]   hidden until the browser is known to support passkeys
//   [data-js-needed]    the note for browsers without, hidden when supported
//   [data-passkey-status]  the aria-live element for messages; focused on failure.
//                      data-flow and data-csrf on it start the browser's passkey
//                      autofill when the page has <input autocomplete="… webauthn">.
//                      data-msg-failed is the text for a network failure.
//
// A ceremony is two requests: POST <endpoint>/options gives {ceremony, options,
// messages}; the browser makes or uses the passkey; POST <endpoint>/verify with
// the credential gives {redirect}. A refusal is application/problem+json, whose
// detail (plain language, in the page's language) is shown as it is.
(function () {
  "use strict";

  var endpoints = {
    login: "/login/passkey",
    "step-up": "/login/step-up",
    register: "/account/passkeys"
  };

  // Texts for the rare case where the server could not be reached at all, so it
  // gave no text of its own (the page's data-msg-failed is preferred).
  var unreachable = {
    nb: "Noe gikk galt. Sjekk internettforbindelsen og prøv igjen.",
    nn: "Noko gjekk gale. Sjekk internettsambandet og prøv igjen.",
    en: "Something went wrong. Check your internet connection and try again."
  };

  function supported() {
    return typeof window.PublicKeyCredential === "function" &&
      !!navigator.credentials && typeof navigator.credentials.get === "function" &&
      typeof window.fetch === "function";
  }

  // --- base64url ------------------------------------------------------------

  function fromB64url(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // --- options: JSON → navigator.credentials arguments ----------------------

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: fromB64url(d.id) };
      if (d.transports) {
        out.transports = d.transports;
      }
      return out;
    });
  }

  function creationArgs(json) {
    var pk = json.publicKey;
    var publicKey;
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(pk);
    } else {
      publicKey = Object.assign({}, pk, {
        challenge: fromB64url(pk.challenge),
        user: Object.assign({}, pk.user, { id: fromB64url(pk.user.id) }),
        excludeCredentials: descriptors(pk.excludeCredentials)
      });
    }
    return { publicKey: publicKey };
  }

  function requestArgs(json, signal) {
    var pk = json.publicKey;
    var publicKey;
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(pk);
    } else {
      publicKey = Object.assign({}, pk, {
        challenge: fromB64url(pk.challenge),
        allowCredentials: descriptors(pk.allowCredentials)
      });
    }
    var args = { publicKey: publicKey };
    if (json.mediation) {
      args.mediation = json.mediation;
    }
    if (signal) {
      args.signal = signal;
    }
    return args;
  }

  // --- the credential → JSON --------------------------------------------------

  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      try {
        return cred.toJSON();
      } catch (e) {
        // Some password managers return credentials whose toJSON throws: encode
        // by hand below.
      }
    }
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: typeof cred.getClientExtensionResults === "function" ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (typeof r.getTransports === "function") {
        out.response.transports = r.getTransports();
      }
      if (typeof r.getAuthenticatorData === "function") {
        out.response.authenticatorData = toB64url(r.getAuthenticatorData());
      }
      if (typeof r.getPublicKey === "function") {
        var key = r.getPublicKey();
        if (key) {
          out.response.publicKey = toB64url(key);
        }
      }
      if (typeof r.getPublicKeyAlgorithm === "function") {
        out.response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
      }
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64url(r.userHandle);
      }
    }
    return out;
  }

  // --- the server -------------------------------------------------------------

  // Problem is a refusal the server explained (its detail is shown as it is).
  function Problem(detail) {
    this.detail = detail;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json, application/problem+json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () {
        return null;
      }).then(function (data) {
        if (!res.ok) {
          throw new Problem(data && typeof data.detail === "string" ? data.detail : "");
        }
        if (!data) {
          throw new Problem("");
        }
        return data;
      });
    });
  }

  // A redirect the server gave: a path on this site, never elsewhere.
  function localPath(p) {
    return typeof p === "string" && p.charAt(0) === "/" && p.charAt(1) !== "/" && p.charAt(1) !== "\\";
  }

  // --- messages ----------------------------------------------------------------

  function statusElement() {
    return document.querySelector("[data-passkey-status]");
  }

  function say(text, failed) {
    var el = statusElement();
    if (!el) {
      return;
    }
    el.textContent = text || "";
    if (failed) {
      el.setAttribute("data-state", "error");
      el.focus();
    } else {
      el.removeAttribute("data-state");
    }
  }

  function fallbackText() {
    var el = statusElement();
    if (el && el.getAttribute("data-msg-failed")) {
      return el.getAttribute("data-msg-failed");
    }
    var lang = (document.documentElement.lang || "nb").slice(0, 2);
    return unreachable[lang] || unreachable.en;
  }

  // --- ceremonies ---------------------------------------------------------------

  var busy = false;
  var autofill = null; // the AbortController of a pending autofill request

  // run does one ceremony of kind with the request fields; signal aborts it;
  // quiet keeps a cancel silent (the autofill's).
  function run(kind, fields, signal, quiet) {
    var base = endpoints[kind];
    var messages = {};
    return post(base + "/options", fields).then(function (answer) {
      messages = answer.messages || {};
      var ceremony = answer.ceremony;
      if (!quiet) {
        say(messages.working);
      }
      var pending = kind === "register" ?
        navigator.credentials.create(creationArgs(answer.options)) :
        navigator.credentials.get(requestArgs(answer.options, signal));
      return pending.then(function (cred) {
        if (!cred) {
          throw new DOMException("no credential", "NotAllowedError");
        }
        var body = Object.assign({}, fields, { ceremony: ceremony, response: credentialJSON(cred) });
        delete body.conditional;
        return post(base + "/verify", body);
      });
    }).then(function (done) {
      if (!localPath(done.redirect)) {
        throw new Problem("");
      }
      say(messages.done);
      window.location.assign(done.redirect);
    }).catch(function (err) {
      if (err instanceof Problem) {
        say(err.detail || messages.failed || fallbackText(), true);
        return;
      }
      var name = err && err.name;
      if (name === "AbortError" || (quiet && name === "NotAllowedError")) {
        return; // the page aborted it, or the person left the autofill alone
      }
      if (name === "NotAllowedError") {
        say(messages.cancelled, true);
      } else if (name === "InvalidStateError" && kind === "register") {
        say(messages.exists, true);
      } else {
        say(messages.failed || fallbackText(), true);
      }
    });
  }

  function fieldsOf(button) {
    var kind = button.getAttribute("data-passkey");
    var fields = { csrf: button.getAttribute("data-csrf") || "" };
    if (kind === "register") {
      var input = document.getElementById(button.getAttribute("data-name") || "");
      fields.name = input ? input.value : "";
    } else {
      fields.flow = button.getAttribute("data-flow") || "";
    }
    if (kind === "login") {
      fields.conditional = false;
    }
    return fields;
  }

  function onClick(event) {
    var button = event.currentTarget;
    var kind = button.getAttribute("data-passkey");
    if (busy || !endpoints[kind]) {
      return;
    }
    busy = true;
    button.setAttribute("aria-busy", "true");
    // Only one WebAuthn request at a time: the button's replaces the autofill's.
    if (autofill) {
      autofill.abort();
      autofill = null;
    }
    say("");
    run(kind, fieldsOf(button)).then(function () {
      busy = false;
      button.removeAttribute("aria-busy");
    });
  }

  // startAutofill offers the person's passkeys in the browser's autofill of an
  // <input autocomplete="username webauthn">, where the browser can.
  function startAutofill() {
    var input = document.querySelector("input[autocomplete~='webauthn']");
    var holder = document.querySelector("[data-passkey-status][data-flow]") ||
      document.querySelector("[data-passkey='login'][data-flow]");
    if (!input || !holder || typeof PublicKeyCredential.isConditionalMediationAvailable !== "function" ||
      typeof AbortController !== "function") {
      return;
    }
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available) {
        return;
      }
      var controller = new AbortController();
      autofill = controller;
      run("login", {
        flow: holder.getAttribute("data-flow") || "",
        csrf: holder.getAttribute("data-csrf") || "",
        conditional: true
      }, controller.signal, true).then(function () {
        if (autofill === controller) {
          autofill = null;
        }
      });
    }).catch(function () {
      // No autofill: the page's other ways still work.
    });
  }

  function start() {
    if (!supported()) {
      return;
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-ui], [data-passkey]"), function (el) {
      el.hidden = false;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-js-needed]"), function (el) {
      el.hidden = true;
    });
    Array.prototype.forEach.call(document.querySelectorAll("button[data-passkey]"), function (button) {
      button.addEventListener("click", onClick);
    });
    // Enter in the name field adds the passkey, as in a form.
    Array.prototype.forEach.call(document.querySelectorAll("button[data-passkey='register'][data-name]"), function (button) {
      var input = document.getElementById(button.getAttribute("data-name"));
      if (input) {
        input.addEventListener("keydown", function (event) {
          if (event.key === "Enter") {
            event.preventDefault();
            button.click();
          }
        });
      }
    });
    startAutofill();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
