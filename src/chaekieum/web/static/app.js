/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  // Print buttons (no inline handlers: the CSP forbids them).
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });

  // Irreversible actions: a form with data-confirm asks in a modal <dialog> first (focus
  // starts on Cancel; Escape cancels). Without this script the server asks on a page of
  // its own, so the action never happens in one click either way.
  var dialog = document.getElementById("confirm-dialog");
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!dialog || typeof dialog.showModal !== "function" || form.dataset.confirmed) { return; }
      e.preventDefault();
      document.getElementById("confirm-message").textContent = form.dataset.confirm;
      dialog.returnValue = "";
      dialog.showModal();
      document.getElementById("confirm-no").focus();
      dialog.addEventListener("close", function once() {
        dialog.removeEventListener("close", once);
        if (dialog.returnValue !== "yes") { return; }
        var flag = document.createElement("input");
        flag.type = "hidden"; flag.name = "confirm"; flag.value = "yes";
        form.appendChild(flag);
        form.dataset.confirmed = "1";
        form.submit();
      });
    });
  });

  // Desk: keep the scan box focused after every action; F2 / Escape return to it.
  var scan = document.getElementById("scan");
  if (scan) {
    var typing = function (el) {
      return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
    };
    document.addEventListener("keydown", function (e) {
      if (e.key === "F2" || (e.key === "Escape" && document.activeElement !== scan)) {
        e.preventDefault(); scan.focus(); scan.select();
      } else if (e.key.length === 1 && e.key !== " " && !e.ctrlKey && !e.metaKey && !e.altKey &&
                 !typing(document.activeElement)) {
        // A scanner typing while a button or link has the focus: its code (and the Enter
        // after it) goes to the scan box, never to that button.
        scan.focus();
      }
    });
    document.getElementById("scan-form").addEventListener("submit", function () {
      var b = this.querySelector("button[type=submit]");
      if (b) { b.disabled = true; }
    });
  }

  // The ID-check prompt is answered by a click or F8 only: Enter (what a scanner sends
  // after every code) never presses its button.
  var idcheck = document.getElementById("idcheck-confirm");
  if (idcheck) {
    idcheck.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); scan && scan.focus(); }
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "F8") { e.preventDefault(); idcheck.click(); }
    });
  }

  // Registration: mark the guardian fields required for members under 14.
  var reg = document.getElementById("register-form");
  if (reg) {
    var by = reg.querySelector("[name=birth_year]");
    var gf = reg.querySelectorAll("#guardian-fields input");
    var sync = function () {
      var y = parseInt(by.value, 10);
      var need = !isNaN(y) && y >= parseInt(by.dataset.guardianAge, 10);
      gf.forEach(function (i) { i.required = need; });
      document.getElementById("guardian-fields").classList.toggle("prompt", need);
    };
    by.addEventListener("input", sync); sync();
  }

  // Dashboard charts from the JSON block (tables stay as the accessible fallback).
  var data = document.getElementById("dash-data");
  if (data && window.Chart) {
    var d = JSON.parse(data.textContent);
    var L = d.labels;
    var opts = { responsive: true, maintainAspectRatio: false, animation: false };
    var mk = function (id, cfg) {
      var el = document.getElementById(id);
      if (el) { cfg.options = Object.assign({}, opts, cfg.options || {}); new window.Chart(el, cfg); }
    };
    mk("chart-per-day", { type: "line", data: {
      labels: d.per_day.map(function (r) { return r.day.slice(5); }),
      datasets: [
        { label: L.loans, data: d.per_day.map(function (r) { return r.loans; }), borderColor: "#0b5cad", backgroundColor: "#0b5cad" },
        { label: L.returns, data: d.per_day.map(function (r) { return r.returns; }), borderColor: "#1d7a3a", backgroundColor: "#1d7a3a" }
      ] } });
    mk("chart-per-region", { type: "bar", data: {
      labels: d.per_region.map(function (r) { return r.name; }),
      datasets: [{ label: L.loans, data: d.per_region.map(function (r) { return r.loans; }), backgroundColor: "#0b5cad" }] } });
    mk("chart-per-library", { type: "bar", options: { indexAxis: "y" }, data: {
      labels: d.per_library.map(function (r) { return r.name; }),
      datasets: [{ label: L.loans, data: d.per_library.map(function (r) { return r.loans; }), backgroundColor: "#4a8fd6" }] } });
    mk("chart-stages", { type: "bar", data: {
      labels: d.stages.map(function (r) { return r.label; }),
      datasets: [{ label: L.count, data: d.stages.map(function (r) { return r.count; }), backgroundColor: "#8a5a00" }] } });
  }
})();
