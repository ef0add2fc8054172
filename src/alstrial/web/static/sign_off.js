// Casebook sign-off: keep the statement and the digest posted in step with the choices made.
// The server checks the digest against the casebook as it is when signing.
(function () {
  "use strict";
  var form = document.getElementById("sign-form");
  if (!form) { return; }
  var scope = document.getElementById("scope");
  var digest = document.getElementById("content_sha256");
  var text = document.getElementById("meaning-text");

  function update() {
    form.querySelectorAll("input.digest").forEach(function (el) {
      if (el.getAttribute("data-scope") === scope.value) { digest.value = el.value; }
    });
    var chosen = form.querySelector('input[name="meaning"]:checked');
    if (chosen) { text.textContent = chosen.getAttribute("data-text"); }
  }
  form.addEventListener("change", update);
  update();
}());
