/**
 * A parser for the subset of Bicep that infra/ uses (params, vars, resources, modules, outputs, .bicepparam),
 * so the consistency test reads the templates without the Bicep CLI. Unsupported syntax throws with the line.
 */

export type Expr =
  | { k: 'str'; parts: (string | Expr)[]; line: number }
  | { k: 'num'; v: number; line: number }
  | { k: 'lit'; v: boolean | null; line: number }
  | { k: 'id'; name: string; line: number }
  | { k: 'obj'; props: { key: Expr | string; value: Expr }[]; line: number }
  | { k: 'arr'; items: Expr[]; line: number }
  | { k: 'for'; item: string; index?: string; iterable: Expr; body: Expr; line: number }
  | { k: 'if'; cond: Expr; body: Expr; line: number }
  | { k: 'member'; obj: Expr; name: string; line: number }
  | { k: 'index'; obj: Expr; index: Expr; line: number }
  | { k: 'call'; callee: Expr; args: Expr[]; line: number }
  | { k: 'unary'; op: string; arg: Expr; line: number }
  | { k: 'bin'; op: string; l: Expr; r: Expr; line: number }
  | { k: 'tern'; c: Expr; a: Expr; b: Expr; line: number };

export interface Declaration {
  kind: 'param' | 'var' | 'resource' | 'module' | 'output' | 'targetScope' | 'using' | 'metadata';
  name: string;
  /** resource type (`Microsoft.Web/sites@2024-04-01`), module or `using` path. */
  target?: string;
  existing?: boolean;
  value?: Expr;
  line: number;
}

interface Token {
  t: 'nl' | 'id' | 'num' | 'str' | 'p';
  v: string;
  parts?: (string | { source: string; line: number })[];
  line: number;
}

export class BicepSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const puncts = [
  '??',
  '==',
  '!=',
  '=~',
  '<=',
  '>=',
  '&&',
  '||',
  '.?',
  '=>',
  '::',
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  ',',
  ':',
  '.',
  '?',
  '!',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '=',
  '@',
  '|',
];

const escapes: Record<string, string> = { '\\': '\\', "'": "'", n: '\n', r: '\r', t: '\t', $: '$' };

function tokenize(text: string, firstLine = 1): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = firstLine;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      tokens.push({ t: 'nl', v: '\n', line });
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new BicepSyntaxError('unterminated comment', line);
      line += text.slice(i, end).split('\n').length - 1;
      i = end + 2;
      continue;
    }
    if (text.startsWith("'''", i)) {
      const end = text.indexOf("'''", i + 3);
      if (end < 0) throw new BicepSyntaxError('unterminated multi-line string', line);
      tokens.push({ t: 'str', v: '', parts: [text.slice(i + 3, end)], line });
      line += text.slice(i, end).split('\n').length - 1;
      i = end + 3;
      continue;
    }
    if (c === "'") {
      const startLine = line;
      const parts: (string | { source: string; line: number })[] = [];
      let current = '';
      i++;
      for (;;) {
        if (i >= text.length || text[i] === '\n') throw new BicepSyntaxError('unterminated string', startLine);
        const d = text[i]!;
        if (d === "'") {
          i++;
          break;
        }
        if (d === '\\') {
          const e = text[i + 1]!;
          if (!(e in escapes)) throw new BicepSyntaxError(`unknown escape \\${e}`, line);
          current += escapes[e];
          i += 2;
          continue;
        }
        if (d === '$' && text[i + 1] === '{') {
          // The interpolation ends at the matching brace; strings inside it may hold braces.
          let depth = 1;
          let j = i + 2;
          while (j < text.length && depth > 0) {
            const x = text[j]!;
            if (x === "'") {
              j++;
              while (j < text.length && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
            } else if (x === '{') depth++;
            else if (x === '}') depth--;
            j++;
          }
          if (depth > 0) throw new BicepSyntaxError('unterminated interpolation', line);
          if (current) parts.push(current);
          current = '';
          parts.push({ source: text.slice(i + 2, j - 1), line });
          i = j;
          continue;
        }
        current += d;
        i++;
      }
      if (current || parts.length === 0) parts.push(current);
      tokens.push({ t: 'str', v: '', parts, line: startLine });
      continue;
    }
    const num = /^\d+/.exec(text.slice(i, i + 32));
    if (num) {
      tokens.push({ t: 'num', v: num[0], line });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 256));
    if (id) {
      tokens.push({ t: 'id', v: id[0], line });
      i += id[0].length;
      continue;
    }
    const p = puncts.find((q) => text.startsWith(q, i));
    if (!p) throw new BicepSyntaxError(`unexpected character '${c}'`, line);
    tokens.push({ t: 'p', v: p, line });
    i += p.length;
  }
  tokens.push({ t: 'nl', v: '\n', line });
  return tokens;
}

const binaryPrecedence: Record<string, number> = {
  '??': 1,
  '||': 2,
  '&&': 3,
  '==': 4,
  '!=': 4,
  '=~': 4,
  '<': 5,
  '<=': 5,
  '>': 5,
  '>=': 5,
  '+': 6,
  '-': 6,
  '*': 7,
  '/': 7,
  '%': 7,
};

class Parser {
  #pos = 0;
  /** true: newlines are insignificant here (inside parentheses, call arguments, index brackets). */
  #skipNewlines: boolean[] = [false];
  constructor(private readonly tokens: Token[]) {}

  peek(): Token {
    if (this.#skipNewlines.at(-1)) while (this.tokens[this.#pos]?.t === 'nl') this.#pos++;
    return this.tokens[this.#pos] ?? { t: 'nl', v: '\n', line: 0 };
  }
  next(): Token {
    const t = this.peek();
    this.#pos++;
    return t;
  }
  atEnd(): boolean {
    this.skipNewlines();
    return this.#pos >= this.tokens.length;
  }
  skipNewlines(): void {
    while (this.tokens[this.#pos]?.t === 'nl') this.#pos++;
  }
  is(v: string): boolean {
    const t = this.peek();
    return (t.t === 'p' || t.t === 'id') && t.v === v;
  }
  expect(v: string): Token {
    const t = this.next();
    if (t.v !== v) throw new BicepSyntaxError(`expected '${v}', found '${t.v === '\n' ? 'newline' : t.v}'`, t.line);
    return t;
  }
  identifier(): string {
    const t = this.next();
    if (t.t !== 'id') throw new BicepSyntaxError(`expected a name, found '${t.v}'`, t.line);
    return t.v;
  }
  within<T>(skip: boolean, f: () => T): T {
    this.#skipNewlines.push(skip);
    try {
      return f();
    } finally {
      this.#skipNewlines.pop();
    }
  }

  expression(minPrecedence = 0): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.t === 'p' && t.v === '?' && minPrecedence === 0) {
        this.next();
        const a = this.expression();
        this.expect(':');
        const b = this.expression();
        left = { k: 'tern', c: left, a, b, line: t.line };
        continue;
      }
      const precedence = t.t === 'p' ? binaryPrecedence[t.v] : undefined;
      if (precedence === undefined || precedence <= minPrecedence) return left;
      this.next();
      left = { k: 'bin', op: t.v, l: left, r: this.expression(precedence), line: t.line };
    }
  }

  unary(): Expr {
    const t = this.peek();
    if (t.t === 'p' && (t.v === '!' || t.v === '-')) {
      this.next();
      return { k: 'unary', op: t.v, arg: this.unary(), line: t.line };
    }
    return this.postfix(this.primary());
  }

  postfix(e: Expr): Expr {
    for (;;) {
      const t = this.tokens[this.#pos];
      if (!t || t.t !== 'p') return e;
      if (t.v === '.' || t.v === '.?') {
        this.next();
        e = { k: 'member', obj: e, name: this.identifier(), line: t.line };
      } else if (t.v === '[') {
        this.next();
        const index = this.within(true, () => this.expression());
        this.within(true, () => this.expect(']'));
        e = { k: 'index', obj: e, index, line: t.line };
      } else if (t.v === '(') {
        this.next();
        const args = this.within(true, () => {
          const list: Expr[] = [];
          while (!this.is(')')) {
            list.push(this.expression());
            if (!this.is(')')) this.expect(',');
          }
          this.next();
          return list;
        });
        e = { k: 'call', callee: e, args, line: t.line };
      } else return e;
    }
  }

  primary(): Expr {
    const t = this.next();
    if (t.t === 'str') {
      return {
        k: 'str',
        line: t.line,
        parts: t.parts!.map((p) => (typeof p === 'string' ? p : parseExpression(p.source, p.line))),
      };
    }
    if (t.t === 'num') return { k: 'num', v: Number(t.v), line: t.line };
    if (t.t === 'id') {
      if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true', line: t.line };
      if (t.v === 'null') return { k: 'lit', v: null, line: t.line };
      if (t.v === 'if' && this.is('(')) {
        this.next();
        const cond = this.within(true, () => {
          const c = this.expression();
          this.expect(')');
          return c;
        });
        return { k: 'if', cond, body: this.expression(), line: t.line };
      }
      return { k: 'id', name: t.v, line: t.line };
    }
    if (t.v === '(')
      return this.within(true, () => {
        const e = this.expression();
        this.expect(')');
        return e;
      });
    if (t.v === '{') return this.object(t.line);
    if (t.v === '[') return this.array(t.line);
    throw new BicepSyntaxError(`unexpected '${t.v === '\n' ? 'newline' : t.v}'`, t.line);
  }

  object(line: number): Expr {
    return this.within(false, () => {
      const props: { key: Expr | string; value: Expr }[] = [];
      for (;;) {
        this.skipNewlines();
        if (this.is(',')) {
          this.next();
          continue;
        }
        if (this.is('}')) {
          this.next();
          return { k: 'obj', props, line };
        }
        if (this.is('@')) throw new BicepSyntaxError('decorators inside objects are not supported', this.peek().line);
        const keyToken = this.next();
        let key: Expr | string;
        if (keyToken.t === 'id') key = keyToken.v;
        else if (keyToken.t === 'str')
          key = {
            k: 'str',
            line: keyToken.line,
            parts: keyToken.parts!.map((p) => (typeof p === 'string' ? p : parseExpression(p.source, p.line))),
          };
        else throw new BicepSyntaxError(`expected a property name, found '${keyToken.v}'`, keyToken.line);
        if (keyToken.t === 'id' && keyToken.v === 'resource')
          throw new BicepSyntaxError('nested resources are not supported', keyToken.line);
        this.expect(':');
        props.push({ key, value: this.expression() });
        const after = this.tokens[this.#pos];
        if (after && !(after.t === 'nl' || (after.t === 'p' && (after.v === ',' || after.v === '}')))) {
          throw new BicepSyntaxError(`expected a newline after the property, found '${after.v}'`, after.line);
        }
      }
    });
  }

  array(line: number): Expr {
    return this.within(false, () => {
      this.skipNewlines();
      if (this.is('for')) {
        this.next();
        let item: string;
        let index: string | undefined;
        if (this.is('(')) {
          this.next();
          item = this.identifier();
          this.expect(',');
          index = this.identifier();
          this.expect(')');
        } else item = this.identifier();
        this.expect('in');
        const iterable = this.expression();
        this.expect(':');
        const body = this.expression();
        this.skipNewlines();
        this.expect(']');
        return { k: 'for', item, ...(index ? { index } : {}), iterable, body, line };
      }
      const items: Expr[] = [];
      for (;;) {
        this.skipNewlines();
        if (this.is(',')) {
          this.next();
          continue;
        }
        if (this.is(']')) {
          this.next();
          return { k: 'arr', items, line };
        }
        items.push(this.expression());
      }
    });
  }

  /** The text of a type up to '=' or the end of the line (types are not evaluated). */
  skipType(): void {
    while (!(this.tokens[this.#pos]?.t === 'nl') && !this.is('=')) this.next();
  }

  declaration(): Declaration | undefined {
    this.skipNewlines();
    while (this.is('@')) {
      this.next();
      this.expression();
      this.skipNewlines();
    } // decorators are not evaluated
    const keyword = this.next();
    const line = keyword.line;
    switch (keyword.v) {
      case 'targetScope':
        this.expect('=');
        return { kind: 'targetScope', name: 'targetScope', value: this.expression(), line };
      case 'using': {
        const path = this.next();
        return { kind: 'using', name: 'using', target: literalText(path.parts), line };
      }
      case 'param': {
        const name = this.identifier();
        this.skipType();
        const value = this.is('=') ? (this.next(), this.expression()) : undefined;
        return { kind: 'param', name, ...(value ? { value } : {}), line };
      }
      case 'var':
      case 'metadata': {
        const name = this.identifier();
        this.expect('=');
        return { kind: keyword.v, name, value: this.expression(), line };
      }
      case 'output': {
        const name = this.identifier();
        this.skipType();
        this.expect('=');
        return { kind: 'output', name, value: this.expression(), line };
      }
      case 'resource':
      case 'module': {
        const name = this.identifier();
        const target = this.next();
        if (target.t !== 'str') throw new BicepSyntaxError(`expected the ${keyword.v} type or path`, target.line);
        const existing = this.is('existing') ? (this.next(), true) : false;
        this.expect('=');
        return {
          kind: keyword.v,
          name,
          target: literalText(target.parts),
          existing,
          value: this.expression(),
          line,
        };
      }
      default:
        throw new BicepSyntaxError(`unsupported statement '${keyword.v}'`, line);
    }
  }
}

function parseExpression(source: string, line: number): Expr {
  const parser = new Parser(tokenize(source, line));
  return parser.within(true, () => parser.expression());
}

/** Parses a .bicep or .bicepparam file into its declarations. */
export function parseBicep(text: string): Declaration[] {
  const parser = new Parser(tokenize(text));
  const declarations: Declaration[] = [];
  while (!parser.atEnd()) {
    const d = parser.declaration();
    if (d) declarations.push(d);
    const t = parser.peek();
    if (t.t !== 'nl') throw new BicepSyntaxError(`unexpected '${t.v}' after the ${d?.kind ?? 'statement'}`, t.line);
  }
  return declarations;
}

/** A string literal's text (an interpolated string has none: a module path must be a plain literal). */
function literalText(parts: Token['parts']): string {
  const first = parts?.[0];
  return typeof first === 'string' ? first : '';
}
