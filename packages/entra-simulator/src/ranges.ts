/**
 * Sets of user indexes as sorted, disjoint, non-adjacent half-open ranges.
 * Group membership is kept in this form so a million-user group costs a few
 * numbers, and a page can be cut from it without expanding the set.
 */
export interface IndexRange {
  /** First index in the range. */
  start: number;
  /** One past the last index. */
  end: number;
}

/** Sorts and merges overlapping or touching ranges; drops empty ones. */
export function normalizeRanges(ranges: readonly IndexRange[]): IndexRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: IndexRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) {
      last.end = Math.max(last.end, r.end);
    } else {
      out.push({ start: r.start, end: r.end });
    }
  }
  return out;
}

/** Ranges covering exactly the given indexes (any order, duplicates allowed). */
export function rangesFromIndexes(indexes: readonly number[]): IndexRange[] {
  return normalizeRanges(indexes.map((i) => ({ start: i, end: i + 1 })));
}

export function rangesSize(ranges: readonly IndexRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.end - r.start;
  return n;
}

/**
 * Up to `limit` indexes from normalized `ranges`, starting at the first member
 * that is >= `from`. Returns the indexes and the index to resume from (null at
 * the end). Cost: O(log ranges + limit).
 */
export function sliceRanges(
  ranges: readonly IndexRange[],
  from: number,
  limit: number,
): { indexes: number[]; next: number | null } {
  let lo = 0;
  let hi = ranges.length;
  // First range whose end is beyond `from`.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ranges[mid]?.end ?? 0) <= from) lo = mid + 1;
    else hi = mid;
  }
  const indexes: number[] = [];
  let k = lo;
  let cursor = from;
  while (k < ranges.length && indexes.length < limit) {
    const r = ranges[k]!;
    let i = Math.max(cursor, r.start);
    while (i < r.end && indexes.length < limit) {
      indexes.push(i);
      i++;
    }
    if (i >= r.end) {
      k++;
      cursor = ranges[k]?.start ?? i;
    } else {
      cursor = i;
    }
  }
  const next = k < ranges.length ? Math.max(cursor, ranges[k]!.start) : null;
  return { indexes, next };
}
