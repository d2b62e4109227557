import { type ReactNode, useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'react';

export interface VirtualRow {
  readonly key: string;
  /** A guess at the row's height until it has been measured. */
  readonly estimate: number;
  /**
   * A row that moves when pages load (a "loading" line, a day separator that a page of
   * the same day pushes up): never the row the view holds still.
   */
  readonly edge?: boolean;
}

export interface VirtualListProps<R extends VirtualRow> {
  readonly rows: readonly R[];
  readonly render: (row: R) => ReactNode;
  readonly label: string;
  readonly busy: boolean;
  /** Bring this row into view (a third down the viewport) each time `token` changes. */
  readonly focus: { readonly key: string; readonly token: number } | null;
  /** Scroll to the bottom (and stay there) each time this changes. */
  readonly bottomToken: number;
  readonly onNearTop: () => void;
  readonly onNearBottom: () => void;
  readonly onAtBottom: (atBottom: boolean) => void;
}

/** How far beyond the viewport rows are rendered, and how close to an end loads the next page. */
const OVERSCAN_PX = 900;
const LOAD_AHEAD_PX = 1200;
const BOTTOM_SLACK_PX = 48;

/**
 * A windowed list: only the rows near the viewport are in the DOM (about a hundred,
 * whether the channel has 50 messages or 10,000), each at its offset from measured (or
 * estimated) heights. It keeps what you are looking at in place when rows are added
 * above it (older pages) or change height, and stays at the bottom while you are there,
 * as new messages arrive. A WAI-ARIA feed: each message is an article.
 */
export function VirtualList<R extends VirtualRow>(props: VirtualListProps<R>) {
  const { rows, render } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const [measured, remeasure] = useReducer((n: number) => n + 1, 0);
  const [viewport, setViewport] = useState({ top: 0, height: 800 });
  const atBottom = useRef(true);
  /** The first visible row and its distance from the top of the viewport. */
  const anchor = useRef<{ key: string; offset: number } | null>(null);
  const callbacks = useRef(props);
  callbacks.current = props;

  const layout = useMemo(() => {
    const tops = new Float64Array(rows.length + 1);
    const index = new Map<string, number>();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      index.set(row.key, i);
      tops[i + 1] = tops[i]! + (heights.current.get(row.key) ?? row.estimate);
    }
    return { tops, index, total: tops[rows.length]! };
    // `measured` changes when a row's height does.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows, measured]);
  const layoutRef = useRef(layout);
  layoutRef.current = layout;

  const observer = useMemo(
    () =>
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver((entries) => {
            let changed = false;
            for (const entry of entries) {
              const element = entry.target as HTMLElement;
              const key = element.dataset.key;
              if (!key || !element.isConnected) continue;
              const height = entry.borderBoxSize?.[0]?.blockSize ?? element.offsetHeight;
              if (height > 0 && Math.abs((heights.current.get(key) ?? -1) - height) > 0.5) {
                heights.current.set(key, height);
                changed = true;
              }
            }
            if (changed) remeasure();
          }),
    [],
  );
  useEffect(() => () => observer?.disconnect(), [observer]);

  const measureRow = useCallback(
    (element: HTMLDivElement | null) => {
      if (!element || !observer) return;
      observer.observe(element);
      return () => observer.unobserve(element);
    },
    [observer],
  );

  const remember = useCallback((element: HTMLDivElement) => {
    const { tops, total } = layoutRef.current;
    atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < BOTTOM_SLACK_PX;
    const rowsNow = callbacks.current.rows;
    let i = Math.min(rowsNow.length - 1, firstAtOrAfter(tops, element.scrollTop));
    while (i >= 0 && i < rowsNow.length - 1 && rowsNow[i]!.edge) i++;
    anchor.current = i >= 0 ? { key: rowsNow[i]!.key, offset: tops[i]! - element.scrollTop } : null;
    void total;
  }, []);

  const onScroll = useCallback(() => {
    const element = scroller.current;
    if (!element) return;
    remember(element);
    setViewport({ top: element.scrollTop, height: element.clientHeight });
    callbacks.current.onAtBottom(atBottom.current);
    loadNearEnds(element, callbacks.current);
  }, [remember]);

  // After every change of rows or heights: keep the bottom, or keep the anchor row still.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    if (atBottom.current) {
      element.scrollTop = element.scrollHeight;
    } else if (anchor.current) {
      const i = layout.index.get(anchor.current.key);
      if (i !== undefined) element.scrollTop = layout.tops[i]! - anchor.current.offset;
    }
    remember(element);
    setViewport((v) => (v.top === element.scrollTop && v.height === element.clientHeight ? v : { top: element.scrollTop, height: element.clientHeight }));
  }, [layout, remember]);

  // A page finished loading, or rows changed or were measured, and the view is still near
  // an end (the page was short, or the reader was already at the very top, where scrolling
  // further fires no scroll event): load the next one, as a scroll there would.
  const busy = props.busy;
  useEffect(() => {
    const element = scroller.current;
    if (element && !busy) loadNearEnds(element, callbacks.current);
  }, [busy, layout]);

  // A jump: put the row a third of the way down and anchor it there.
  const focus = props.focus;
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element || !focus) return;
    const i = layoutRef.current.index.get(focus.key);
    if (i === undefined) return;
    const offset = Math.round(element.clientHeight * 0.3);
    element.scrollTop = Math.max(0, layoutRef.current.tops[i]! - offset);
    atBottom.current = false;
    anchor.current = { key: focus.key, offset: layoutRef.current.tops[i]! - element.scrollTop };
    setViewport({ top: element.scrollTop, height: element.clientHeight });
    callbacks.current.onAtBottom(false);
  }, [focus?.key, focus?.token]);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element || props.bottomToken === 0) return;
    atBottom.current = true;
    element.scrollTop = element.scrollHeight;
    setViewport({ top: element.scrollTop, height: element.clientHeight });
    callbacks.current.onAtBottom(true);
  }, [props.bottomToken]);

  // The viewport itself resizes (window, keyboard on phones, a panel opening).
  useEffect(() => {
    const element = scroller.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const resize = new ResizeObserver(() => {
      if (atBottom.current) element.scrollTop = element.scrollHeight;
      setViewport({ top: element.scrollTop, height: element.clientHeight });
    });
    resize.observe(element);
    return () => resize.disconnect();
  }, []);

  const { tops, total } = layout;
  const start = Math.max(0, firstAtOrAfter(tops, viewport.top - OVERSCAN_PX) - 1);
  const end = Math.min(rows.length, firstAtOrAfter(tops, viewport.top + viewport.height + OVERSCAN_PX) + 1);
  const visible: ReactNode[] = [];
  for (let i = start; i < end; i++) {
    const row = rows[i]!;
    visible.push(
      <div key={row.key} data-key={row.key} ref={measureRow} className="vrow" style={{ transform: `translateY(${tops[i]}px)` }}>
        {render(row)}
      </div>,
    );
  }

  return (
    <div
      ref={scroller}
      className="message-scroller"
      role="feed"
      aria-label={props.label}
      aria-busy={props.busy}
      tabIndex={0}
      onScroll={onScroll}
    >
      <div className="vlist" style={{ height: total }}>
        {visible}
      </div>
    </div>
  );
}

/** Asks for the next page at whichever end the view is near. */
function loadNearEnds(element: HTMLElement, { onNearTop, onNearBottom }: Pick<VirtualListProps<VirtualRow>, 'onNearTop' | 'onNearBottom'>): void {
  if (element.scrollTop < LOAD_AHEAD_PX) onNearTop();
  if (element.scrollHeight - element.scrollTop - element.clientHeight < LOAD_AHEAD_PX) onNearBottom();
}

/** The index of the first row whose bottom is below `y` (binary search over the tops). */
function firstAtOrAfter(tops: Float64Array, y: number): number {
  let low = 0;
  let high = tops.length - 2;
  if (high < 0) return 0;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (tops[middle + 1]! <= y) low = middle + 1;
    else high = middle;
  }
  return low;
}
