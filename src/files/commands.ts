import type { Handlers } from '../edge/command-registry.js';
import type { Files } from './files.js';
import { toFileLinks } from './message-files.js';

/** The files module's commands: signed links to files, for readers of their channels. */
export function filesCommands(files: Files): Handlers {
  return {
    'files.get': async ({ principal }, { ids }) => {
      const { files: found, missing } = await files.describeMany(principal, ids);
      return { files: found.map(toFileLinks), missing };
    },
  };
}
