// Schema-driven completion for LAC.
import { snippetCompletion } from "@codemirror/autocomplete";
import { attributesAt, attributeOf } from "./schema.js";
import { ENTITIES } from "./language.js";

const IDENT = "[A-Za-z_][A-Za-z0-9_]*";
const PATH = `${IDENT}(?:\\.${IDENT})*`;
const RE_ENUM = new RegExp(
  `(${IDENT}(?:\\.${IDENT})+)\\s*(?:==|!=|<=|>=|<|>|\\bin\\b|\\bcontains_any\\b|\\bcontains_all\\b|\\bcontains\\b)\\s*` +
    `(\\[(?:\\s*"[^"\\n]*"\\s*,)*\\s*)?("[^"\\n]*|[A-Za-z0-9_]*)$`,
);
const RE_MEMBER = new RegExp(`(${PATH})\\.(${IDENT})?$`);
const RE_HAS = new RegExp(`(${PATH})\\s+has\\s+(${IDENT})?$`);
const RE_DOMAIN = /(?:^|[^.\w])domain\s+([A-Za-z0-9_.*]*)$/;
const RE_ACTIONS = /(?:^|[^.\w])(?:permit|forbid|require_approval\s*\([^)\n]*\))\s+(?:[A-Za-z_]\w*\s*,\s*)*([A-Za-z_]\w*)?$/;
const RE_OBLIGATION = /(?:^|[^.\w])obligations\s+(?:[^\n]*[),]\s*)?([A-Za-z_]\w*)?$/;
const RE_OB_FIELD = /\b(mask|bucket|drop)\s*\(\s*([A-Za-z_]\w*)?$/;
const RE_TOPK_BY = /\btop_k\s*\([^)\n]*\bby\s*:\s*([A-Za-z_]\w*)?$/;
const RE_MASK_STYLE = /\bmask\s*\(\s*[A-Za-z_]\w*\s*,\s*([A-Za-z_]\w*)?$/;
const RE_GRAPH = /(?:^|[^.\w])graph\s+(?:[^\n]*,\s*)?([A-Za-z_]\w*)?$/;
const RE_REASON = /(?:^|[^.\w])reason\s+("[^"\n]*)$/;
const RE_WORD = /[A-Za-z_][A-Za-z0-9_]*$/;

const TYPE_ICON = (a) => (a.attributes ? "class" : a.values ? "enum" : "property");

function inComment(lineBefore) {
  let inStr = false;
  for (let i = 0; i < lineBefore.length; i++) {
    const c = lineBefore[i];
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === "/" && lineBefore[i + 1] === "/") return true;
  }
  return false;
}

function inString(lineBefore) {
  let inStr = false;
  for (let i = 0; i < lineBefore.length; i++) {
    const c = lineBefore[i];
    if (inStr && c === "\\") i++;
    else if (c === '"') inStr = !inStr;
  }
  return inStr;
}

function attrOptions(attrs) {
  return Object.values(attrs).map((a) => ({
    label: a.name,
    type: TYPE_ICON(a),
    detail: (a.type || "") + (a.optional ? "?" : ""),
    info: a.description || (a.values ? `${a.values.slice(0, 12).join(", ")}${a.values.length > 12 ? ", …" : ""}` : undefined),
    boost: a.optional ? -1 : 0,
  }));
}

function quotedValueResult(values, partial, pos, nextChar, detail) {
  const from = pos - partial.length;
  const to = partial.startsWith('"') && nextChar === '"' ? pos + 1 : pos;
  return {
    from,
    to,
    options: values.map((v, i) => ({ label: `"${v}"`, apply: `"${v}"`, type: "enum", detail, boost: -i / 1000 })),
    validFor: /^"?[^"\n]*$/,
  };
}

function policyDomain(textBefore) {
  const all = [...textBefore.matchAll(/(?:^|[^.\w])domain\s+([A-Za-z0-9_.*]+)/g)];
  return all.length ? all[all.length - 1][1] : null;
}

function fieldOptions(schema, domainName, typeFilter) {
  const seen = new Map();
  for (const d of schema.domains) {
    if (domainName && domainName !== "*" && d.name !== domainName) continue;
    for (const f of Object.values(d.fields)) {
      if (typeFilter && !typeFilter.includes(f.type)) continue;
      if (!seen.has(f.name)) seen.set(f.name, { label: f.name, type: "property", detail: f.type, info: d.name });
    }
  }
  return [...seen.values()];
}

/** A CompletionSource for LAC, reading the schema through `getSchema()` (it may change). */
export function lacCompletionSource(getSchema) {
  return (ctx) => {
    const schema = getSchema();
    const { state, pos } = ctx;
    const line = state.doc.lineAt(pos);
    const lineBefore = line.text.slice(0, pos - line.from);
    if (inComment(lineBefore)) return null;
    const before = state.sliceDoc(Math.max(0, pos - 400), pos);
    const nextChar = state.sliceDoc(pos, pos + 1);
    const stringOpen = inString(lineBefore);

    // values of the attribute on the left of a comparison / membership / contains
    let m = RE_ENUM.exec(before);
    if (m) {
      const attr = attributeOf(schema, m[1]);
      if (attr && attr.values && attr.values.length) return quotedValueResult(attr.values, m[3] || "", pos, nextChar, attr.type);
    }
    if (stringOpen) {
      m = RE_REASON.exec(lineBefore);
      if (m && schema.messages.length) {
        return quotedValueResult(schema.messages.map((x) => x.name), m[1], pos, nextChar, "message");
      }
      return null;
    }
    // `domain a.b` in a policy header
    m = RE_DOMAIN.exec(lineBefore);
    if (m && !/\{/.test(lineBefore.slice(lineBefore.lastIndexOf("domain")))) {
      const options = schema.domains.map((d) => ({ label: d.name, type: "namespace", detail: d.detail }));
      options.push({ label: "*", type: "keyword", detail: "every domain of the tier" });
      return { from: pos - m[1].length, options, validFor: /^[A-Za-z0-9_.*]*$/ };
    }
    // entity.attr.attr
    m = RE_MEMBER.exec(before);
    if (m) {
      const attrs = attributesAt(schema, m[1].split("."));
      if (attrs) return { from: pos - (m[2] || "").length, options: attrOptions(attrs), validFor: /^\w*$/ };
      return null;
    }
    // `authority has warrant`
    m = RE_HAS.exec(before);
    if (m) {
      const attrs = attributesAt(schema, m[1].split("."));
      if (attrs) {
        const opts = attrOptions(attrs).map((o) => ({ ...o, boost: (o.detail || "").endsWith("?") ? 1 : -1 }));
        return { from: pos - (m[2] || "").length, options: opts, validFor: /^\w*$/ };
      }
    }
    // obligations: mask(field, style), bucket(field, width), top_k(n, by: field), drop(field)
    const dom = policyDomain(state.sliceDoc(Math.max(0, pos - 4000), pos));
    m = RE_MASK_STYLE.exec(lineBefore);
    if (m) {
      const info = { full: "****", last4: "keep the last four characters", hash: "HMAC with the bundle salt" };
      return {
        from: pos - (m[1] || "").length,
        options: schema.maskStyles.map((s) => ({ label: s, type: "constant", detail: info[s] })),
        validFor: /^\w*$/,
      };
    }
    m = RE_OB_FIELD.exec(lineBefore);
    if (m) {
      const types = m[1] === "mask" ? ["string"] : m[1] === "bucket" ? ["int"] : null;
      return { from: pos - (m[2] || "").length, options: fieldOptions(schema, dom, types), validFor: /^\w*$/ };
    }
    m = RE_TOPK_BY.exec(lineBefore);
    if (m) return { from: pos - (m[1] || "").length, options: fieldOptions(schema, dom, ["int", "datetime"]), validFor: /^\w*$/ };
    m = RE_OBLIGATION.exec(lineBefore);
    if (m && !/\(\s*[^)]*$/.test(lineBefore.slice(lineBefore.indexOf("obligations")))) {
      return {
        from: pos - (m[1] || "").length,
        options: [
          snippetCompletion("mask(${field}, ${last4})", { label: "mask", type: "function", detail: "(field, full | last4 | hash)" }),
          snippetCompletion("bucket(${field}, ${1000})", { label: "bucket", type: "function", detail: "(field, width)" }),
          snippetCompletion("top_k(${100}, by: ${field})", { label: "top_k", type: "function", detail: "(n, by: field)" }),
          snippetCompletion("drop(${field})", { label: "drop", type: "function", detail: "(field)" }),
        ],
        validFor: /^\w*$/,
      };
    }
    m = RE_GRAPH.exec(lineBefore);
    if (m && !/\b(?:when|unless|obligations|reason)\b/.test(lineBefore.slice(lineBefore.search(/(?:^|[^.\w])graph\s/)))) {
      return {
        from: pos - (m[1] || "").length,
        options: schema.metrics.map((x) => ({ label: x, type: "property", detail: "graph metric" })),
        validFor: /^\w*$/,
      };
    }
    m = RE_ACTIONS.exec(lineBefore);
    if (m) {
      const options = schema.actions.map((a) => ({ label: a.name, type: "enum", detail: a.detail || "action" }));
      options.push({ label: "any", type: "keyword", detail: "every action" });
      return { from: pos - (m[1] || "").length, options, validFor: /^\w*$/ };
    }

    // a word: keywords, entities, functions, definitions
    const word = ctx.matchBefore(RE_WORD);
    if (!word && !ctx.explicit) return null;
    if (word && word.from > 0 && state.sliceDoc(word.from - 1, word.from) === ".") return null;
    const from = word ? word.from : pos;
    const options = [];
    const seen = new Set();
    const add = (o) => {
      if (!seen.has(o.label)) {
        seen.add(o.label);
        options.push(o);
      }
    };
    add(
      snippetCompletion('policy "${id}" tier ${1} domain ${domain} {\n\tpermit ${query}\n\twhen ${condition}\n\treason "${lac.permit.default}"\n}', {
        label: "policy",
        type: "keyword",
        detail: "policy template",
        boost: 2,
      }),
    );
    add(snippetCompletion("def ${name} = ${condition};", { label: "def", type: "keyword", detail: "definition" }));
    for (const k of schema.keywords) add({ label: k, type: "keyword" });
    for (const e of ENTITIES) add({ label: e, type: "namespace", detail: "entity", boost: 1 });
    for (const f of schema.functions) {
      add(snippetCompletion(`${f.name}(\${})`, { label: f.name, type: "function", detail: f.detail ? f.detail.split(" — ")[0] : "", info: f.detail || undefined }));
    }
    const defs = new Map();
    for (const d of schema.definitions) defs.set(d.name, d.detail || "definition");
    for (const dm of state.sliceDoc(0, Math.min(state.doc.length, 200000)).matchAll(/(?:^|[^.\w])def\s+([A-Za-z_]\w*)/g)) {
      if (!defs.has(dm[1])) defs.set(dm[1], "definition");
    }
    for (const [name, detail] of defs) add({ label: name, type: "variable", detail, boost: 1 });
    return { from, options, validFor: /^\w*$/ };
  };
}
