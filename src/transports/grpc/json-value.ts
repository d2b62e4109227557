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

/** Deeper data is refused: it is never a real payload and would only cost stack. */
const MAX_DEPTH = 64;

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

/** The JSON a Value stands for; an unset Value is null. Throws `bad_request` on what JSON cannot hold. */
export function valueToJson(value: unknown, depth = 0): unknown {
  if (value === undefined || value === null) return null;
  if (depth > MAX_DEPTH) throw new SwitchboardError('bad_request', `data nests deeper than ${MAX_DEPTH} levels.`);
  const v = value as Record<string, unknown>;
  if ('numberValue' in v) {
    const number = v.numberValue;
    if (typeof number !== 'number' || !Number.isFinite(number)) {
      throw new SwitchboardError('bad_request', 'data numbers must be finite (JSON has no NaN or Infinity).');
    }
    return number;
  }
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('structValue' in v) {
    const fields = (v.structValue as { fields?: Record<string, unknown> } | null)?.fields ?? {};
    // fromEntries defines own properties, so a "__proto__" key stays data.
    return Object.fromEntries(Object.entries(fields).map(([key, inner]) => [key, valueToJson(inner, depth + 1)]));
  }
  if ('listValue' in v) {
    const values = (v.listValue as { values?: unknown[] } | null)?.values ?? [];
    return values.map((inner) => valueToJson(inner, depth + 1));
  }
  // nullValue, or a Value with no member set.
  return null;
}
