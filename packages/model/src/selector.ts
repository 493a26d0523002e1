// Calico-style label selectors: tokenizer, recursive-descent parser with column-precise syntax errors,
// evaluator over a label map, and a canonical printer whose output re-parses to the same AST.

export type SelectorNode =
  | { type: 'all' }
  | { type: 'global' }
  | { type: 'has'; key: string }
  | { type: 'eq' | 'neq' | 'startsWith' | 'endsWith' | 'contains'; key: string; value: string }
  | { type: 'in' | 'notIn'; key: string; values: string[] }
  | { type: 'not'; operand: SelectorNode }
  | { type: 'and' | 'or'; left: SelectorNode; right: SelectorNode };

/** Label set as a resource carries it. */
export type Labels = Readonly<Record<string, string>>;

/** Label that marks a namespaced endpoint; `global()` matches label sets without it. */
export const NAMESPACE_LABEL = 'projectcalico.org/namespace';

export class SelectorSyntaxError extends Error {
  override readonly name = 'SelectorSyntaxError';
  constructor(
    readonly selector: string,
    /** 1-based column of the offending character. */
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${reason} at column ${column}\n  ${selector}\n  ${' '.repeat(Math.max(0, column - 1))}^`);
  }
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a Kubernetes label key (`[prefix/]name`), or undefined when it is one. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key prefix "${prefix}" must be a DNS subdomain (lowercase alphanumerics, '-', '.', at most 253 characters)`;
  }
  if (!LABEL_NAME.test(name)) {
    return `label key name "${name}" must be 1-63 characters of alphanumerics, '-', '_', '.', starting and ending with an alphanumeric`;
  }
  return undefined;
}

/** Why `value` is not a Kubernetes label value, or undefined when it is one. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '' || LABEL_NAME.test(value)) return undefined;
  return 'label value must be empty or at most 63 alphanumerics, "-", "_", "." starting and ending with an alphanumeric';
}

type Token =
  | { kind: 'word'; text: string; column: number }
  | { kind: 'string'; text: string; column: number }
  | { kind: 'op'; text: string; column: number }
  | { kind: 'end'; text: ''; column: number };

const OPERATORS = ['&&', '||', '==', '!=', '!', '(', ')', '{', '}', ','];
const WORD_CHAR = /[A-Za-z0-9_./-]/;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < source.length) {
    const ch = source[at] as string;
    if (/\s/.test(ch)) {
      at++;
      continue;
    }
    const column = at + 1;
    if (ch === '"' || ch === "'") {
      const close = source.indexOf(ch, at + 1);
      if (close < 0)
        throw new SelectorSyntaxError(source, column, `unterminated string literal (missing ${ch})`);
      tokens.push({ kind: 'string', text: source.slice(at + 1, close), column });
      at = close + 1;
      continue;
    }
    const op = OPERATORS.find((candidate) => source.startsWith(candidate, at));
    if (op !== undefined) {
      tokens.push({ kind: 'op', text: op, column });
      at += op.length;
      continue;
    }
    if (WORD_CHAR.test(ch)) {
      let end = at;
      while (end < source.length && WORD_CHAR.test(source[end] as string)) end++;
      tokens.push({ kind: 'word', text: source.slice(at, end), column });
      at = end;
      continue;
    }
    const hint =
      ch === '='
        ? '; did you mean "=="?'
        : ch === '&'
          ? '; did you mean "&&"?'
          : ch === '|'
            ? '; did you mean "||"?'
            : '';
    throw new SelectorSyntaxError(source, column, `unexpected character "${ch}"${hint}`);
  }
  tokens.push({ kind: 'end', text: '', column: source.length + 1 });
  return tokens;
}

class Parser {
  private position = 0;
  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.position + offset, this.tokens.length - 1)] as Token;
  }
  private next(): Token {
    const token = this.peek();
    if (this.position < this.tokens.length - 1) this.position++;
    return token;
  }
  private fail(token: Token, reason: string): never {
    throw new SelectorSyntaxError(this.source, token.column, reason);
  }
  private describe(token: Token): string {
    return token.kind === 'end' ? 'end of selector' : `"${token.text}"`;
  }
  private expectOp(text: string): void {
    const token = this.next();
    if (token.kind !== 'op' || token.text !== text)
      this.fail(token, `expected "${text}" but found ${this.describe(token)}`);
  }
  private isOp(text: string): boolean {
    const token = this.peek();
    return token.kind === 'op' && token.text === text;
  }
  private isWord(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.kind === 'word' && token.text === text;
  }

  parseAll(): SelectorNode {
    if (this.peek().kind === 'end') return { type: 'all' }; // the empty selector selects everything, as in Calico
    const node = this.parseOr();
    const rest = this.peek();
    if (rest.kind !== 'end')
      this.fail(rest, `unexpected ${this.describe(rest)}; expected "&&", "||" or end of selector`);
    return node;
  }
  private parseOr(): SelectorNode {
    let left = this.parseAnd();
    while (this.isOp('||')) {
      this.next();
      left = { type: 'or', left, right: this.parseAnd() };
    }
    return left;
  }
  private parseAnd(): SelectorNode {
    let left = this.parseUnary();
    while (this.isOp('&&')) {
      this.next();
      left = { type: 'and', left, right: this.parseUnary() };
    }
    return left;
  }
  private parseUnary(): SelectorNode {
    if (this.isOp('!')) {
      this.next();
      return { type: 'not', operand: this.parseUnary() };
    }
    if (this.isOp('(')) {
      this.next();
      const inner = this.parseOr();
      this.expectOp(')');
      return inner;
    }
    return this.parseTerm();
  }
  private parseKey(): string {
    const token = this.next();
    if (token.kind !== 'word') this.fail(token, `expected a label key but found ${this.describe(token)}`);
    const problem = labelKeyProblem(token.text);
    if (problem !== undefined) this.fail(token, problem);
    return token.text;
  }
  private parseString(): string {
    const token = this.next();
    if (token.kind !== 'string')
      this.fail(token, `expected a quoted string but found ${this.describe(token)}`);
    return token.text;
  }
  private parseTerm(): SelectorNode {
    const first = this.peek();
    if (first.kind === 'word' && ['all', 'global', 'has'].includes(first.text) && this.peek(1).text === '(') {
      this.next();
      this.next();
      if (first.text === 'has') {
        const key = this.parseKey();
        this.expectOp(')');
        return { type: 'has', key };
      }
      this.expectOp(')');
      return { type: first.text as 'all' | 'global' };
    }
    const key = this.parseKey();
    const operator = this.next();
    if (operator.kind === 'op' && (operator.text === '==' || operator.text === '!=')) {
      return { type: operator.text === '==' ? 'eq' : 'neq', key, value: this.parseString() };
    }
    if (operator.kind === 'word') {
      if (operator.text === 'in') return { type: 'in', key, values: this.parseSet() };
      if (operator.text === 'not' && this.isWord('in')) {
        this.next();
        return { type: 'notIn', key, values: this.parseSet() };
      }
      if (operator.text === 'contains') return { type: 'contains', key, value: this.parseString() };
      if ((operator.text === 'starts' || operator.text === 'ends') && this.isWord('with')) {
        this.next();
        return {
          type: operator.text === 'starts' ? 'startsWith' : 'endsWith',
          key,
          value: this.parseString(),
        };
      }
    }
    return this.fail(
      operator,
      `expected an operator (==, !=, in, not in, starts with, ends with, contains) after "${key}" but found ${this.describe(operator)}`,
    );
  }
  private parseSet(): string[] {
    this.expectOp('{');
    const values: string[] = [];
    if (this.isOp('}')) {
      this.next();
      return values;
    }
    for (;;) {
      values.push(this.parseString());
      const token = this.next();
      if (token.kind === 'op' && token.text === '}') return values;
      if (token.kind !== 'op' || token.text !== ',')
        this.fail(token, `expected "," or "}" but found ${this.describe(token)}`);
    }
  }
}

/** Parses a selector expression; throws SelectorSyntaxError (with column and caret line) on bad syntax. */
export function parseSelectorAst(source: string): SelectorNode {
  return new Parser(source, tokenize(source)).parseAll();
}

/** Evaluates an AST against a label set. */
export function evaluateSelector(node: SelectorNode, labels: Labels): boolean {
  const has = (key: string) => Object.hasOwn(labels, key);
  switch (node.type) {
    case 'all':
      return true;
    case 'global':
      return !has(NAMESPACE_LABEL);
    case 'has':
      return has(node.key);
    case 'eq':
      return has(node.key) && labels[node.key] === node.value;
    case 'neq':
      return !has(node.key) || labels[node.key] !== node.value;
    case 'in':
      return has(node.key) && node.values.includes(labels[node.key] as string);
    case 'notIn':
      return !has(node.key) || !node.values.includes(labels[node.key] as string);
    case 'startsWith':
      return has(node.key) && (labels[node.key] as string).startsWith(node.value);
    case 'endsWith':
      return has(node.key) && (labels[node.key] as string).endsWith(node.value);
    case 'contains':
      return has(node.key) && (labels[node.key] as string).includes(node.value);
    case 'not':
      return !evaluateSelector(node.operand, labels);
    case 'and':
      return evaluateSelector(node.left, labels) && evaluateSelector(node.right, labels);
    case 'or':
      return evaluateSelector(node.left, labels) || evaluateSelector(node.right, labels);
  }
}

function quote(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new Error(
    `selector string ${JSON.stringify(value)} contains both quote characters and cannot be written`,
  );
}

/** Canonical text of an AST: single-quoted strings, parentheses only where needed for the same AST. */
export function printSelector(node: SelectorNode): string {
  const grouped = (child: SelectorNode, parent: 'and' | 'or', side: 'left' | 'right'): string => {
    const text = printSelector(child);
    if (child.type === 'or' && parent === 'and') return `(${text})`;
    if ((child.type === 'and' || child.type === 'or') && side === 'right') return `(${text})`;
    return text;
  };
  switch (node.type) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${node.key})`;
    case 'eq':
      return `${node.key} == ${quote(node.value)}`;
    case 'neq':
      return `${node.key} != ${quote(node.value)}`;
    case 'startsWith':
      return `${node.key} starts with ${quote(node.value)}`;
    case 'endsWith':
      return `${node.key} ends with ${quote(node.value)}`;
    case 'contains':
      return `${node.key} contains ${quote(node.value)}`;
    case 'in':
    case 'notIn':
      return `${node.key} ${node.type === 'in' ? 'in' : 'not in'} {${node.values.map(quote).join(', ')}}`;
    case 'not': {
      const inner = printSelector(node.operand);
      return node.operand.type === 'and' || node.operand.type === 'or' ? `!(${inner})` : `!${inner}`;
    }
    case 'and':
      return `${grouped(node.left, 'and', 'left')} && ${grouped(node.right, 'and', 'right')}`;
    case 'or':
      return `${grouped(node.left, 'or', 'left')} || ${grouped(node.right, 'or', 'right')}`;
  }
}

/** A parsed selector: evaluate it with `matches`, print it canonically with `toString`. */
export class Selector {
  private constructor(
    readonly source: string,
    readonly ast: SelectorNode,
  ) {}
  static parse(source: string): Selector {
    return new Selector(source, parseSelectorAst(source));
  }
  static fromAst(ast: SelectorNode): Selector {
    return new Selector(printSelector(ast), ast);
  }
  matches(labels: Labels): boolean {
    return evaluateSelector(this.ast, labels);
  }
  toString(): string {
    return printSelector(this.ast);
  }
}

/** Parses a selector (throws SelectorSyntaxError). */
export function parseSelector(source: string): Selector {
  return Selector.parse(source);
}
