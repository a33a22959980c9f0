// The editor's schema: normalisation of the JSON the page serves, and look-ups for completion.
import {
  ENTITIES, EFFECTS, CLAUSE_KEYWORDS, OPERATOR_KEYWORDS, OBLIGATIONS, GRAPH_METRICS, FUNCTIONS, MASK_STYLES,
} from "./language.js";

const DEFAULT_FUNCTIONS = {
  datetime: 'datetime("2025-01-31T00:00:00Z") — a UTC instant',
  duration: 'duration("1h30m") — a span of time',
  hour: "hour(t) — hour of day 0..23 (UTC) of a datetime",
  weekday: "weekday(t) — day of week 0 (Monday) .. 6 (UTC) of a datetime",
  size: "size(s) — number of elements of a set",
};

export const DEFAULT_KEYWORDS = [...CLAUSE_KEYWORDS, ...EFFECTS, ...OPERATOR_KEYWORDS, "any", "true", "false"];

function normAttr(name, spec) {
  if (typeof spec === "string") {
    const optional = spec.trim().endsWith("?");
    return { name, type: spec.trim().replace(/\?$/, ""), optional, values: null, description: "", attributes: null };
  }
  if (!spec || typeof spec !== "object") return { name, type: "", optional: false, values: null, description: "", attributes: null };
  const attrs = spec.attributes && typeof spec.attributes === "object" ? normAttrs(spec.attributes) : null;
  let type = typeof spec.type === "string" ? spec.type : attrs ? "record" : "";
  let optional = !!spec.optional;
  if (type.endsWith("?")) {
    optional = true;
    type = type.slice(0, -1);
  }
  const values = Array.isArray(spec.values) ? spec.values.map(String) : null;
  return { name, type, optional, values, description: String(spec.description || ""), attributes: attrs };
}

function normAttrs(obj) {
  const out = {};
  for (const name of Object.keys(obj || {})) out[name] = normAttr(name, obj[name]);
  return out;
}

function normNamed(list, fallback) {
  // ["a", ...] or [{"name": "a", "detail": "..."}] or {"a": "detail" | {...}} -> [{name, detail, ...}]
  if (list == null) return fallback;
  if (Array.isArray(list)) {
    return list.map((x) => (typeof x === "string" ? { name: x, detail: "" } : { ...x, name: String(x.name), detail: String(x.detail || x.description || "") }));
  }
  if (typeof list === "object") {
    return Object.keys(list).map((name) => {
      const v = list[name];
      if (typeof v === "string") return { name, detail: v };
      return { ...(v || {}), name, detail: String((v && (v.detail || v.description)) || "") };
    });
  }
  return fallback;
}

/** Normalise the schema JSON served by the page (see README.md) into look-up tables. */
export function normalizeSchema(raw) {
  raw = raw || {};
  const entities = {};
  const rawEntities = raw.entities || {};
  for (const ent of new Set([...ENTITIES, ...Object.keys(rawEntities)])) entities[ent] = normAttrs(rawEntities[ent] || {});
  // Optional `enums` ({"role": ["analyst", ...]} or {"role": {"values": [...]}}) fill `values` by type name.
  const enums = {};
  // a lac-schema/1 document (studio/lac/data/schema.json) also works as it is: its built-in enums
  const keysOf = (x) => (Array.isArray(x) ? x.map((e) => (typeof e === "string" ? e : e && e.name)) : x && typeof x === "object" ? Object.keys(x) : null);
  if (keysOf(raw.data_classes)) enums.data_class = keysOf(raw.data_classes).map(String);
  if (keysOf(raw.actions)) enums.action = keysOf(raw.actions).map(String).sort();
  if (keysOf(raw.domains)) enums.domain = keysOf(raw.domains).map(String).sort();
  for (const [name, v] of Object.entries(raw.enums || {})) {
    const values = Array.isArray(v) ? v : v && Array.isArray(v.values) ? v.values : null;
    if (values) enums[name] = values.map(String);
  }
  const fill = (attrs) => {
    for (const a of Object.values(attrs)) {
      if (!a.values) {
        const m = /^set<(.+)>$/.exec(a.type);
        const base = m ? m[1].trim() : a.type;
        if (enums[base]) a.values = enums[base];
      }
      if (a.attributes) fill(a.attributes);
    }
  };
  for (const attrs of Object.values(entities)) fill(attrs);

  const domains = normNamed(raw.domains, []).map((d) => {
    // fields: {"name": type} directly, or per dataset as in lac-schema/1 ({"datasets": {"x": {"fields": ...}}})
    const fields = { ...(d.fields || {}) };
    for (const ds of Object.values(d.datasets || {})) Object.assign(fields, (ds && ds.fields) || {});
    return {
      name: d.name,
      detail: [d.tier != null ? `tier ${d.tier}` : "", d.detail || ""].filter(Boolean).join(" · "),
      tier: d.tier,
      fields: normAttrs(fields),
    };
  });
  const keywords = Array.isArray(raw.keywords) && raw.keywords.length ? raw.keywords.map(String) : DEFAULT_KEYWORDS;
  const functions = normNamed(raw.functions, null) || FUNCTIONS.map((name) => ({ name, detail: DEFAULT_FUNCTIONS[name] || "" }));
  return {
    entities,
    enums,
    domains,
    keywords,
    functions,
    actions: normNamed(raw.actions, ["query", "view", "export", "share", "download"].map((name) => ({ name, detail: "" }))),
    definitions: normNamed(raw.definitions, []),
    messages: normNamed(raw.messages, []),
    obligations: OBLIGATIONS,
    metrics: GRAPH_METRICS,
    maskStyles: MASK_STYLES,
  };
}

/** The attributes reachable at `path` (["subject"], ["subject", "geo"]), or null. */
export function attributesAt(schema, path) {
  if (!path.length) return null;
  let attrs = schema.entities[path[0]];
  for (let i = 1; attrs && i < path.length; i++) {
    const a = attrs[path[i]];
    attrs = a && a.attributes ? a.attributes : null;
  }
  return attrs || null;
}

/** The attribute at a dotted path ("resource.data_class"), or null. */
export function attributeOf(schema, dotted) {
  const parts = dotted.split(".");
  const attrs = attributesAt(schema, parts.slice(0, -1));
  return (attrs && attrs[parts[parts.length - 1]]) || null;
}
