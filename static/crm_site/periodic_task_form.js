// The admin's periodic task form: under the crontab field, the chosen schedule in words
// (django-celery-beat's inline script, as a file the Content Security Policy allows).
(function () {
  var $ = django.jQuery;
  var readable = JSON.parse(document.getElementById("readable-crontabs").textContent);
  var help = $(".field-crontab .help");
  var original = help.html();
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    help.html(original + "<br/>" + readable[$("#id_crontab").val()]);
  });
})();
