// Selector parser, evaluator and printer: syntax errors with columns, Calico semantics, and properties
// (print → parse round trip, agreement with a reference evaluator, negation).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Labels,
  NAMESPACE_LABEL,
  parseSelector,
  printSelector,
  type SelectorNode,
  SelectorSyntaxError,
} from '../src/index.js';

function syntaxError(source: string): SelectorSyntaxError {
  try {
    parseSelector(source);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) return error;
    throw error;
  }
  throw new Error(`"${source}" parsed without error`);
}

describe('selector parser', () => {
  it('parses every operator', () => {
    const labels = { app: 'web', tier: 'frontend', 'k8s.io/name': 'nginx-1' };
    const cases: [string, boolean][] = [
      ["app == 'web'", true],
      ['app == "db"', false],
      ["app != 'db'", true],
      ["missing != 'x'", true],
      ["tier in { 'frontend', 'backend' }", true],
      ["tier not in {'frontend'}", false],
      ["missing not in {'a'}", true],
      ['tier in {}', false],
      ['has(app)', true],
      ['!has(app)', false],
      ['has(k8s.io/name)', true],
      ['all()', true],
      ['', true],
      ["k8s.io/name starts with 'nginx'", true],
      ["k8s.io/name ends with '-1'", true],
      ["k8s.io/name contains 'inx'", true],
      ["missing contains ''", false],
      ["app == 'web' && tier == 'backend'", false],
      ["app == 'web' || tier == 'backend'", true],
      ["!(app == 'web' && tier == 'frontend')", false],
      ["(app == 'db' || app == 'web') && has(tier)", true],
    ];
    for (const [source, expected] of cases)
      expect(parseSelector(source).matches(labels), source).toBe(expected);
  });

  it('global() matches label sets without the namespace label', () => {
    expect(parseSelector('global()').matches({ a: 'b' })).toBe(true);
    expect(parseSelector('global()').matches({ [NAMESPACE_LABEL]: 'default' })).toBe(false);
  });

  it('&& binds tighter than ||', () => {
    expect(parseSelector('has(a) || has(b) && has(c)').ast).toEqual({
      type: 'or',
      left: { type: 'has', key: 'a' },
      right: { type: 'and', left: { type: 'has', key: 'b' }, right: { type: 'has', key: 'c' } },
    });
  });

  it('syntax errors point at the column with a caret line', () => {
    const missingQuote = syntaxError("app == 'web");
    expect(missingQuote.column).toBe(8);
    expect(missingQuote.message).toContain('unterminated string');
    expect(missingQuote.message.split('\n')[2]).toBe(`  ${' '.repeat(7)}^`);

    const badOperator = syntaxError("app = 'web'");
    expect(badOperator.column).toBe(5);
    expect(badOperator.reason).toMatch(/did you mean "=="/);
    expect(syntaxError("app 'web'").reason).toMatch(/expected an operator/);

    expect(syntaxError("app == 'a' &&").column).toBe(14);
    expect(syntaxError("app == 'a' has(b)").column).toBe(12);
    expect(syntaxError('(has(a)').reason).toMatch(/expected "\)" but found end of selector/);
    expect(syntaxError("app in {'a' 'b'}").column).toBe(13);
    expect(syntaxError('app == web').reason).toMatch(/quoted string/);
    expect(syntaxError('has(-bad)').reason).toMatch(/label key name/);
    expect(syntaxError('has(Bad_Prefix/x)').reason).toMatch(/prefix/);
    expect(syntaxError('app == $').column).toBe(8);
  });

  it('prints canonically and round-trips', () => {
    expect(parseSelector(' app=="web"&&( has(a)||!has(b) ) ').toString()).toBe(
      "app == 'web' && (has(a) || !has(b))",
    );
    expect(parseSelector(`name == "it's"`).toString()).toBe(`name == "it's"`);
  });
});

const keys = ['a', 'b', 'app', 'k8s.io/name', NAMESPACE_LABEL];
const values = ['', 'x', 'y', 'web-1', "it's", 'w'];
const keyArb = fc.constantFrom(...keys);
const valueArb = fc.constantFrom(...values);

const { node: astArb } = fc.letrec<{ node: SelectorNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant<SelectorNode>({ type: 'all' }),
    fc.constant<SelectorNode>({ type: 'global' }),
    keyArb.map((key): SelectorNode => ({ type: 'has', key })),
    fc
      .record({
        type: fc.constantFrom('eq', 'neq', 'startsWith', 'endsWith', 'contains' as const),
        key: keyArb,
        value: valueArb,
      })
      .map((n) => n as SelectorNode),
    fc
      .record({
        type: fc.constantFrom('in', 'notIn' as const),
        key: keyArb,
        values: fc.array(valueArb, { maxLength: 3 }),
      })
      .map((n) => n as SelectorNode),
    tie('node').map((operand): SelectorNode => ({ type: 'not', operand })),
    fc
      .record({ type: fc.constantFrom('and', 'or' as const), left: tie('node'), right: tie('node') })
      .map((n) => n as SelectorNode),
  ),
}));

const labelsArb: fc.Arbitrary<Labels> = fc.dictionary(keyArb, valueArb, { maxKeys: 5 });

/** Reference semantics written independently: Calico's rules as a table of predicates on (present, value). */
function reference(node: SelectorNode, labels: Labels): boolean {
  const entry = Object.entries(labels).find(([key]) => 'key' in node && key === node.key);
  const present = entry !== undefined;
  const value = entry?.[1] ?? '';
  switch (node.type) {
    case 'all':
      return true;
    case 'global':
      return !Object.keys(labels).includes(NAMESPACE_LABEL);
    case 'has':
      return present;
    case 'eq':
      return present && value === node.value;
    case 'neq':
      return !(present && value === node.value);
    case 'in':
      return present && node.values.some((candidate) => candidate === value);
    case 'notIn':
      return !(present && node.values.some((candidate) => candidate === value));
    case 'startsWith':
      return present && value.slice(0, node.value.length) === node.value;
    case 'endsWith':
      return (
        present &&
        value.length >= node.value.length &&
        value.slice(value.length - node.value.length) === node.value
      );
    case 'contains':
      return (
        present &&
        Array.from({ length: value.length - node.value.length + 1 }, (_, i) =>
          value.slice(i, i + node.value.length),
        ).includes(node.value)
      );
    case 'not':
      return !reference(node.operand, labels);
    case 'and':
      return [node.left, node.right].every((child) => reference(child, labels));
    case 'or':
      return [node.left, node.right].some((child) => reference(child, labels));
  }
}

describe('selector properties', () => {
  it('print → parse gives the same AST', () => {
    fc.assert(
      fc.property(astArb, (ast) => {
        expect(parseSelector(printSelector(ast)).ast).toEqual(ast);
      }),
      { numRuns: 500 },
    );
  });

  it('evaluation agrees with the reference evaluator', () => {
    fc.assert(
      fc.property(astArb, labelsArb, (ast, labels) => {
        expect(parseSelector(printSelector(ast)).matches(labels)).toBe(reference(ast, labels));
      }),
      { numRuns: 1000 },
    );
  });

  it('!(a) matches exactly when a does not', () => {
    fc.assert(
      fc.property(astArb, labelsArb, (ast, labels) => {
        const text = printSelector(ast);
        expect(parseSelector(`!(${text})`).matches(labels)).toBe(!parseSelector(text).matches(labels));
      }),
      { numRuns: 500 },
    );
  });
});
