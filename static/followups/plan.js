// The plan page: a header checkbox ticks or clears every task of its table.
document.querySelectorAll("input[data-select-all]").forEach(function (all) {
  all.addEventListener("change", function () {
    document.querySelectorAll("input[name=" + all.dataset.selectAll + "]").forEach(function (box) {
      box.checked = all.checked;
    });
  });
});
