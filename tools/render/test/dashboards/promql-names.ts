/**
 * Metric names used by a PromQL expression, found by a small tokenizer —
 * enough to check dashboards and rules against the metric catalogue without
 * a full PromQL parser.
 *
 * What it understands: strings ('…', "…", `…`, with escapes), numbers,
 * durations (`5m`, `1h30m`), comments, label matchers (`{…}`, skipped, except
 * `__name__="x"`, which names a metric), range and subquery brackets (`[…]`,
 * skipped), function calls and aggregations (`name(`), grouping and
 * vector-matching label lists (`by`, `without`, `on`, `ignoring`,
 * `group_left`, `group_right` followed by `(…)`), keywords and binary
 * operators (`and`, `or`, `unless`, `bool`, `offset`, `atan2`, `@`), and
 * Grafana's macros and variables (`$__rate_interval`, `$var`, `${var}`,
 * `[[var]]`). Identifiers may contain colons (recording rules).
 */

type Token =
  | { kind: 'ident'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'number' }
  | { kind: 'variable' }
  | { kind: 'punct'; text: string };

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'atan2',
  'inf',
  'nan',
]);
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const DURATION = /^(?:\d+(?:ms|[smhdwy]))+/;
const NUMBER = /^(?:0[xX][0-9a-fA-F]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)/;
const IDENT = /^[A-Za-z_:][A-Za-z0-9_:]*/;
const GRAFANA_VARIABLE = /^(?:\$\{[^}]*\}|\$\w+|\[\[[^\]]*\]\])/;

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const c = expr[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      const nl = expr.indexOf('\n', i);
      i = nl === -1 ? expr.length : nl + 1;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let text = '';
      while (j < expr.length && expr[j] !== c) {
        if (expr[j] === '\\' && c !== '`') {
          text += expr[j + 1] ?? '';
          j += 2;
        } else {
          text += expr[j];
          j++;
        }
      }
      if (j >= expr.length) throw new SyntaxError(`unterminated string at ${i} in: ${expr}`);
      tokens.push({ kind: 'string', text });
      i = j + 1;
      continue;
    }
    const variable = GRAFANA_VARIABLE.exec(rest);
    if (variable) {
      tokens.push({ kind: 'variable' });
      i += variable[0].length;
      continue;
    }
    const duration = DURATION.exec(rest);
    if (duration) {
      tokens.push({ kind: 'number' });
      i += duration[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number && /[\d.]/.test(c)) {
      tokens.push({ kind: 'number' });
      i += number[0].length;
      continue;
    }
    const ident = IDENT.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0] });
      i += ident[0].length;
      continue;
    }
    const op = /^(?:==|!=|>=|<=|=~|!~)/.exec(rest);
    tokens.push({ kind: 'punct', text: op ? op[0] : c });
    i += op ? op[0].length : 1;
  }
  return tokens;
}

/** Index just past the bracket that closes the one at `open` (same kind, nested). */
function skipBalanced(tokens: Token[], open: number, left: string, right: string): number {
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    const t = tokens[k];
    if (t?.kind !== 'punct') continue;
    if (t.text === left) depth++;
    else if (t.text === right && --depth === 0) return k + 1;
  }
  throw new SyntaxError(`unbalanced "${left}"`);
}

/** The metric names `expr` selects, sorted and without duplicates. */
export function metricNames(expr: string): string[] {
  const tokens = tokenize(expr);
  const names = new Set<string>();
  let k = 0;
  while (k < tokens.length) {
    const t = tokens[k] as Token;
    const next = tokens[k + 1];
    const isOpen = (tok: Token | undefined, text: string) => tok?.kind === 'punct' && tok.text === text;

    if (t.kind === 'punct' && t.text === '{') {
      const end = skipBalanced(tokens, k, '{', '}');
      // {__name__="metric", …}: the one way a matcher names a metric.
      for (let m = k + 1; m < end - 2; m++) {
        const [a, b, c] = [tokens[m], tokens[m + 1], tokens[m + 2]];
        if (a?.kind === 'ident' && a.text === '__name__' && isOpen(b, '=') && c?.kind === 'string') {
          names.add(c.text);
        }
      }
      k = end;
      continue;
    }
    if (t.kind === 'punct' && t.text === '[') {
      k = skipBalanced(tokens, k, '[', ']');
      continue;
    }
    if (t.kind === 'ident') {
      const lower = t.text.toLowerCase();
      if (LABEL_LIST_KEYWORDS.has(lower) && isOpen(next, '(')) {
        k = skipBalanced(tokens, k + 1, '(', ')');
        continue;
      }
      if (KEYWORDS.has(lower) || isOpen(next, '(')) {
        k++; // a keyword, or a function / aggregation name
        continue;
      }
      if (
        LABEL_LIST_KEYWORDS.has(next?.kind === 'ident' ? next.text.toLowerCase() : '') &&
        isOpen(tokens[k + 2], '(') &&
        AGGREGATIONS.has(lower)
      ) {
        k++; // `sum by (…) (…)`: the aggregation comes before its grouping
        continue;
      }
      names.add(t.text);
    }
    k++;
  }
  return [...names].sort();
}

/**
 * The label names `expr` refers to: in label matchers (`{route="/x"}`) and in
 * grouping and vector-matching lists (`by (service)`, `on (service)`,
 * `group_left (team)`). `__name__` is not a label here.
 */
export function labelNames(expr: string): string[] {
  const tokens = tokenize(expr);
  const labels = new Set<string>();
  const isPunct = (tok: Token | undefined, text: string) => tok?.kind === 'punct' && tok.text === text;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k] as Token;
    if (isPunct(t, '{')) {
      const end = skipBalanced(tokens, k, '{', '}');
      for (let m = k + 1; m < end - 1; m++) {
        const a = tokens[m];
        const op = tokens[m + 1];
        if (a?.kind === 'ident' && op?.kind === 'punct' && ['=', '!=', '=~', '!~'].includes(op.text)) {
          if (a.text !== '__name__') labels.add(a.text);
        }
      }
      k = end - 1;
    } else if (isPunct(t, '[')) {
      k = skipBalanced(tokens, k, '[', ']') - 1;
    } else if (
      t.kind === 'ident' &&
      LABEL_LIST_KEYWORDS.has(t.text.toLowerCase()) &&
      isPunct(tokens[k + 1], '(')
    ) {
      const end = skipBalanced(tokens, k + 1, '(', ')');
      for (let m = k + 2; m < end - 1; m++) {
        const a = tokens[m];
        if (a?.kind === 'ident') labels.add(a.text);
      }
      k = end - 1;
    }
  }
  return [...labels].sort();
}

/** Label names a Grafana legend format uses (`{{service}} → {{upstream}}`). */
export function legendLabels(legend: string): string[] {
  return [
    ...new Set([...legend.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1] as string)),
  ].sort();
}

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
