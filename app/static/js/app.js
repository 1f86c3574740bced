// Behaviour kept out of the HTML so the Content-Security-Policy can forbid inline script.
document.addEventListener("DOMContentLoaded", () => {
  // A create form's one-time token (app/forms.py SubmissionInput): set by script so that the
  // browser restores it with the rest of the form after Back; a restored one is kept.
  document.querySelectorAll("input[data-submission]").forEach((input) => {
    if (!input.value) input.value = input.dataset.submission;
  });
  // Language selector: switch as soon as a language is picked.
  document.querySelectorAll("form.js-autosubmit select").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
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
});
