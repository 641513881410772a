/**
 * Graph's `$search` on directory objects, for `GET /groups`, as
 * https://learn.microsoft.com/en-us/graph/search-query-parameter#using-search-on-directory-object-collections
 * describes it: clauses `"property:text"` in double quotes (a `"` or `\`
 * inside escaped with a backslash) joined by upper-case AND / OR.
 * displayName and description are tokenized (words split at spaces,
 * symbols, digits and lower-to-upper case changes, matched in any order and
 * regardless of case, each search word as the start of a name word); other
 * properties match as `startswith`. Parentheses are not simulated.
 */
import type { DirectoryGroup } from './directory.js';

export interface SearchClause {
  property: string;
  text: string;
}

export type SearchExpression = { clauses: SearchClause[]; operators: ('AND' | 'OR')[] };

export type SearchParse =
  | { ok: true; expression: SearchExpression }
  | { ok: false; reason: 'syntax' | 'parentheses' };

/** Reads a `$search` value (already URL-decoded). */
export function parseSearch(value: string): SearchParse {
  const clauses: SearchClause[] = [];
  const operators: ('AND' | 'OR')[] = [];
  let i = 0;
  const skipSpaces = () => {
    while (value[i] === ' ') i++;
  };
  for (;;) {
    skipSpaces();
    if (value[i] === '(' || value[i] === ')') return { ok: false, reason: 'parentheses' };
    if (value[i] !== '"') return { ok: false, reason: 'syntax' };
    i++;
    let text = '';
    let closed = false;
    while (i < value.length) {
      const c = value[i]!;
      if (c === '\\' && i + 1 < value.length) {
        text += value[i + 1];
        i += 2;
        continue;
      }
      if (c === '"') {
        closed = true;
        i++;
        break;
      }
      text += c;
      i++;
    }
    const colon = text.indexOf(':');
    if (!closed || colon <= 0) return { ok: false, reason: 'syntax' };
    clauses.push({ property: text.slice(0, colon).trim(), text: text.slice(colon + 1) });
    skipSpaces();
    if (i >= value.length) return { ok: true, expression: { clauses, operators } };
    const rest = value.slice(i);
    const op = /^(AND|OR) /.exec(rest)?.[1] as 'AND' | 'OR' | undefined;
    if (!op) return { ok: false, reason: rest.startsWith(')') ? 'parentheses' : 'syntax' };
    operators.push(op);
    i += op.length;
  }
}

/**
 * The words Graph's tokenizer makes of a value: split at anything but a
 * letter or digit, between letters and digits, and where lower case turns
 * upper ("HelloWorld" → hello, world; "HELLOworld" stays one word); plus
 * each run of words joined only by symbols, run together ("hello-world" is
 * also found as "helloworld").
 */
export function searchTokens(value: string): string[] {
  const tokens = new Set<string>();
  for (const chunk of value.split(/\s+/).filter(Boolean)) {
    const parts = chunk.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    for (const part of parts) {
      for (const word of part.split(
        /(?<=\p{Ll})(?=\p{Lu})|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/u,
      )) {
        if (word) tokens.add(word.toLowerCase());
      }
    }
    if (parts.length > 0) tokens.add(parts.join('').toLowerCase());
  }
  return [...tokens];
}

function clauseMatches(group: DirectoryGroup, clause: SearchClause): boolean {
  const property = clause.property.toLowerCase();
  const value =
    property === 'displayname'
      ? group.displayName
      : property === 'description'
        ? (group.description ?? '')
        : property === 'mailnickname'
          ? group.displayName.replace(/[^A-Za-z0-9]/g, '')
          : null;
  if (value === null) return false;
  if (property === 'mailnickname') {
    return value.toLowerCase().startsWith(clause.text.trim().toLowerCase());
  }
  const wanted = searchTokens(clause.text);
  if (wanted.length === 0) return false;
  const have = searchTokens(value);
  return wanted.every((w) => have.some((h) => h.startsWith(w)));
}

/** Whether a group matches: clauses combined left to right (AND before OR is not simulated). */
export function groupMatches(group: DirectoryGroup, expression: SearchExpression): boolean {
  let result = clauseMatches(group, expression.clauses[0]!);
  expression.operators.forEach((op, i) => {
    const next = clauseMatches(group, expression.clauses[i + 1]!);
    result = op === 'AND' ? result && next : result || next;
  });
  return result;
}

/** The properties a clause may name (those the simulator can evaluate). */
export const SEARCHABLE_GROUP_PROPERTIES = ['displayName', 'description', 'mailNickname'];
