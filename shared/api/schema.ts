/**
 * A small typed builder for Kubernetes structural schemas (the OpenAPI v3 subset that
 * CustomResourceDefinitions accept). Each builder returns a `Schema` that carries the JSON node
 * the apiserver sees and, at the type level only, two TypeScript types: `input` (the object as a
 * user writes it) and `output` (the object after the apiserver has applied every `default`).
 *
 * Why not a general JSON-Schema library: Kubernetes rejects most of what those emit (`anyOf` of
 * typed branches for enums and nullables, `patternProperties` for maps, `$id`), and none of them
 * tracks defaults in the static type, which is what lets `applyDefaults` return a type in which
 * defaulted fields are no longer optional.
 */

export type SchemaType = "object" | "array" | "string" | "integer" | "boolean";

/** A CEL rule (`x-kubernetes-validations` entry). */
export interface ValidationRule {
  rule: string;
  /** Shown to the user verbatim; say what to change ("must", "must not", "may not"). */
  message: string;
  /** Relative JSONPath (`.sites`) that the error is reported against, when not the node itself. */
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

/** One node of a structural schema, exactly as serialized into the CRD. */
export interface SchemaNode {
  type?: SchemaType;
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  enum?: readonly string[];
  default?: unknown;
  nullable?: boolean;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  "x-kubernetes-int-or-string"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: ValidationRule[];
}

/**
 * How an object property is present: `optional` may be omitted, `required` must be written,
 * `defaulted` may be omitted by the user but is always present once the apiserver has defaulted.
 */
export type Presence = "optional" | "required" | "defaulted";

export class Schema<In, Out = In, P extends Presence = "optional"> {
  /** Type-level only: the value as a user writes it. */
  declare readonly input: In;
  /** Type-level only: the value after defaulting. */
  declare readonly output: Out;

  constructor(
    readonly node: SchemaNode,
    readonly presence: P,
  ) {}

  required(): Schema<In, Out, "required"> {
    return new Schema(this.node, "required");
  }

  /** The apiserver writes `value` when the field is absent; `applyDefaults` does the same. */
  withDefault(value: In): Schema<In, Out, "defaulted"> {
    return new Schema({ ...this.node, default: value }, "defaulted");
  }

  describe(description: string): Schema<In, Out, P> {
    const { description: _replaced, ...rest } = this.node;
    return new Schema({ description, ...rest }, this.presence);
  }

  rule(rule: string, message: string, extra: Omit<ValidationRule, "rule" | "message"> = {}): Schema<In, Out, P> {
    const rules = [...(this.node["x-kubernetes-validations"] ?? []), { rule, message, ...extra }];
    return new Schema({ ...this.node, "x-kubernetes-validations": rules }, this.presence);
  }

  /** Rules that several fields share, added by a function (restoreRules, for example). */
  apply(add: (schema: Schema<In, Out, P>) => Schema<In, Out, P>): Schema<In, Out, P> {
    return add(this);
  }
}

export type AnySchema = Schema<unknown, unknown, Presence>;
export type Input<S extends AnySchema> = S["input"];
export type Output<S extends AnySchema> = S["output"];

type Props = Record<string, AnySchema>;
type Simplify<T> = { [K in keyof T]: T[K] };
type KeysWhere<P extends Props, M extends Presence> = {
  [K in keyof P]: P[K]["presence"] extends M ? K : never;
}[keyof P];

type ObjectInput<P extends Props> = Simplify<
  { [K in KeysWhere<P, "required">]: P[K]["input"] } & { [K in KeysWhere<P, "optional" | "defaulted">]?: P[K]["input"] }
>;
type ObjectOutput<P extends Props> = Simplify<
  { [K in KeysWhere<P, "required" | "defaulted">]: P[K]["output"] } & { [K in KeysWhere<P, "optional">]?: P[K]["output"] }
>;

interface StringOptions {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: "date-time";
}

export function string(opts: StringOptions = {}): Schema<string> {
  return new Schema({ type: "string", ...opts }, "optional");
}

export function integer(opts: { minimum?: number; maximum?: number; format?: "int32" | "int64" } = {}): Schema<number> {
  return new Schema({ type: "integer", ...opts }, "optional");
}

export function boolean(): Schema<boolean> {
  return new Schema({ type: "boolean" }, "optional");
}

export function enumOf<const V extends readonly string[]>(values: V): Schema<V[number]> {
  return new Schema({ type: "string", enum: values }, "optional");
}

/** An RFC 3339 timestamp, as Kubernetes serializes `metav1.Time`. */
export function timestamp(): Schema<string> {
  return string({ format: "date-time" });
}

/** The only `anyOf` form a structural schema allows: Kubernetes' int-or-string. */
export function intOrString(opts: { pattern?: string; maxLength?: number } = {}): Schema<number | string> {
  return new Schema(
    { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }], ...opts },
    "optional",
  );
}

/** Structural schemas express "may be null" with a flag, not with a `null` branch. */
export function nullable<I, O>(schema: Schema<I, O>): Schema<I | null, O | null> {
  return new Schema({ ...schema.node, nullable: true }, "optional");
}

export function object<P extends Props>(
  properties: P,
  opts: { minProperties?: number } = {},
): Schema<ObjectInput<P>, ObjectOutput<P>> {
  const nodes: Record<string, SchemaNode> = {};
  const required: string[] = [];
  for (const [name, prop] of Object.entries(properties)) {
    nodes[name] = prop.node;
    if (prop.presence === "required") required.push(name);
  }
  const node: SchemaNode = { type: "object", ...opts };
  if (Object.keys(nodes).length > 0) node.properties = nodes;
  if (required.length > 0) node.required = required;
  return new Schema(node, "optional");
}

interface ArrayOptions<Item> {
  minItems?: number;
  maxItems?: number;
  /** `set` makes the apiserver reject duplicates; `map` makes it reject duplicate keys. */
  listType?: "atomic" | "set" | "map";
  listMapKeys?: readonly (keyof Item & string)[];
}

export function array<I, O>(items: Schema<I, O>, opts: ArrayOptions<I> = {}): Schema<I[], O[]> {
  const { listType, listMapKeys, ...bounds } = opts;
  const node: SchemaNode = { type: "array", items: items.node, ...bounds };
  if (listType !== undefined) node["x-kubernetes-list-type"] = listType;
  if (listMapKeys !== undefined) node["x-kubernetes-list-map-keys"] = [...listMapKeys];
  return new Schema(node, "optional");
}

/** A string-keyed map (`additionalProperties`); keys can only be constrained by CEL. */
export function map<I, O>(
  values: Schema<I, O>,
  opts: { minProperties?: number; maxProperties?: number } = {},
): Schema<Record<string, I>, Record<string, O>> {
  return new Schema({ type: "object", additionalProperties: values.node, ...opts }, "optional");
}

/**
 * Applies the schema's defaults to a copy of `value` the way the apiserver does: an absent field
 * (or a `null` in a field that is not nullable) takes its default, and defaulting then continues
 * inside the defaulted value, which is why a parent object defaulted to `{}` gets its children's
 * defaults too.
 */
export function applyDefaults<In, Out>(schema: Schema<In, Out, Presence>, value: In): Out {
  return defaultNode(schema.node, structuredClone(value)) as Out;
}

function defaultNode(node: SchemaNode, value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = node.items;
    return items === undefined ? value : value.map((item) => defaultNode(items, item));
  }
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const absent = record[name] === undefined || (record[name] === null && child.nullable !== true);
    if (absent && child.default !== undefined) record[name] = structuredClone(child.default);
    if (record[name] !== undefined) record[name] = defaultNode(child, record[name]);
  }
  const extra = node.additionalProperties;
  if (extra !== undefined) {
    for (const [name, child] of Object.entries(record)) record[name] = defaultNode(extra, child);
  }
  return record;
}
