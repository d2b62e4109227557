import { useEffect, useRef } from 'react';
import { createPortal } from 'react-dom';

export const EMOJIS: readonly (readonly [string, string])[] = [
  ['👍', 'thumbs up'],
  ['❤️', 'heart'],
  ['😂', 'laughing'],
  ['🎉', 'party'],
  ['😮', 'surprised'],
  ['😢', 'sad'],
  ['🙏', 'thanks'],
  ['👀', 'looking'],
  ['✅', 'done'],
  ['🚀', 'rocket'],
  ['🔥', 'fire'],
  ['👎', 'thumbs down'],
];

/** A small grid of emoji next to the button that opened it; Escape or a click outside closes it. */
export function ReactionPicker({
  anchor,
  onPick,
  onClose,
}: {
  anchor: DOMRect;
  onPick: (emoji: string) => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector('button')?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose();
    };
    const onDown = (event: MouseEvent) => {
      if (ref.current && !ref.current.contains(event.target as Node)) onClose();
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onDown);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onDown);
    };
  }, [onClose]);
  const width = 232;
  const left = Math.max(8, Math.min(window.innerWidth - width - 8, anchor.right - width));
  const below = anchor.bottom + 150 < window.innerHeight;
  const style = below ? { left, top: anchor.bottom + 4 } : { left, bottom: window.innerHeight - anchor.top + 4 };
  return createPortal(
    <div ref={ref} className="reaction-picker" role="dialog" aria-label="Pick a reaction" style={style}>
      {EMOJIS.map(([emoji, name]) => (
        <button key={emoji} type="button" aria-label={`React with ${name}`} title={name} onClick={() => onPick(emoji)}>
          {emoji}
        </button>
      ))}
    </div>,
    document.body,
  );
}
