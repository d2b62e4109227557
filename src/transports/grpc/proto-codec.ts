import {
  enumValueName,
  type ProtoEnum,
  type ProtoField,
  type ProtoMessage,
  type ProtoType,
} from './proto-model.js';
import { jsonToValue, valueToJson } from './json-value.js';

/**
 * Between the objects @grpc/proto-loader hands over (camelCase fields, enums by name,
 * int64 as numbers, unset fields absent) and the protocol's values, by walking the model
 * built from the protocol's schemas. Decoding only undoes what proto3 cannot say (no
 * null, no unset scalar, enums by prefixed name); whether the input is valid is the
 * pipeline's to judge, in the protocol's words.
 */

/** A request as decoded from the wire -> the command's raw input. */
export function decodeMessage(message: ProtoMessage, object: unknown, path = ''): Record<string, unknown> {
  const source = (object ?? {}) as Record<string, unknown>;
  const input: Record<string, unknown> = { ...message.constants };
  for (const field of message.fields) {
    const value = decodeField(field, source[field.name], path ? `${path}.${field.name}` : field.name);
    if (value !== undefined) input[field.name] = value;
  }
  return input;
}

function decodeField(field: ProtoField, raw: unknown, path: string): unknown {
  switch (field.label) {
    case 'repeated': {
      const items = Array.isArray(raw) ? raw : [];
      if (items.length === 0) return field.optional ? undefined : [];
      return items.map((item, index) => decodeValue(field.type, item, `${path}.${index}`));
    }
    case 'map': {
      const entries = Object.entries((raw ?? {}) as Record<string, unknown>);
      if (entries.length === 0) return field.optional ? undefined : {};
      return Object.fromEntries(entries.map(([key, item]) => [key, decodeValue(field.type, item, `${path}.${key}`)]));
    }
    case 'single': {
      if (raw === undefined || raw === null) return field.optional ? undefined : zeroOf(field.type);
      const value = decodeValue(field.type, raw, path);
      if (field.optional && (value === '' || (value === 0 && field.zeroIsUnset))) return undefined;
      return value;
    }
  }
}

/** What proto3 reads for a field without presence that was not sent. */
function zeroOf(type: ProtoType): unknown {
  if (type.kind !== 'scalar') return undefined;
  return { string: '', int64: 0, double: 0, bool: false }[type.scalar];
}

function decodeValue(type: ProtoType, raw: unknown, path: string): unknown {
  switch (type.kind) {
    case 'scalar':
      return raw;
    case 'value':
      return valueToJson(raw, path);
    case 'enum':
      // An unknown name (or number) goes on as it is, for the pipeline to refuse.
      return typeof raw === 'string' ? enumValues(type.enum).get(raw) ?? (raw.endsWith('_UNSPECIFIED') ? undefined : raw) : raw;
    case 'message': {
      const { message } = type;
      const source = raw as Record<string, unknown>;
      if (message.list) return decodeField(message.fields[0]!, source.items, path);
      if (message.oneof) {
        const member = message.fields.find((field) => field.name === source[message.oneof!]) ?? message.fields.find((field) => source[field.name] != null);
        return member ? decodeValue(member.type, source[member.name], path) : undefined;
      }
      return decodeMessage(message, source, path);
    }
  }
}

/** A command's result (or a pushed frame) -> the object proto-loader serializes: null fields unset. */
export function encodeMessage(message: ProtoMessage, value: unknown): Record<string, unknown> {
  const source = (value ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of message.fields) {
    const inner = source[field.name];
    if (inner !== undefined && inner !== null) out[field.name] = encodeField(field, inner);
  }
  return out;
}

/** One member of a oneof message (a stream's result or push): `{ [member]: value }`. */
export function encodeMember(message: ProtoMessage, member: string, value: unknown): Record<string, unknown> | null {
  const field = message.fields.find((candidate) => candidate.name === member);
  return field ? { [member]: encodeValue(field.type, value) } : null;
}

function encodeField(field: ProtoField, value: unknown): unknown {
  switch (field.label) {
    case 'repeated':
      return (value as unknown[]).map((item) => encodeValue(field.type, item));
    case 'map':
      return Object.fromEntries(Object.entries(value as object).map(([key, item]) => [key, encodeValue(field.type, item)]));
    case 'single':
      return encodeValue(field.type, value);
  }
}

function encodeValue(type: ProtoType, value: unknown): unknown {
  switch (type.kind) {
    case 'scalar':
      return value;
    case 'value':
      return jsonToValue(value);
    case 'enum':
      // A value added to the protocol after this .proto goes out as UNSPECIFIED, not a crash.
      return type.enum.values.includes(value as string) ? enumValueName(type.enum, value as string) : `${type.enum.prefix}_UNSPECIFIED`;
    case 'message': {
      const { message } = type;
      if (message.list) return { items: encodeField(message.fields[0]!, value) };
      if (message.oneof) {
        const member = closestMember(message, value as Record<string, unknown>);
        return { [member.name]: encodeValue(member.type, value) };
      }
      return encodeMessage(message, value);
    }
  }
}

/** The member of a union whose fields match the value's best (a deleted channel has only its id). */
function closestMember(message: ProtoMessage, value: Record<string, unknown>): ProtoField {
  const keys = Object.keys(value);
  let best = message.fields[0]!;
  let bestScore = -Infinity;
  for (const field of message.fields) {
    if (field.type.kind !== 'message') continue;
    const names = new Set([...field.type.message.fields.map((f) => f.name), ...Object.keys(field.type.message.constants)]);
    const score = keys.reduce((sum, key) => sum + (names.has(key) ? 1 : -1), 0);
    if (score > bestScore) [best, bestScore] = [field, score];
  }
  return best;
}

const reverse = new WeakMap<ProtoEnum, Map<string, string>>();

/** `CHANNEL_TYPE_PUBLIC` -> `public`, for one enum. */
function enumValues(definition: ProtoEnum): Map<string, string> {
  let names = reverse.get(definition);
  if (!names) {
    names = new Map(definition.values.map((value) => [enumValueName(definition, value), value]));
    reverse.set(definition, names);
  }
  return names;
}
