import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');

/** A full garbage collection, now: for tests about what memory is still held. */
export const collectGarbage = runInNewContext('gc') as () => void;
