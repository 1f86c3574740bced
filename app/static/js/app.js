// Behaviour kept out of the HTML so the Content-Security-Policy can forbid inline script.
document.addEventListener("DOMContentLoaded", () => {
  // A create form's one-time token (app/forms.py SubmissionInput): set by script so that the
  // browser restores it with the rest of the form after Back; a restored one is kept.
  document.querySelectorAll("input[data-submission]").forEach((input) => {
    if (!input.value) input.value = input.dataset.submission;
  });
  // Language selector: switch as soon as a language is picked - after asking, when the page
  // holds typed input that is not saved (a form changed here, or one sent back with problems or
  // a clash): the switch reloads the page from the server (issue 9, trial 6).
  let typed = false;
  document.querySelectorAll("form[method=post]:not(.js-autosubmit)").forEach((form) => {
    form.addEventListener("input", () => { typed = true; });
    form.addEventListener("submit", () => { typed = false; });
  });
  document.querySelectorAll("form.js-autosubmit select").forEach((select) => {
    const initial = select.value;
    select.addEventListener("change", () => {
      const unsaved = typed || document.querySelector(".is-invalid, .invalid-feedback.d-block");
      if (unsaved && select.form.dataset.unsavedText && !window.confirm(select.form.dataset.unsavedText)) {
        select.value = initial;
        return;
      }
      select.form.submit();
    });
  });
  // "Back to the form" on an error page (a file too large): the browser's own Back, which
  // brings the form back as it was typed; its link reloads it empty (issue 10, trial 10).
  document.querySelectorAll("a[data-history-back]").forEach((link) => {
    link.addEventListener("click", (event) => {
      if (window.history.length > 1 && document.referrer === link.href) {
        event.preventDefault();
        window.history.back();
      }
    });
  });
  // A text area's length against its limit ("1,234 of 2,000 characters"), as the user types.
  const grouped = new Intl.NumberFormat();
  document.querySelectorAll("[data-char-count]").forEach((counter) => {
    const area = document.getElementById(counter.dataset.charCount);
    if (!area) return;
    const show = () => {
      counter.textContent = counter.dataset.template
        .replace("%(used)s", grouped.format(area.value.length))
        .replace("%(max)s", grouped.format(Number(counter.dataset.max)));
      counter.classList.toggle("text-danger", area.value.length >= Number(counter.dataset.max));
    };
    area.addEventListener("input", show);
    if (area.value) show();
    window.addEventListener("pageshow", () => { if (area.value) show(); });  // text brought back by Back
  });
  // A form sent back with problems: bring the first one into view (on a phone the form may be
  // thousands of pixels below the top of the page, and the reply opened at the top).
  // After "load": the web font and the styles move the form down once they arrive.
  const invalid = document.querySelector(".is-invalid");
  if (invalid && !window.location.hash) {
    window.addEventListener("load", () => {
      invalid.scrollIntoView({ block: "center" });
      invalid.focus({ preventScroll: true });
    });
  }
  // Destructive actions ask first.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  document.querySelectorAll("button[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
  document.querySelectorAll("form[data-autosave]").forEach(autosave);
  // Fields that only matter for one choice of a radio group (data-shown-when="name:value"):
  // hidden while another is chosen. Without script every field shows, and the server ignores
  // those that do not apply.
  document.querySelectorAll("[data-shown-when]").forEach((el) => {
    const [name, value] = el.dataset.shownWhen.split(":");
    const form = el.closest("form");
    const update = () => {
      const chosen = form.querySelector(`input[name="${name}"]:checked`);
      el.hidden = Boolean(chosen) && chosen.value !== value;
    };
    form.querySelectorAll(`input[name="${name}"]`).forEach((r) => r.addEventListener("change", update));
    update();
  });
  // An audit no longer being conducted: what the phone kept of its draft is of no use now.
  document.querySelectorAll("[data-forget-draft]").forEach((el) => {
    try {
      Object.keys(localStorage).filter((k) => k.startsWith(el.dataset.forgetDraft))
        .forEach((k) => localStorage.removeItem(k));
    } catch (e) { /* ignore */ }
  });
});

// An audit conducted on a phone (templates/audits/conduct.html): every change is kept on the
// phone at once (localStorage) and posted every few seconds; what the server has is cleared
// from the phone. A lost connection or an expired sign-in loses nothing: the answers stay on
// the phone and are put back when the page is opened again.
function autosave(form) {
  const key = form.dataset.autosaveKey;
  const status = document.querySelector("[data-autosave-status]");
  const offline = document.querySelector("[data-autosave-offline]");
  let dirty = false;
  let saving = false;
  const fields = () => Array.from(form.elements).filter((el) => el.name && !el.name.startsWith("was-")
    && el.name !== "csrf_token" && el.name !== "version" && el.type !== "submit" && el.type !== "file");
  const snapshot = () => {
    const values = {};
    fields().forEach((el) => {
      if (el.type === "radio") { if (el.checked) values[el.name] = el.value; }
      else values[el.name] = el.value;
    });
    return values;
  };
  // With the answers, what the page knew the server had (the "was-" fingerprints): put back
  // later, they let the server tell an answer changed on another device since (a conflict,
  // named) from a new one (trial 7: a stale copy was saved over a newer answer).
  const knew = () => {
    const prints = {};
    form.querySelectorAll("input[name^='was-']").forEach((el) => { prints[el.name] = el.value; });
    return prints;
  };
  const keep = () => {
    try {
      localStorage.setItem(key, JSON.stringify({ at: Date.now(), values: snapshot(), knew: knew() }));
    } catch (e) { /* storage full: the server copy is still saved every few seconds */ }
  };
  const say = (text, warn) => {
    if (warn) {
      offline.textContent = text;
      offline.classList.remove("d-none");
      if (status) status.textContent = "";
    } else {
      offline.classList.add("d-none");
      if (status) status.textContent = text;
    }
  };
  // Put back what this phone had not saved yet.
  let kept = null;
  try { kept = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { kept = null; }
  const put = (values) => {
    Object.entries(values).forEach(([name, value]) => {
      form.querySelectorAll(`[name="${CSS.escape(name)}"]`).forEach((el) => {
        if (el.type === "radio") el.checked = el.value === value;
        else if (el.type !== "file") el.value = value;
      });
    });
  };
  if (kept && kept.values) {
    const differs = Object.entries(kept.values).some(([name, value]) => snapshot()[name] !== value)
      || Object.keys(snapshot()).some((name) => !(name in kept.values));
    if (differs) {
      put(kept.values);
      put(kept.knew || {});
      document.querySelector("[data-autosave-restored]")?.classList.remove("d-none");
      dirty = true;
    } else {
      try { localStorage.removeItem(key); } catch (e) { /* ignore */ }  // the server has all of it
    }
  }
  form.addEventListener("input", () => { dirty = true; keep(); });
  form.addEventListener("change", () => { dirty = true; keep(); });
  let shownErrors = "";
  const save = async () => {
    if (!dirty || saving) return true;
    saving = true;
    if (status) status.textContent = form.dataset.savingText;
    const sent = snapshot();
    try {
      const response = await fetch(form.dataset.autosave, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-Autosave": "1", "Accept": "application/json" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (!type.includes("application/json")) { say(form.dataset.signedOutText, true); return false; }
      const reply = await response.json();
      // A part the server refused is marked where it is, with the reason (trial 11).
      form.querySelectorAll("[data-autosave-error]").forEach((el) => el.remove());
      form.querySelectorAll(".is-invalid[data-autosave-marked]").forEach((el) => {
        el.classList.remove("is-invalid");
        delete el.dataset.autosaveMarked;
      });
      Object.entries(reply.errors || {}).forEach(([key, text]) => {
        const box = form.querySelector(`[name="${/^\d+$/.test(key) ? `note-${key}` : key}"]`);
        if (!box) return;
        box.classList.add("is-invalid");
        box.dataset.autosaveMarked = "1";
        const note = document.createElement("div");
        note.className = "text-danger small mt-1";
        note.dataset.autosaveError = key;
        note.textContent = text;
        box.insertAdjacentElement("afterend", note);
      });
      if (!reply.ok) {
        say(reply.message, true);
        const first = form.querySelector("[data-autosave-error]");
        const which = Object.keys(reply.errors || {}).join(",");
        if (first && which !== shownErrors) first.scrollIntoView({ block: "center" });  // once, not every save
        shownErrors = which;
        return false;
      }
      shownErrors = "";
      // Connected again: a photo left out still has to be chosen again, but not "no connection".
      form.ownerDocument.querySelectorAll("[data-photo-not-sent]").forEach((note) => {
        note.textContent = form.dataset.photoNotSentText;
      });
      // What another device saved meanwhile is shown as saved there: parts this page did not
      // touch catch up quietly; parts changed on both are named (reply.conflicts), and a text
      // typed here that lost is kept visible under its box, to copy (trial 9: it was gone).
      Object.entries(reply.on_file || {}).forEach(([id, answer]) => {
        const name = (reply.conflict_items || {})[id];
        if (name) {  // a clash: what this page had is kept in view under the item, to redo or copy
          const chosen = form.querySelector(`[name="value-${id}"]:checked`);
          const label = chosen ? form.querySelector(`label[for="${chosen.id}"]`)?.textContent.trim() : "";
          const note = form.querySelector(`[name="note-${id}"]`)?.value.trim() || "";
          const item = document.getElementById(`item-${id}`);
          if (item && (label || note)) {
            let kept = item.querySelector("[data-lost-text]");
            if (!kept) {
              kept = document.createElement("div");
              kept.className = "alert alert-secondary small py-1 mt-1 text-pre";
              kept.dataset.lostText = id;
              item.appendChild(kept);
            }
            kept.textContent = `${form.dataset.lostTextLabel} ${[label, note].filter(Boolean).join(" · ")}`;
          }
        }
        put({ [`value-${id}`]: answer.value, [`note-${id}`]: answer.note });
        form.querySelectorAll(`[name="value-${id}"]`).forEach((el) => { if (!answer.value) el.checked = false; });
      });
      Object.entries(reply.on_file_texts || {}).forEach(([name, text]) => {
        const box = form.querySelector(`[name="${name}"]`);
        if (box && (reply.clashed_texts || []).includes(name) && box.value.trim()) {
          let kept = form.querySelector(`[data-lost-text="${name}"]`);
          if (!kept) {
            kept = document.createElement("div");
            kept.className = "alert alert-secondary small py-1 mt-1 text-pre";
            kept.dataset.lostText = name;
            box.insertAdjacentElement("afterend", kept);
          }
          kept.textContent = `${form.dataset.lostTextLabel} ${box.value}`;
        }
        put({ [name]: text });
      });
      const changed = reply.conflicts || [];
      if (changed.length) {
        const names = Object.values(reply.conflict_items || {});
        say(reply.conflict_message + (names.length ? ` (${names.join("; ")})` : ""), true);
        offline.scrollIntoView({ block: "center" });
      }
      // What this page now knows the server has: the next save compares against it.
      Object.entries(reply.fingerprints || {}).forEach(([id, print]) => {
        const was = form.querySelector(`[name="was-${id}"]`);
        if (was) was.value = print;
      });
      const version = form.querySelector('[name="version"]');
      if (version && reply.version) version.value = reply.version;
      const score = document.querySelector("[data-autosave-score]");
      if (score && reply.score) score.textContent = reply.score;
      const missing = document.querySelector("[data-autosave-missing]");
      if (missing && Array.isArray(reply.missing)) {
        missing.classList.toggle("d-none", !reply.missing.length);
        missing.querySelector("[data-missing-title]").textContent = reply.missing_title || "";
        const list = missing.querySelector("ul");
        list.replaceChildren(...reply.missing.map((text) => {
          const li = document.createElement("li");
          li.textContent = text;
          return li;
        }));
      }
      if (JSON.stringify(sent) === JSON.stringify(snapshot())) {
        dirty = false;
        try { localStorage.removeItem(key); } catch (e) { /* ignore */ }
      }
      if (!changed.length) say(form.dataset.savedText.replace("%(time)s", reply.saved_at), false);
      if (dirty) keep();  // what this page holds now, with what it now knows is on file
      return !changed.length;  // after a conflict the user looks before anything is submitted
    } catch (e) {
      say(form.dataset.offlineText, true);
      return false;
    } finally {
      saving = false;
    }
  };
  window.setInterval(save, 10000);
  window.addEventListener("online", save);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") save(); });
  // A full post (Save draft, Submit) keeps the phone's copy until the page shows what the
  // server saved (above: an identical copy is then dropped); a post that never arrived - no
  // connection, signed out - loses nothing (trial 7). With script, both go through the same
  // save as the automatic one, so a conflict or a lost sign-in is handled on the page itself
  // (trial 8): "Save draft" saves in place, "Submit" saves and then sends the form.
  let submitting = false;
  let busy = false;  // a second tap while the first is still saving is ignored (trial 10)
  form.addEventListener("submit", async (event) => {
    if (submitting) { event.preventDefault(); return; }  // a second tap once sending: not a second post (trial 12)
    const button = event.submitter;
    event.preventDefault();
    if (busy) return;
    busy = true;
    let result;
    try {
      while (saving) await new Promise((done) => { window.setTimeout(done, 100); });
      dirty = true;
      result = await save();
    } finally {
      busy = false;
    }
    if (!result || !button || button.name !== "submit") return;
    try { localStorage.removeItem(key); } catch (e) { /* ignore */ }
    const flag = document.createElement("input");
    flag.type = "hidden";
    flag.name = "submit";
    flag.value = "1";
    form.appendChild(flag);
    submitting = true;
    HTMLFormElement.prototype.submit.call(form);
  });
  // A photo is sent by its own form: save the answers first, then send it.
  document.querySelectorAll("input[data-photo-input]").forEach((input) => {
    input.addEventListener("change", async () => {
      if (!input.files.length) return;
      // Save the answers first; without a connection or a sign-in the photo would take the
      // page away to an error (trial 9): it stays here, with the reason shown, to try again.
      dirty = true;
      if (!(await save()) && !offline.classList.contains("d-none")) {
        input.value = "";
        const reason = offline.textContent;
        say(`${form.dataset.photoNotSentText} ${reason}`, true);
        // Said at the item too, and kept there until a photo is added (trial 11: only the
        // banner said it, far up the page, and the next save cleared it).
        const item = input.closest("li[id^=item-]") || input.parentElement;
        let note = item.querySelector("[data-photo-not-sent]");
        if (!note) {
          note = document.createElement("div");
          note.className = "alert alert-warning small py-1 mt-1";
          note.dataset.photoNotSent = "1";
          note.setAttribute("role", "alert");
          (input.closest("label") || input).insertAdjacentElement("afterend", note);
        }
        note.textContent = `${form.dataset.photoNotSentText} ${reason}`;
        return;
      }
      document.getElementById(input.getAttribute("form")).submit();
    });
  });
}
