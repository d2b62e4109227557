import { ConfigError, loadConfig } from '../config.js';
import { defineCommand } from './command.js';
import { failEach } from './settings.js';

export const configCheckCommand = defineCommand({
  name: 'config check',
  args: 'FILE',
  summary: 'validate a config file as serve would read it',
  help: `Reads FILE with the loader \`switchboard serve --config FILE\` uses, with the
environment of this shell (PORT, SWITCHBOARD_JWT_SECRET ... count, as they would for
serve), and prints "FILE: ok", or every problem, one sentence a line, each naming its
setting. Exit code 0 when the file is valid, 1 when it is not.
`,
  options: {},
  positionals: [1, 1],
  async run({ positionals }) {
    const file = positionals[0]!;
    try {
      loadConfig({ file, env: process.env });
    } catch (error) {
      if (error instanceof ConfigError) return failEach(error.problems);
      throw error;
    }
    process.stdout.write(`${file}: ok\n`);
    return 0;
  },
});
