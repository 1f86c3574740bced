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
  // Destructive actions ask first.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
