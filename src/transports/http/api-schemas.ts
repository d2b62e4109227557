import type { FastifyInstance, FastifySchema } from 'fastify';
import { z } from 'zod';
import type { RestRoute } from '../../../protocol/bindings.js';
import { COMMANDS, type CommandContract, type CommandName, errorBody } from '../../../protocol/commands.js';
import { ERROR_CODES, type ErrorCode } from '../../../protocol/codes.js';
import { pathFields, shapeOf, takesBody } from './rest-input.js';

/**
 * The OpenAPI description of a command's REST route, written from its contract: the
 * summary, the input split into path, query and body, the result, every error status the
 * error table can give, and who may call it. A command added to protocol/commands.ts and
 * protocol/bindings.ts is documented without a line here.
 */

export const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'A user token or an API key.' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-Switchboard-Key' },
  openUser: { type: 'apiKey', in: 'header', name: 'X-Switchboard-User', description: 'Auth mode "open" only.' },
} as const;

/** Who may call: the app's backend with an API key, a user with a token (or a name, in auth "open"), or either. */
const SECURITY: Record<CommandContract['caller'], Partial<Record<keyof typeof SECURITY_SCHEMES, []>>[]> = {
  any: [{ bearer: [] }, { apiKey: [] }, { openUser: [] }],
  user: [{ bearer: [] }, { openUser: [] }],
  server: [{ apiKey: [] }, { bearer: [] }],
};

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const SUCCESS: Record<number, string> = { 200: 'Done.', 201: 'Created.' };
const NO_CONTENT = z.null().describe('Done; no content.');

/** One response per HTTP status of the error table, naming its codes; the body is always `Error`. */
const ERROR_RESPONSES: Record<string, { description: string; content: ReturnType<typeof json> }> = {};
for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
  const status = String(ERROR_CODES[code].http);
  const named = `\`${code}\``;
  ERROR_RESPONSES[status] = {
    description: ERROR_RESPONSES[status] ? `${ERROR_RESPONSES[status].description}, ${named}` : named,
    content: json(errorBody),
  };
}

export function routeSchema(name: CommandName, route: RestRoute): FastifySchema {
  const contract: CommandContract = COMMANDS[name];
  const inPath = pathFields(route.path);
  const shape = shapeOf(contract.input);
  const rest = inPath.length === 0 ? contract.input : z.strictObject(pick(shape, (field) => !inPath.includes(field)));
  const restIsEmpty = rest instanceof z.ZodObject && Object.keys(rest.shape).length === 0;
  const successes = route.statusOf ? [200, 201] : [route.status];
  return {
    operationId: name,
    summary: contract.summary,
    tags: [route.path.split('/')[2]!],
    security: SECURITY[contract.caller],
    ...(inPath.length > 0 && { params: z.object(pick(shape, (field) => inPath.includes(field))) }),
    ...(!restIsEmpty && (takesBody(route.method) ? { body: rest } : { querystring: rest })),
    response: {
      ...Object.fromEntries(
        successes.map((status) => [
          status,
          status === 204 ? NO_CONTENT : { description: SUCCESS[status]!, content: json(contract.result) },
        ]),
      ),
      ...ERROR_RESPONSES,
    },
  };
}

function pick(shape: Readonly<Record<string, z.ZodType>>, keep: (field: string) => boolean): Record<string, z.ZodType> {
  return Object.fromEntries(Object.entries(shape).filter(([field]) => keep(field)));
}

/**
 * Route schemas in this context document the routes (OpenAPI) and nothing more: the command
 * pipeline validates every input once, with the protocol's messages, and results are sent
 * as the handlers shape them. Fastify still parses JSON and enforces the body limit.
 */
export function documentOnly(app: FastifyInstance): void {
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}
