// Customer form: show personal fields for a private customer, company fields for a company.
(function () {
  var kind = document.querySelector("select[name=kind]");
  if (!kind) { return; }
  function toggle() {
    document.querySelectorAll("[data-kind]").forEach(function (input) {
      var column = input.closest("[class*=col-]") || input;
      column.hidden = input.dataset.kind !== kind.value;
    });
  }
  kind.addEventListener("change", toggle);
  toggle();
})();
