import { SwitchboardError } from '../../core/errors.js';

/**
 * google.protobuf.Value as @grpc/proto-loader hands it over (oneofs on, so `kind` names
 * the member that is set). Messages carry any JSON `data` in this type, which grpcurl and
 * every generated client show as plain JSON.
 */
export type ProtoValue =
  | { nullValue: 'NULL_VALUE' | 0 }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: { fields?: Record<string, ProtoValue> } }
  | { listValue: { values?: ProtoValue[] } };

/**
 * Deeper than this is refused while decoding, before the protocol's own (lower) data
 * limits judge the rest: protobuf itself refuses to encode beyond 100 levels, and a
 * hostile depth must not cost stack.
 */
const MAX_DEPTH = 100;

export function jsonToValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'number':
      return { numberValue: value };
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'object':
      if (Array.isArray(value)) return { listValue: { values: value.map(jsonToValue) } };
      return {
        structValue: {
          fields: Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, jsonToValue(inner)])),
        },
      };
    default:
      return { nullValue: 'NULL_VALUE' };
  }
}

/**
 * The JSON a Value stands for; an unset Value is null. Numbers pass as they are (a NaN is
 * refused by the protocol's data rules, with the field named); `field` names the field in
 * the one error thrown here, for nesting beyond MAX_DEPTH.
 */
export function valueToJson(value: unknown, field: string, depth = 0): unknown {
  if (value === undefined || value === null) return null;
  if (depth > MAX_DEPTH) throw new SwitchboardError('bad_request', `Invalid ${field}: data nests deeper than ${MAX_DEPTH} levels.`);
  const v = value as Record<string, unknown>;
  if ('numberValue' in v) return v.numberValue;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('structValue' in v) {
    const fields = (v.structValue as { fields?: Record<string, unknown> } | null)?.fields ?? {};
    // fromEntries defines own properties, so a "__proto__" key stays data.
    return Object.fromEntries(Object.entries(fields).map(([key, inner]) => [key, valueToJson(inner, field, depth + 1)]));
  }
  if ('listValue' in v) {
    const values = (v.listValue as { values?: unknown[] } | null)?.values ?? [];
    return values.map((inner) => valueToJson(inner, field, depth + 1));
  }
  // nullValue, or a Value with no member set.
  return null;
}
