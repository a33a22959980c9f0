// LacEditor: a CodeMirror 6 editor for LAC policies attached to a <textarea>.
// Built into one IIFE (studio/static/studio/vendor/lac-editor.js) exposing `window.LacEditor`.
import { EditorState, Compartment, Prec } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, highlightSpecialChars,
  drawSelection, dropCursor, rectangularSelection, crosshairCursor, placeholder as placeholderExt,
} from "@codemirror/view";
import {
  syntaxHighlighting, indentOnInput, bracketMatching, foldGutter, foldKeymap, indentUnit,
} from "@codemirror/language";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { searchKeymap, highlightSelectionMatches, search } from "@codemirror/search";
import {
  autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap, startCompletion,
} from "@codemirror/autocomplete";
import { linter, lintGutter, lintKeymap, setDiagnostics as cmSetDiagnostics, forceLinting } from "@codemirror/lint";

import { lacLanguage, lacHighlighter, lacFolding } from "./language.js";
import { normalizeSchema } from "./schema.js";
import { lacCompletionSource } from "./completion.js";
import { lacTheme } from "./theme.js";

const VERSION = "1.0.0";
const INSTANCES = new WeakMap();

// ------------------------------------------------------------------ positions
// Server columns count code points (Python); CodeMirror offsets count UTF-16 units.
function colToOffset(text, col) {
  let units = 0;
  let cps = 1;
  while (cps < col && units < text.length) {
    const c = text.codePointAt(units);
    units += c > 0xffff ? 2 : 1;
    cps++;
  }
  return units;
}

function offsetToCol(text, offset) {
  let cps = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.codePointAt(i);
    if (c > 0xffff) i++;
    cps++;
  }
  return cps;
}

function posOf(doc, line, column) {
  if (!(line >= 1)) return 0;
  if (line > doc.lines) return doc.length;
  const l = doc.line(line);
  return l.from + colToOffset(l.text, Math.max(1, column || 1));
}

const SEVERITY = { error: "error", warning: "warning", info: "info", hint: "hint" };
const HINT_FIX = /did you mean [`'"]([^`'"]+)[`'"]\??/i;

function renderDiagnosticMessage(d) {
  return () => {
    const wrap = document.createElement("div");
    wrap.className = "cm-lac-diagnostic";
    const msg = document.createElement("div");
    msg.className = "cm-lac-diagnostic-message";
    msg.textContent = d.message || "";
    wrap.appendChild(msg);
    if (d.hint) {
      const hint = document.createElement("div");
      hint.className = "cm-lac-diagnostic-hint";
      hint.textContent = d.hint;
      wrap.appendChild(hint);
    }
    return wrap;
  };
}

/** Server diagnostics (1-based line/column, end_column exclusive) -> CodeMirror diagnostics. */
export function toCmDiagnostics(doc, list) {
  const out = [];
  for (const d of list || []) {
    if (!d || typeof d !== "object") continue;
    let from = posOf(doc, d.line, d.column);
    let to = d.end_line ? posOf(doc, d.end_line, d.end_column) : from;
    if (to < from) to = from;
    if (to === from) {
      // widen an empty range to the character (or the end of the previous line at end of input)
      if (to < doc.length && doc.sliceString(from, from + 1) !== "\n") to = from + 1;
      else if (from > 0 && from === doc.length) from = from - 1;
    }
    const cm = {
      from,
      to,
      severity: SEVERITY[d.severity] || "error",
      message: d.hint ? `${d.message} (${d.hint})` : d.message || "",
      renderMessage: renderDiagnosticMessage(d),
      source: d.code || undefined,
    };
    const fix = d.hint && HINT_FIX.exec(d.hint);
    if (fix && to > from && doc.sliceString(from, to).indexOf("\n") < 0) {
      const replacement = fix[1];
      cm.actions = [
        {
          name: `Use ${replacement}`,
          apply(view, f, t) {
            view.dispatch({ changes: { from: f, to: t, insert: replacement }, userEvent: "input.complete" });
          },
        },
      ];
    }
    out.push(cm);
  }
  return out;
}

function normalizeDiagnostic(d) {
  return {
    ...d,
    code: d.code || "",
    severity: SEVERITY[d.severity] ? d.severity : "error",
    message: d.message || "",
    line: d.line || 0,
    column: d.column || 0,
    end_line: d.end_line || d.line || 0,
    end_column: d.end_column || d.column || 0,
    hint: d.hint || d.suggestion || null,
  };
}

// ------------------------------------------------------------------ HTTP
function cookie(name) {
  const parts = document.cookie ? document.cookie.split(";") : [];
  for (const p of parts) {
    const i = p.indexOf("=");
    if (i > 0 && p.slice(0, i).trim() === name) return decodeURIComponent(p.slice(i + 1).trim());
  }
  return null;
}

function csrfToken(options, textarea) {
  const o = options.csrfToken;
  if (typeof o === "function") return o();
  if (o) return o;
  const fromCookie = cookie("csrftoken");
  if (fromCookie) return fromCookie;
  const form = textarea.form || textarea.closest("form");
  const input = (form || document).querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : null;
}

async function postSource(url, source, options, textarea, signal) {
  const body = new URLSearchParams();
  body.set("source", source);
  const extra = typeof options.extraParams === "function" ? options.extraParams() : options.extraParams;
  for (const [k, v] of Object.entries(extra || {})) if (v != null) body.set(k, String(v));
  const headers = {
    "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
    Accept: "application/json",
    "X-Requested-With": "XMLHttpRequest",
  };
  const token = csrfToken(options, textarea);
  if (token) headers["X-CSRFToken"] = token;
  const resp = await fetch(url, { method: "POST", body, headers, credentials: "same-origin", signal });
  let data = null;
  try {
    data = await resp.json();
  } catch (e) {
    data = null;
  }
  if (!data || typeof data !== "object") throw new Error(`${url}: HTTP ${resp.status}, no JSON`);
  if (!resp.ok && !Array.isArray(data.diagnostics) && typeof data.source !== "string") {
    const err = new Error(`${url}: HTTP ${resp.status}`);
    err.data = data;
    throw err;
  }
  return data;
}

function debounce(fn, ms) {
  let timer = null;
  const wrapped = () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  wrapped.flush = () => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
      fn();
    }
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

// Replace `next` into the document with the smallest change; the cursor keeps its place among the
// non-blank characters (formatting mostly moves blanks).
function replaceKeepingCursor(view, next) {
  const state = view.state;
  const old = state.doc.toString();
  if (old === next) return false;
  let start = 0;
  const max = Math.min(old.length, next.length);
  while (start < max && old.charCodeAt(start) === next.charCodeAt(start)) start++;
  let endOld = old.length;
  let endNew = next.length;
  while (endOld > start && endNew > start && old.charCodeAt(endOld - 1) === next.charCodeAt(endNew - 1)) {
    endOld--;
    endNew--;
  }
  const head = state.selection.main.head;
  let anchor;
  if (head <= start) anchor = head;
  else if (head >= endOld) anchor = head + (endNew - endOld);
  else {
    let count = 0;
    for (let i = start; i < head; i++) if (!/\s/.test(old[i])) count++;
    let j = start;
    while (j < endNew && count > 0) {
      if (!/\s/.test(next[j])) count--;
      j++;
    }
    anchor = j;
  }
  view.dispatch({
    changes: { from: start, to: endOld, insert: next.slice(start, endNew) },
    selection: { anchor: Math.min(anchor, next.length) },
    scrollIntoView: true,
    userEvent: "input.format",
  });
  return true;
}

function fire(target, name, detail) {
  if (!target) return;
  target.dispatchEvent(new CustomEvent(name, { bubbles: true, cancelable: true, detail }));
}

// ------------------------------------------------------------------ the editor
class LacEditorInstance {
  constructor(textarea, options) {
    this.textarea = textarea;
    this.options = options;
    this.schema = normalizeSchema(options.schema && typeof options.schema === "object" ? options.schema : null);
    this.diagnostics = [];
    this._lintAbort = null;
    this._readOnly = new Compartment();
    this._destroyed = false;

    const debounceMs = options.debounceMs == null ? 300 : Number(options.debounceMs);
    this._notify = debounce(() => {
      this.textarea.dispatchEvent(new Event("input", { bubbles: true }));
      this.textarea.dispatchEvent(new Event("change", { bubbles: true }));
    }, Math.min(debounceMs, 300));

    const readOnly = options.readOnly != null ? !!options.readOnly : textarea.readOnly || textarea.disabled;
    const self = this;
    const extensions = [
      lintGutter(),
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      history(),
      foldGutter(),
      lacFolding,
      drawSelection(),
      dropCursor(),
      EditorState.allowMultipleSelections.of(true),
      indentUnit.of("  "),
      EditorState.tabSize.of(2),
      indentOnInput(),
      lacLanguage,
      syntaxHighlighting(lacHighlighter),
      bracketMatching(),
      closeBrackets(),
      autocompletion({
        override: [lacCompletionSource(() => self.schema)],
        icons: true,
        activateOnTyping: true,
        closeOnBlur: true,
      }),
      rectangularSelection(),
      crosshairCursor(),
      highlightActiveLine(),
      highlightSelectionMatches(),
      search({ top: true }),
      lacTheme,
      options.lineWrapping === false ? [] : EditorView.lineWrapping,
      this._readOnly.of(readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []),
      Prec.highest(
        keymap.of([
          { key: "Mod-s", run: () => (self.format(), true), preventDefault: true },
          { key: "Shift-Alt-f", run: () => (self.format(), true), preventDefault: true },
          { key: "Mod-Enter", run: () => (self.preview(), true), preventDefault: true },
        ]),
      ),
      keymap.of([
        ...closeBracketsKeymap,
        ...defaultKeymap,
        ...searchKeymap,
        ...historyKeymap,
        ...foldKeymap,
        ...completionKeymap,
        ...lintKeymap,
        indentWithTab,
      ]),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) self._sync();
      }),
      EditorView.contentAttributes.of({ "aria-label": textarea.getAttribute("aria-label") || "LAC policy source" }),
    ];
    const ph = options.placeholder != null ? options.placeholder : textarea.getAttribute("placeholder");
    if (ph) extensions.push(placeholderExt(ph));
    if (options.lintUrl) {
      extensions.push(linter((view) => self._lint(view), { delay: debounceMs }));
    }
    if (options.extensions) extensions.push(options.extensions);

    this.dom = document.createElement("div");
    this.dom.className = "lac-editor";
    if (options.height) this.dom.style.setProperty("--lac-editor-height", options.height);
    if (options.minHeight) this.dom.style.setProperty("--lac-editor-min-height", options.minHeight);
    this.view = new EditorView({
      state: EditorState.create({ doc: textarea.value, extensions }),
      parent: this.dom,
    });
    this._prevDisplay = textarea.style.display;
    textarea.style.display = "none";
    textarea.setAttribute("data-lac-editor-attached", "");
    textarea.insertAdjacentElement("afterend", this.dom);
    // a <label for=...> still focuses the editor
    if (textarea.id) {
      this._onLabel = (e) => {
        const label = e.target.closest && e.target.closest(`label[for="${CSS.escape(textarea.id)}"]`);
        if (label) {
          e.preventDefault();
          self.focus();
        }
      };
      document.addEventListener("click", this._onLabel);
    }
    this._onReset = () => setTimeout(() => self.setValue(textarea.defaultValue), 0);
    if (textarea.form) textarea.form.addEventListener("reset", this._onReset);
    if (!options.lintUrl && Array.isArray(options.diagnostics)) this.setDiagnostics(options.diagnostics);
    if (options.schemaUrl && !(options.schema && typeof options.schema === "object")) this._loadSchema(options.schemaUrl);
    else if (typeof options.schema === "string") this._loadSchema(options.schema);
  }

  async _loadSchema(url) {
    try {
      const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (resp.ok) this.setSchema(await resp.json());
    } catch (e) {
      console.warn("LacEditor: could not load the schema", e);
    }
  }

  _sync() {
    this.textarea.value = this.view.state.doc.toString();
    this._notify();
  }

  _eventTarget() {
    return this.textarea.form || this.textarea;
  }

  _report(list) {
    this.diagnostics = list;
    if (typeof this.options.onDiagnostics === "function") {
      try {
        this.options.onDiagnostics(list, this);
      } catch (e) {
        console.error(e);
      }
    }
    fire(this.textarea, "lac:diagnostics", { diagnostics: list, editor: this });
  }

  async _lint(view) {
    if (this._lintAbort) this._lintAbort.abort();
    const abort = new AbortController();
    this._lintAbort = abort;
    const doc = view.state.doc;
    const timer = setTimeout(() => abort.abort(), this.options.timeoutMs || 15000);
    try {
      const data = await postSource(this.options.lintUrl, doc.toString(), this.options, this.textarea, abort.signal);
      const list = (Array.isArray(data.diagnostics) ? data.diagnostics : []).map(normalizeDiagnostic);
      if (view.state.doc !== doc || this._destroyed) return [];
      this._report(list);
      return toCmDiagnostics(doc, list);
    } catch (e) {
      if (abort.signal.aborted && this._lintAbort !== abort) return []; // superseded by a newer request
      console.warn("LacEditor: lint failed", e);
      if (typeof this.options.onLintError === "function") this.options.onLintError(e, this);
      fire(this.textarea, "lac:lint-error", { error: String(e && e.message ? e.message : e), editor: this });
      return toCmDiagnostics(doc, this.diagnostics.length && view.state.doc === doc ? this.diagnostics : []);
    } finally {
      clearTimeout(timer);
      if (this._lintAbort === abort) this._lintAbort = null;
    }
  }

  // ---------------------------------------------------------------- public API
  getValue() {
    return this.view.state.doc.toString();
  }

  setValue(text) {
    text = text == null ? "" : String(text);
    this.view.dispatch({
      changes: { from: 0, to: this.view.state.doc.length, insert: text },
      selection: { anchor: Math.min(this.view.state.selection.main.head, text.length) },
      userEvent: "set",
    });
    this._sync();
  }

  insertAtCursor(text) {
    text = String(text == null ? "" : text);
    const view = this.view;
    view.dispatch(view.state.replaceSelection(text), { scrollIntoView: true, userEvent: "input.paste" });
    view.focus();
  }

  focus() {
    this.view.focus();
  }

  /** Move the cursor to a 1-based line/column (e.g. from a problems panel) and focus. */
  goTo(line, column) {
    const pos = posOf(this.view.state.doc, line, column || 1);
    this.view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
    this.view.focus();
  }

  setDiagnostics(list) {
    const norm = (list || []).map(normalizeDiagnostic);
    this.view.dispatch(cmSetDiagnostics(this.view.state, toCmDiagnostics(this.view.state.doc, norm)));
    this._report(norm);
  }

  getDiagnostics() {
    return this.diagnostics.slice();
  }

  /** Run the linter now (after a schema or catalog change on the server, say). */
  lint() {
    forceLinting(this.view);
  }

  setSchema(schema) {
    this.schema = normalizeSchema(schema);
  }

  setReadOnly(flag) {
    this.view.dispatch({
      effects: this._readOnly.reconfigure(flag ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []),
    });
  }

  /** Format through formatUrl; resolves to true when the document was formatted. */
  async format() {
    const url = this.options.formatUrl;
    if (!url || this.view.state.readOnly) return false;
    const doc = this.view.state.doc;
    try {
      const data = await postSource(url, doc.toString(), this.options, this.textarea);
      if (typeof data.source === "string" && !data.error) {
        if (this.view.state.doc !== doc) return false; // edited meanwhile: do not clobber
        replaceKeepingCursor(this.view, data.source);
        fire(this.textarea, "lac:formatted", { source: data.source, editor: this });
        return true;
      }
      if (Array.isArray(data.diagnostics) && this.view.state.doc === doc) this.setDiagnostics(data.diagnostics);
      if (typeof this.options.onFormatError === "function") this.options.onFormatError(data, this);
      fire(this.textarea, "lac:format-error", { error: data.error || null, diagnostics: data.diagnostics || [], editor: this });
    } catch (e) {
      console.warn("LacEditor: format failed", e);
      if (typeof this.options.onFormatError === "function") this.options.onFormatError({ error: { message: String(e.message || e) } }, this);
      fire(this.textarea, "lac:format-error", { error: { message: String(e.message || e) }, diagnostics: [], editor: this });
    }
    return false;
  }

  /** Dispatch `lac:preview` (bubbling, detail {source, editor}) on the textarea's form, or the textarea. */
  preview() {
    this._sync();
    this._notify.flush();
    fire(this._eventTarget(), "lac:preview", { source: this.getValue(), editor: this, textarea: this.textarea });
  }

  /** Open the completion list at the cursor. */
  complete() {
    startCompletion(this.view);
  }

  destroy() {
    if (this._destroyed) return;
    this._destroyed = true;
    if (this._lintAbort) this._lintAbort.abort();
    this._notify.flush();
    this.textarea.value = this.getValue();
    this.view.destroy();
    this.dom.remove();
    this.textarea.style.display = this._prevDisplay;
    this.textarea.removeAttribute("data-lac-editor-attached");
    if (this._onLabel) document.removeEventListener("click", this._onLabel);
    if (this.textarea.form) this.textarea.form.removeEventListener("reset", this._onReset);
    INSTANCES.delete(this.textarea);
  }
}

function create(textarea, options) {
  if (typeof textarea === "string") textarea = document.querySelector(textarea);
  if (!textarea || textarea.tagName !== "TEXTAREA") throw new TypeError("LacEditor.create needs a <textarea>");
  const existing = INSTANCES.get(textarea);
  if (existing && !existing._destroyed) return existing;
  const inst = new LacEditorInstance(textarea, options || {});
  INSTANCES.set(textarea, inst);
  return inst;
}

function get(textarea) {
  return INSTANCES.get(textarea) || null;
}

/**
 * Attach editors to every `textarea[data-lac-editor]` under root (default: document), reading
 * data-lint-url, data-format-url, data-schema-url, data-schema-id (id of a json_script element),
 * data-debounce-ms, data-readonly.  Safe to call again after an htmx swap.
 */
function autoInit(root, extraOptions) {
  root = root || document;
  const found = [];
  const list = root.matches && root.matches("textarea[data-lac-editor]") ? [root] : root.querySelectorAll("textarea[data-lac-editor]");
  for (const ta of list) {
    const ds = ta.dataset;
    const opts = { ...(extraOptions || {}) };
    if (ds.lintUrl) opts.lintUrl = ds.lintUrl;
    if (ds.formatUrl) opts.formatUrl = ds.formatUrl;
    if (ds.schemaUrl) opts.schemaUrl = ds.schemaUrl;
    if (ds.schemaId) {
      const el = document.getElementById(ds.schemaId);
      if (el) {
        try {
          opts.schema = JSON.parse(el.textContent);
        } catch (e) {
          console.warn("LacEditor: bad schema JSON in #" + ds.schemaId, e);
        }
      }
    }
    if (ds.debounceMs) opts.debounceMs = Number(ds.debounceMs);
    if (ds.readonly != null && ds.readonly !== "false") opts.readOnly = true;
    found.push(create(ta, opts));
  }
  return found;
}

const LacEditor = { create, get, autoInit, version: VERSION, toCmDiagnostics };
if (typeof window !== "undefined") window.LacEditor = LacEditor;
export default LacEditor;
