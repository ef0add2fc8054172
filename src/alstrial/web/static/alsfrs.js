// ALSFRS-R form: live total and domain subscores, and the 5a/5b switch tied to gastrostomy.
// The server validates and scores again; this only helps the person entering the answers.
(function () {
  "use strict";
  var form = document.getElementById("alsfrs-form");
  if (!form) { return; }
  var domains = JSON.parse(form.getAttribute("data-domains"));
  var switchBox = document.getElementById("gastrostomy");

  function valueOf(code) {
    var checked = form.querySelector('input[name="' + code + '"]:checked');
    return checked ? parseInt(checked.value, 10) : null;
  }

  function showItem5() {
    var g = switchBox && switchBox.checked;
    var a = document.getElementById("item-q5a"), b = document.getElementById("item-q5b");
    if (a) { a.hidden = g; }
    if (b) { b.hidden = !g; }
    // the hidden form of item 5 is not asked: clear it so it is not sent
    var off = g ? "q5a" : "q5b";
    form.querySelectorAll('input[name="' + off + '"]').forEach(function (el) { el.checked = false; });
  }

  function update() {
    var total = 0, answered = 0, parts = [];
    Object.keys(domains).forEach(function (domain) {
      var sum = 0;
      domains[domain].forEach(function (code) {
        var v = code === "q5" ? (switchBox && switchBox.checked ? valueOf("q5b") : valueOf("q5a")) : valueOf(code);
        if (v !== null) { sum += v; answered += 1; }
      });
      total += sum;
      parts.push(domain.replace("_", " ") + " " + sum + "/12");
    });
    document.getElementById("live-total").textContent = total;
    document.getElementById("live-answered").textContent = answered;
    document.getElementById("live-domains").textContent = parts.join(" · ");
  }

  form.addEventListener("change", update);
  if (switchBox) { switchBox.addEventListener("change", function () { showItem5(); update(); }); }
  showItem5();
  update();
})();
