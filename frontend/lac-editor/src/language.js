// LAC syntax: a StreamLanguage tokenizer that follows studio/lac/grammar.py, plus the custom
// highlight tags and the class names the theme styles.
import { StreamLanguage, foldService } from "@codemirror/language";
import { Tag, tags as t, tagHighlighter } from "@lezer/highlight";

export const ENTITIES = ["subject", "action", "resource", "context", "authority"];
export const EFFECTS = ["permit", "forbid", "require_approval"];
export const CLAUSE_KEYWORDS = ["def", "policy", "tier", "domain", "when", "unless", "graph", "obligations", "reason"];
export const OPERATOR_KEYWORDS = ["and", "or", "not", "has", "in", "contains", "contains_any", "contains_all"];
export const OBLIGATIONS = ["mask", "bucket", "top_k", "drop"];
export const MASK_STYLES = ["full", "last4", "hash"];
export const GRAPH_METRICS = ["component_size", "path_length", "degree", "node_count", "edge_count"];
export const FUNCTIONS = ["datetime", "duration", "hour", "weekday", "size"];
export const ARG_LABELS = ["approvers", "grant", "by"];

const CLAUSE_SET = new Set(CLAUSE_KEYWORDS);
const OPKW_SET = new Set(OPERATOR_KEYWORDS);
const ENTITY_SET = new Set(ENTITIES);
const OBLIGATION_SET = new Set(OBLIGATIONS);
const FUNCTION_SET = new Set(FUNCTIONS);
const METRIC_SET = new Set(GRAPH_METRICS);
const STYLE_SET = new Set(MASK_STYLES);

// Custom tags (each derives from a standard one, so any other highlighter still colours them).
export const lacTags = {
  permit: Tag.define(t.keyword),
  forbid: Tag.define(t.keyword),
  approval: Tag.define(t.keyword),
  entity: Tag.define(t.namespace),
  obligation: Tag.define(t.variableName),
  duration: Tag.define(t.number),
  domain: Tag.define(t.typeName),
  metric: Tag.define(t.propertyName),
  field: Tag.define(t.propertyName),
  policyId: Tag.define(t.string),
  messageId: Tag.define(t.string),
  label: Tag.define(t.labelName),
  action: Tag.define(t.atom),
};

const tokenTable = {
  permit: lacTags.permit,
  forbid: lacTags.forbid,
  approval: lacTags.approval,
  entity: lacTags.entity,
  obligation: lacTags.obligation,
  duration: lacTags.duration,
  domain: lacTags.domain,
  metric: lacTags.metric,
  field: lacTags.field,
  policyId: lacTags.policyId,
  messageId: lacTags.messageId,
  label: lacTags.label,
  lacAction: lacTags.action,
};

const DURATION_RE = /^(?:[0-9]+[dhms])+(?![A-Za-z0-9_])/;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*/;

function startState() {
  return {
    afterDot: false, // the previous token was `.`
    prev: "", // the previous significant word (keyword) or punctuation
    domainRef: false, // inside `domain a.b.c` of a policy header
    actions: false, // in the action list after an effect
    obligations: false, // inside an `obligations` clause
    graph: false, // inside a `graph` clause
    expectDef: false, // right after `def`
    depth: 0, // brace/paren/bracket depth (for indentation)
  };
}

function word(stream, state, w) {
  if (state.afterDot) return state.domainRef ? "domain" : "propertyName";
  if (state.domainRef) return "domain";
  if (state.prev === "has") return "propertyName";
  if (state.expectDef) {
    state.expectDef = false;
    return "variableName.definition";
  }
  const callNext = stream.match(/^\s*\(/, false);
  if (w === "permit" || w === "forbid" || w === "require_approval") {
    state.actions = true;
    state.obligations = state.graph = false;
    return w === "require_approval" ? "approval" : w;
  }
  if (CLAUSE_SET.has(w)) {
    state.actions = state.obligations = state.graph = false;
    if (w === "def") state.expectDef = true;
    if (w === "domain") state.domainRef = true;
    if (w === "obligations") state.obligations = true;
    if (w === "graph") state.graph = true;
    return "keyword";
  }
  if (OPKW_SET.has(w)) return "operatorKeyword";
  if (w === "true" || w === "false") return "bool";
  if (w === "any") return "keyword";
  if (stream.match(/^\s*:/, false)) return "label"; // approvers:, grant:, by:, reason parameters
  if (state.obligations) {
    if (OBLIGATION_SET.has(w) && callNext) return "obligation";
    if (STYLE_SET.has(w)) return "atom";
    return "field";
  }
  if (state.graph && METRIC_SET.has(w)) return "metric";
  if (state.actions) return "lacAction";
  if (ENTITY_SET.has(w)) return "entity";
  if (FUNCTION_SET.has(w) && callNext) return "variableName.function";
  if (OBLIGATION_SET.has(w) && callNext) return "obligation";
  return "variableName";
}

function token(stream, state) {
  if (stream.eatSpace()) return null;
  if (stream.match("//")) {
    stream.skipToEnd();
    return "lineComment";
  }
  let style = null;
  let dot = false;
  const ch = stream.peek();
  if (ch === '"') {
    stream.next();
    let escaped = false;
    while (!stream.eol()) {
      const c = stream.next();
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') break;
    }
    style = state.prev === "policy" ? "policyId" : state.prev === "reason" ? "messageId" : "string";
    state.prev = "";
  } else if (stream.match(DURATION_RE)) {
    style = "duration";
    state.prev = "";
  } else if (stream.match(/^[0-9]+/)) {
    style = "number";
    state.prev = "";
  } else if (stream.match(NAME_RE)) {
    const w = stream.current();
    style = word(stream, state, w);
    state.prev = style === "keyword" || style === "operatorKeyword" ? w : "";
    // `domain a.b.c`: the dotted name ends at the first name not followed by a dot
    if (state.domainRef && style !== "keyword" && !stream.match(/^\s*\./, false)) state.domainRef = false;
  } else if (stream.match(/^(?:==|!=|<=|>=|<|>|=|\+|-)/)) {
    style = "compareOperator";
    if (stream.current() === "+" || stream.current() === "-") style = "arithmeticOperator";
    if (stream.current() === "=") style = "definitionOperator";
  } else if (ch === "*") {
    stream.next();
    style = state.domainRef ? "domain" : "operator";
    state.domainRef = false;
  } else if (ch === ".") {
    stream.next();
    dot = true;
    style = "derefOperator";
  } else if (ch === "{" || ch === "(" || ch === "[") {
    stream.next();
    state.depth++;
    state.domainRef = false;
    style = ch === "{" ? "brace" : ch === "(" ? "paren" : "squareBracket";
  } else if (ch === "}" || ch === ")" || ch === "]") {
    stream.next();
    state.depth = Math.max(0, state.depth - 1);
    if (ch === "}") state.actions = state.obligations = state.graph = false;
    style = ch === "}" ? "brace" : ch === ")" ? "paren" : "squareBracket";
  } else if (ch === "," || ch === ";" || ch === ":") {
    stream.next();
    if (ch === ";") state.expectDef = false;
    style = "separator";
  } else {
    stream.next();
    style = "invalid";
  }
  state.afterDot = dot;
  return style;
}

export const lacLanguage = StreamLanguage.define({
  name: "lac",
  startState,
  token,
  indent(state, textAfter, cx) {
    const closing = /^\s*[}\])]/.test(textAfter) ? 1 : 0;
    return Math.max(0, state.depth - closing) * cx.unit;
  },
  languageData: {
    commentTokens: { line: "//" },
    closeBrackets: { brackets: ["(", "[", "{", '"'] },
    indentOnInput: /^\s*[}\])]$/,
    wordChars: "_",
  },
  tokenTable,
});

// Stable class names (`cm-lac-*`) so pages can restyle tokens; colours come from the theme.
export const lacHighlighter = tagHighlighter([
  { tag: lacTags.permit, class: "cm-lac-effect cm-lac-permit" },
  { tag: lacTags.forbid, class: "cm-lac-effect cm-lac-forbid" },
  { tag: lacTags.approval, class: "cm-lac-effect cm-lac-approval" },
  { tag: lacTags.entity, class: "cm-lac-entity" },
  { tag: lacTags.obligation, class: "cm-lac-obligation" },
  { tag: lacTags.duration, class: "cm-lac-duration" },
  { tag: lacTags.domain, class: "cm-lac-domain" },
  { tag: lacTags.metric, class: "cm-lac-metric" },
  { tag: lacTags.field, class: "cm-lac-field" },
  { tag: lacTags.policyId, class: "cm-lac-string cm-lac-policy-id" },
  { tag: lacTags.messageId, class: "cm-lac-string cm-lac-message-id" },
  { tag: lacTags.label, class: "cm-lac-label" },
  { tag: lacTags.action, class: "cm-lac-action" },
  { tag: t.keyword, class: "cm-lac-keyword" },
  { tag: t.operatorKeyword, class: "cm-lac-operator-keyword" },
  { tag: t.bool, class: "cm-lac-bool" },
  { tag: t.atom, class: "cm-lac-atom" },
  { tag: t.string, class: "cm-lac-string" },
  { tag: t.number, class: "cm-lac-number" },
  { tag: t.comment, class: "cm-lac-comment" },
  { tag: t.propertyName, class: "cm-lac-property" },
  { tag: t.definition(t.variableName), class: "cm-lac-definition" },
  { tag: t.function(t.variableName), class: "cm-lac-function" },
  { tag: t.variableName, class: "cm-lac-name" },
  { tag: [t.compareOperator, t.arithmeticOperator, t.definitionOperator, t.operator], class: "cm-lac-operator" },
  { tag: t.derefOperator, class: "cm-lac-dot" },
  { tag: [t.brace, t.paren, t.squareBracket], class: "cm-lac-bracket" },
  { tag: t.separator, class: "cm-lac-punct" },
  { tag: t.invalid, class: "cm-lac-invalid" },
]);

// Fold a `{ ... }` block (a policy body, a reason's parameters) from the line that opens it.
export const lacFolding = foldService.of((state, lineStart, lineEnd) => {
  const text = state.sliceDoc(lineStart, lineEnd);
  const code = text.replace(/"(?:[^"\\]|\\.)*"/g, (s) => " ".repeat(s.length)).replace(/\/\/.*$/, "");
  const open = code.lastIndexOf("{");
  if (open < 0 || code.indexOf("}", open) >= 0) return null;
  const limit = Math.min(state.doc.length, lineEnd + 200000);
  let depth = 0;
  let inStr = false;
  let inComment = false;
  for (let pos = lineStart + open; pos < limit; pos++) {
    const c = state.sliceDoc(pos, pos + 1);
    if (inComment) {
      if (c === "\n") inComment = false;
    } else if (inStr) {
      if (c === "\\") pos++;
      else if (c === '"' || c === "\n") inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === "/" && state.sliceDoc(pos + 1, pos + 2) === "/") inComment = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      const from = lineStart + open + 1;
      return pos > lineEnd ? { from, to: pos } : null;
    }
  }
  return null;
});
