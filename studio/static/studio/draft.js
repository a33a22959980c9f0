// Policy Studio draft page: the editor, the problems panel, the schema dock, autosave, preview shortcuts.
(function () {
  "use strict";
  const ta = document.getElementById("lac-source");
  if (!ta) return;
  const csrf = () => document.querySelector("meta[name=csrf-token]")?.content || "";
  const editable = ta.dataset.editable === "1";
  const file = ta.dataset.file;
  const list = document.getElementById("problem-list");
  const count = document.getElementById("problem-count");
  const checkState = document.getElementById("check-state");
  const saveState = document.getElementById("save-state");
  let editor = null;

  function esc(s) { return String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

  function renderProblems(diags) {
    diags = diags || [];
    count.textContent = String(diags.length);
    const errors = diags.filter((d) => d.severity === "error").length;
    checkState.innerHTML = errors ? `<span class="badge badge-crit">${errors} error${errors === 1 ? "" : "s"}</span>` : '<span class="badge badge-ok">compiles</span>';
    if (!diags.length) { list.innerHTML = '<li class="muted" style="display:block">No problems.</li>'; return; }
    list.innerHTML = diags.map((d) => `<li data-line="${d.line || ""}" data-col="${d.column || ""}"><span class="sev-${esc(d.severity)}">${esc(d.severity)}</span><span class="mono small">${esc(d.code)}</span><span>${d.file ? `<span class="mono small muted">${esc(d.file)}:${d.line}:${d.column}</span> ` : ""}${esc(d.message)}</span>${d.hint ? `<span class="hint">${esc(d.hint)}</span>` : ""}</li>`).join("");
  }

  async function post(url, body) {
    const resp = await fetch(url, { method: "POST", headers: { "X-CSRFToken": csrf(), "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body) });
    return { ok: resp.ok, status: resp.status, data: await resp.json().catch(() => ({})) };
  }

  // Autosave (debounced) of the file being edited.
  let saveTimer = null;
  function scheduleSave() {
    if (!editable) return;
    saveState.textContent = "Unsaved changes…";
    clearTimeout(saveTimer);
    saveTimer = setTimeout(async () => {
      const resp = await fetch(ta.dataset.saveUrl, { method: "POST", headers: { "X-CSRFToken": csrf(), "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ file, source: ta.value }) });
      saveState.innerHTML = await resp.text();
    }, 700);
  }

  // Without the editor component (it failed to load), lint the plain textarea ourselves.
  let lintTimer = null;
  function fallbackLint() {
    clearTimeout(lintTimer);
    lintTimer = setTimeout(async () => {
      const r = await post(ta.dataset.lintUrl, { file, source: ta.value });
      renderProblems(r.data.diagnostics || []);
    }, 300);
  }

  function getValue() { return editor ? editor.getValue() : ta.value; }
  function setValue(text) { if (editor) editor.setValue(text); else ta.value = text; ta.dispatchEvent(new Event("input")); }

  async function format() {
    const r = await post(ta.dataset.formatUrl, { file, source: getValue() });
    if (r.ok && typeof r.data.source === "string") { setValue(r.data.source); saveState.textContent = "Formatted"; }
    else { renderProblems(r.data.diagnostics || []); saveState.textContent = r.data.error?.message || "Cannot format"; }
  }

  function init() {
    const schema = JSON.parse(document.getElementById("lac-schema").textContent);
    if (window.LacEditor) {
      editor = window.LacEditor.create(ta, {
        lintUrl: ta.dataset.lintUrl, formatUrl: ta.dataset.formatUrl, schema, csrfToken: csrf(), readOnly: !editable,
        debounceMs: 300, onDiagnostics: renderProblems, extraParams: { file },
      });
    } else {
      ta.addEventListener("input", fallbackLint);
    }
    ta.addEventListener("input", scheduleSave);
    ta.addEventListener("change", scheduleSave);
    document.getElementById("format-btn")?.addEventListener("click", format);
    document.querySelectorAll(".schema-dock [data-insert]").forEach((b) => b.addEventListener("click", () => {
      if (!editable) return;
      if (editor) editor.insertAtCursor(b.dataset.insert);
      else { const p = ta.selectionStart; ta.setRangeText(b.dataset.insert, p, ta.selectionEnd, "end"); ta.dispatchEvent(new Event("input")); }
      editor?.focus();
    }));
    const scenarios = JSON.parse(document.getElementById("lac-scenarios")?.textContent || "[]");
    document.getElementById("scenario")?.addEventListener("change", (ev) => {
      const s = scenarios[Number(ev.target.value)];
      if (s) document.getElementById("preview-request").value = s.request;
    });
    (ta.closest("body") || document).addEventListener("lac:preview", () => htmx.trigger("#preview-form", "submit"));
    document.addEventListener("keydown", (ev) => {
      if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter") { ev.preventDefault(); htmx.trigger("#preview-form", "submit"); }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
