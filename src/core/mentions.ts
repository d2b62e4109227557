import { USER_ID_PATTERN } from './names.js';

/** `@name` where name is a user id; an `@` inside a word (an e-mail address) is not a mention. */
const MENTION = /(?<![\p{L}\p{N}_.@-])@([A-Za-z0-9_.@-]{1,64})/gu;
const MAX_MENTIONS = 20;

/**
 * The distinct names a text mentions, at most 20. Cheap enough for every publish: the
 * caller tests `text.includes('@')` first, so ordinary messages skip the regex entirely.
 *
 * @example mentionedNames('hi @bob and @carol.') // ['bob', 'carol']
 */
export function mentionedNames(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(MENTION)) {
    // A sentence may end right after the name: "thanks @bob."
    const name = match[1]!.replace(/[.@-]+$/, '');
    if (USER_ID_PATTERN.test(name)) names.add(name);
    if (names.size >= MAX_MENTIONS) break;
  }
  return [...names];
}
