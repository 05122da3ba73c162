// A checkbox with data-select-all="NAME" ticks or clears every checkbox named NAME of its
// form (the site's CSP forbids inline handlers, so the behaviour lives here).
document.addEventListener("change", (event) => {
  const box = event.target.closest("input[type=checkbox][data-select-all]");
  if (!box) return;
  const scope = box.form || document;
  scope.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`)
    .forEach((other) => { other.checked = box.checked; });
});
