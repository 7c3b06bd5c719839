// MicroModel data page: the good / bad buttons of a record. POSTs the label (with the note and
// the comma-separated tags) as JSON to /api/labels with the page's CSRF token in the
// x-csrf-token header; for a bucket record also its day and workflow (data-day, data-workflow-id),
// so the label is filed under them when no local folder holds the record. No dependencies.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("labeller");
  if (!box) return;
  var status = document.getElementById("label-status");
  var current = document.getElementById("label-current");
  var tagsField = document.getElementById("label-tags");
  // "a, b,,a " -> ["a", "b"]: trimmed, no empty ones, each once.
  function tags() {
    var out = [];
    tagsField.value.split(",").forEach(function (tag) {
      tag = tag.trim();
      if (tag && out.indexOf(tag) < 0) out.push(tag);
    });
    return out;
  }
  box.querySelectorAll("button[data-label]").forEach(function (button) {
    button.addEventListener("click", function () {
      var label = button.getAttribute("data-label");
      var body = {
        request_id: box.getAttribute("data-request-id"),
        choice: Number(box.getAttribute("data-choice")),
        label: label,
        note: document.getElementById("label-note").value,
        tags: tags()
      };
      if (box.hasAttribute("data-day")) {
        body.day = box.getAttribute("data-day");
        body.workflow_id = box.getAttribute("data-workflow-id");
      }
      status.textContent = "saving…";
      fetch("/api/labels", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": box.getAttribute("data-csrf") },
        body: JSON.stringify(body)
      }).then(function (response) {
        if (!response.ok) {
          return response.text().then(function (t) { throw new Error(response.status + " " + t); });
        }
        status.textContent = "saved";
        tagsField.value = body.tags.join(", ");
        current.textContent = label === "none" ? "none" : label;
        current.className = "label-" + label;
      }).catch(function (error) {
        status.textContent = "not saved: " + error.message;
      });
    });
  });
});
