import { Fragment, type ReactNode } from 'react';

/**
 * A safe markdown subset, rendered to React elements (never innerHTML): **bold**,
 * *italic* or _italic_, `code`, fenced code blocks, > quotes, [links](https://...) and bare
 * http(s) links, and @mentions. Anything else stays plain text, so a message can never
 * carry markup, scripts or styles.
 */
export function Markdown({ text, me }: { text: string; me: string }): ReactNode {
  return <>{blocks(text).map((block, i) => renderBlock(block, i, me))}</>;
}

type Block = { kind: 'code'; text: string } | { kind: 'quote'; text: string } | { kind: 'text'; text: string };

function blocks(text: string): Block[] {
  const out: Block[] = [];
  const lines = text.split('\n');
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length > 0) out.push({ kind: 'text', text: paragraph.join('\n') });
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trimStart().startsWith('```')) {
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && !lines[j]!.trimStart().startsWith('```')) body.push(lines[j++]!);
      if (j < lines.length) {
        flush();
        // The rest of the opening line (a language name) is not shown.
        out.push({ kind: 'code', text: body.join('\n') });
        i = j;
        continue;
      }
    }
    if (/^>\s?/.test(line)) {
      const quoted: string[] = [];
      let j = i;
      while (j < lines.length && /^>\s?/.test(lines[j]!)) quoted.push(lines[j++]!.replace(/^>\s?/, ''));
      flush();
      out.push({ kind: 'quote', text: quoted.join('\n') });
      i = j - 1;
      continue;
    }
    paragraph.push(line);
  }
  flush();
  return out;
}

function renderBlock(block: Block, key: number, me: string): ReactNode {
  switch (block.kind) {
    case 'code':
      return (
        <pre key={key} className="md-code-block">
          <code>{block.text}</code>
        </pre>
      );
    case 'quote':
      return (
        <blockquote key={key} className="md-quote">
          {inline(block.text, me)}
        </blockquote>
      );
    default:
      return (
        <p key={key} className="md-text">
          {inline(block.text, me)}
        </p>
      );
  }
}

const INLINE = new RegExp(
  [
    '(`[^`\\n]+`)', // 1 code
    '(\\*\\*[^*\\n]+?\\*\\*)', // 2 bold
    '((?<![\\w*])\\*[^*\\s](?:[^*\\n]*?[^*\\s])?\\*(?![\\w*]))', // 3 italic *
    '((?<!\\w)_[^_\\s](?:[^_\\n]*?[^_\\s])?_(?!\\w))', // 4 italic _
    '\\[([^\\]\\n]{1,200})\\]\\(((?:https?://|mailto:)[^\\s)]+)\\)', // 5 label, 6 url
    '(https?://[^\\s<>"]*[^\\s<>".,:;\'")\\]!?])', // 7 bare url
    '((?<![\\w@.])@[A-Za-z0-9_.@-]*[A-Za-z0-9_-])', // 8 mention
  ].join('|'),
  'g',
);

function inline(text: string, me: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let key = 0;
  for (const match of text.matchAll(INLINE)) {
    const index = match.index ?? 0;
    if (index > last) out.push(text.slice(last, index));
    last = index + match[0].length;
    const k = key++;
    if (match[1]) out.push(<code key={k}>{match[1].slice(1, -1)}</code>);
    else if (match[2]) out.push(<strong key={k}>{inline(match[2].slice(2, -2), me)}</strong>);
    else if (match[3]) out.push(<em key={k}>{inline(match[3].slice(1, -1), me)}</em>);
    else if (match[4]) out.push(<em key={k}>{inline(match[4].slice(1, -1), me)}</em>);
    else if (match[5] && match[6]) out.push(<ExternalLink key={k} href={match[6]} label={match[5]} />);
    else if (match[7]) out.push(<ExternalLink key={k} href={match[7]} label={match[7]} />);
    else if (match[8]) {
      const user = match[8].slice(1);
      out.push(
        <span key={k} className={user === me ? 'mention mention-me' : 'mention'}>
          {match[8]}
        </span>,
      );
    }
  }
  if (last < text.length) out.push(text.slice(last));
  return out.map((node, i) => (typeof node === 'string' ? <Fragment key={`t${i}`}>{node}</Fragment> : node));
}

function ExternalLink({ href, label }: { href: string; label: string }) {
  return (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow">
      {label}
    </a>
  );
}

/** Whether a message's text mentions `user` (for highlighting the whole message). */
export function mentions(text: string | null, user: string): boolean {
  if (!text) return false;
  const escaped = user.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w@.])@${escaped}(?![A-Za-z0-9_@-])`).test(text);
}
