/** Formatting of the table's cells. */

const group = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const fmt = {
  ms(n: number): string {
    if (!Number.isFinite(n)) return 'n/a';
    return n >= 10_000 ? `${group(n / 1000, 1)} s` : `${group(n)} ms`;
  },
  mb: (n: number) => (Number.isFinite(n) ? `${group(n, 1)} MB` : 'n/a'),
  count: (n: number) => (Number.isFinite(n) ? group(n) : 'n/a'),
  perSecond: (n: number) => (Number.isFinite(n) ? `${group(n)}/s` : 'n/a'),
  bytes: (n: number) => (Number.isFinite(n) ? `${group(n)} B` : 'n/a'),
  percent: (n: number) => (Number.isFinite(n) ? `${group(n, 1)} %` : 'n/a'),
};
