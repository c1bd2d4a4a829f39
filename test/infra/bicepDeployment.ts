/**
 * Evaluates a Bicep deployment as far as it can be known before Azure runs it: parameters, variables, module
 * parameters, loops and conditions. What only Azure knows (resource properties, ids, keys) stays `Unknown`;
 * strings built around an unknown part keep their known text (`Unknown.text`, unknown parts shown as `…`).
 */
import { dirname, join } from 'node:path';
import { parseBicep, type Declaration, type Expr } from './bicepText';

export class Unknown {
  constructor(
    readonly why: string,
    readonly text?: string,
  ) {}
}

function hasUnknown(value: Value): boolean {
  if (value instanceof Unknown) return true;
  if (Array.isArray(value)) return value.some(hasUnknown);
  return isObject(value) && Object.values(value).some(hasUnknown);
}

/** A value with each Unknown replaced by a distinct sample GUID (…-000000000001, …-000000000002, …). */
function withSamples(value: Value): unknown {
  let n = 0;
  const walk = (v: Value): unknown => {
    if (v instanceof Unknown) return `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    if (Array.isArray(v)) return v.map(walk);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

export type Value =
  string | number | boolean | null | Unknown | Value[] | { [key: string]: Value } | SymbolRef;

/** A resource or module named in an expression (`storage.outputs.name`, `parent: account`). */
class SymbolRef {
  constructor(
    readonly kind: 'resource' | 'module',
    readonly decl: Declaration,
    readonly scope: Scope,
  ) {}
  toJSON(): string {
    return `<${this.kind} ${this.decl.name}>`;
  }
}
type ModuleSymbol = SymbolRef;

export interface DeployedResource {
  file: string;
  symbol: string;
  /** Without the API version. */
  type: string;
  apiVersion: string;
  existing: boolean;
  /** The evaluated body: name, properties... */
  body: Value;
}

export interface Deployment {
  resources: DeployedResource[];
  outputs: Record<string, Value>;
}

export interface DeploymentSource {
  readFile(path: string): string;
}

const isObject = (v: Value): v is { [key: string]: Value } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Unknown) && !(v instanceof SymbolRef);

function show(v: Value): string {
  if (v instanceof Unknown) return v.text ?? '…';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

/** A value where a function wants text (ARM's string functions take scalars; anything else is shown as JSON). */
const text = (v: Value | undefined): string => (v === undefined ? 'undefined' : show(v));

const cloud = {
  authentication: { loginEndpoint: 'https://login.microsoftonline.com/' },
  suffixes: { keyvaultDns: '.vault.azure.net', storage: 'core.windows.net' },
  name: 'AzureCloud',
};

class Scope {
  readonly #declarations = new Map<string, Declaration>();
  readonly #values = new Map<string, Value>();
  readonly #evaluating = new Set<string>();
  constructor(
    readonly file: string,
    declarations: Declaration[],
    readonly params: Record<string, Value>,
    readonly deployment: DeploymentBuilder,
    readonly environment: Record<string, Value>,
  ) {
    for (const d of declarations)
      if (d.kind !== 'targetScope' && d.kind !== 'using' && d.kind !== 'metadata' && d.kind !== 'output')
        this.#declarations.set(d.name, d);
  }

  lookup(name: string, locals: Map<string, Value>): Value {
    if (locals.has(name)) return locals.get(name)!;
    if (this.#values.has(name)) return this.#values.get(name)!;
    const d = this.#declarations.get(name);
    if (!d) return new Unknown(`${name} is not declared in ${this.file}`);
    if (d.kind === 'resource' || d.kind === 'module') return new SymbolRef(d.kind, d, this);
    if (this.#evaluating.has(name)) throw new Error(`${this.file}: ${name} depends on itself`);
    this.#evaluating.add(name);
    let value: Value;
    if (d.kind === 'param')
      value =
        name in this.params
          ? this.params[name]!
          : d.value
            ? this.evaluate(d.value)
            : new Unknown(`parameter ${name} has no value`);
    else value = this.evaluate(d.value!);
    this.#evaluating.delete(name);
    this.#values.set(name, value);
    return value;
  }

  evaluate(e: Expr, locals: Map<string, Value> = new Map()): Value {
    const ev = (x: Expr) => this.evaluate(x, locals);
    switch (e.k) {
      case 'str': {
        const parts = e.parts.map((p) => (typeof p === 'string' ? p : ev(p)));
        const text = parts.map((p) => (typeof p === 'string' ? p : show(p))).join('');
        return parts.some((p) => p instanceof Unknown) ? new Unknown('interpolates an unknown value', text) : text;
      }
      case 'num':
        return e.v;
      case 'lit':
        return e.v;
      case 'id':
        return this.lookup(e.name, locals);
      case 'obj': {
        const out: { [key: string]: Value } = {};
        for (const p of e.props) out[typeof p.key === 'string' ? p.key : show(ev(p.key))] = ev(p.value);
        return out;
      }
      case 'arr':
        return e.items.map(ev);
      case 'for': {
        const iterable = ev(e.iterable);
        if (!Array.isArray(iterable)) return new Unknown(`loop over an unknown collection (line ${e.line})`);
        return iterable.map((item, i) =>
          this.evaluate(
            e.body,
            new Map([...locals, [e.item, item], ...(e.index ? [[e.index, i] as [string, Value]] : [])]),
          ),
        );
      }
      case 'if':
        return new Unknown(`conditional body (line ${e.line})`);
      case 'member': {
        const obj = ev(e.obj);
        return member(obj, e.name);
      }
      case 'index': {
        const obj = ev(e.obj);
        const index = ev(e.index);
        if (obj instanceof Unknown || index instanceof Unknown)
          return new Unknown(`index into unknown (line ${e.line})`);
        if (Array.isArray(obj) && typeof index === 'number')
          return obj[index] ?? new Unknown(`index ${index} out of range`);
        if (isObject(obj) && typeof index === 'string')
          return index in obj ? obj[index]! : new Unknown(`no property ${index}`);
        return new Unknown(`cannot index (line ${e.line})`);
      }
      case 'call':
        return this.call(e, locals);
      case 'unary': {
        const v = ev(e.arg);
        if (v instanceof Unknown) return v;
        return e.op === '!' ? !v : -(v as number);
      }
      case 'bin': {
        const l = ev(e.l);
        if (e.op === '??') return l === null ? ev(e.r) : l;
        if (e.op === '&&' && l === false) return false;
        if (e.op === '||' && l === true) return true;
        const r = ev(e.r);
        if (l instanceof Unknown || r instanceof Unknown) {
          if (e.op === '&&' && r === false) return false;
          if (e.op === '||' && r === true) return true;
          return new Unknown(`operator ${e.op} on an unknown value (line ${e.line})`);
        }
        switch (e.op) {
          case '==':
            return JSON.stringify(l) === JSON.stringify(r);
          case '!=':
            return JSON.stringify(l) !== JSON.stringify(r);
          case '=~':
            return text(l).toLowerCase() === text(r).toLowerCase();
          case '&&':
            return Boolean(l && r);
          case '||':
            return Boolean(l || r);
          case '<':
            return (l as number) < (r as number);
          case '<=':
            return (l as number) <= (r as number);
          case '>':
            return (l as number) > (r as number);
          case '>=':
            return (l as number) >= (r as number);
          case '+':
            return (l as number) + (r as number);
          case '-':
            return (l as number) - (r as number);
          case '*':
            return (l as number) * (r as number);
          case '/':
            return Math.trunc((l as number) / (r as number));
          case '%':
            return (l as number) % (r as number);
        }
        return new Unknown(`operator ${e.op}`);
      }
      case 'tern': {
        const c = ev(e.c);
        if (c instanceof Unknown) return new Unknown(`condition unknown (line ${e.line})`);
        return c ? ev(e.a) : ev(e.b);
      }
    }
  }

  call(e: Extract<Expr, { k: 'call' }>, locals: Map<string, Value>): Value {
    // Methods of resources (listKeys()) and anything not modelled here are only known to Azure.
    const name =
      e.callee.k === 'id'
        ? e.callee.name
        : e.callee.k === 'member' && e.callee.obj.k === 'id' && e.callee.obj.name === 'sys'
          ? e.callee.name
          : undefined;
    if (!name) return new Unknown(`method call (line ${e.line})`);
    const args = e.args.map((a) => this.evaluate(a, locals));
    const known = args.every((a) => !(a instanceof Unknown));
    switch (name) {
      case 'environment':
        return cloud;
      case 'tenant':
        return { tenantId: new Unknown('tenant id') };
      case 'subscription':
        return { id: new Unknown('subscription id'), subscriptionId: new Unknown('subscription id') };
      case 'resourceGroup':
        return {
          id: new Unknown('resource group id'),
          name: new Unknown('resource group name'),
          location: new Unknown('location'),
        };
      case 'deployer':
        return { objectId: new Unknown('deployer object id') };
      case 'loadJsonContent':
        return JSON.parse(this.deployment.source.readFile(join(dirname(this.file), text(args[0])))) as Value;
      case 'readEnvironmentVariable': {
        const key = text(args[0]);
        return key in this.environment
          ? this.environment[key]!
          : args.length > 1
            ? args[1]!
            : new Unknown(`environment variable ${key} is not set`);
      }
      case 'subscriptionResourceId':
        return new Unknown('resource id', `/subscriptions/…/providers/${args.map(show).join('/')}`);
    }
    // JSON of a value with parts only Azure knows (identity client ids): rendered with distinct sample GUIDs in
    // their place, so the checker can still parse the setting it becomes.
    if (name === 'string' && args.length === 1 && (Array.isArray(args[0]) || isObject(args[0]!)) && hasUnknown(args[0]))
      return new Unknown('string() of a partly unknown value', JSON.stringify(withSamples(args[0])));
    if (!known) return new Unknown(`${name}() of an unknown value`);
    const [a, b] = args;
    switch (name) {
      case 'range':
        return Array.from({ length: Math.max(0, Number(b)) }, (_, i) => Number(a) + i);
      case 'join':
        return Array.isArray(a) ? a.map((x) => text(x)).join(text(b)) : new Unknown('join() of a non-array');
      case 'json':
        return JSON.parse(text(a)) as Value;
      case 'union':
        if (args.every(isObject)) return Object.assign({}, ...args) as Value;
        if (args.every(Array.isArray))
          return [...new Set(args.flat().map((x) => JSON.stringify(x)))].map((x) => JSON.parse(x) as Value);
        return new Unknown('union of mixed values');
      case 'concat':
        return args.every(Array.isArray) ? args.flat() : args.map(show).join('');
      case 'string':
        return typeof a === 'string' ? a : show(a!);
      case 'int':
        return Number(a);
      case 'toLower':
        return text(a).toLowerCase();
      case 'toUpper':
        return text(a).toUpperCase();
      case 'empty':
        return (
          a === null ||
          a === '' ||
          (Array.isArray(a) && a.length === 0) ||
          (isObject(a!) && Object.keys(a).length === 0)
        );
      case 'length':
        return Array.isArray(a) ? a.length : isObject(a!) ? Object.keys(a).length : text(a).length;
      case 'take':
        return Array.isArray(a) ? a.slice(0, Number(b)) : text(a).slice(0, Number(b));
      case 'min':
        return Math.min(...(args as number[]));
      case 'max':
        return Math.max(...(args as number[]));
      case 'contains':
        return Array.isArray(a)
          ? a.some((x) => JSON.stringify(x) === JSON.stringify(b))
          : isObject(a!)
            ? text(b) in a
            : text(a).includes(text(b));
      case 'startsWith':
        return text(a).startsWith(text(b));
      case 'endsWith':
        return text(a).endsWith(text(b));
      case 'items':
        return isObject(a!)
          ? Object.entries(a).map(([key, value]) => ({ key, value }))
          : new Unknown('items() of a non-object');
    }
    return new Unknown(`${name}() is evaluated by Azure`);
  }
}

function member(obj: Value, name: string): Value {
  if (obj instanceof Unknown)
    return new Unknown(`${obj.why}.${name}`, obj.text === undefined ? undefined : `${obj.text}.${name}`);
  if (isObject(obj)) return name in obj ? obj[name]! : new Unknown(`no property ${name}`);
  if (obj instanceof SymbolRef) {
    const symbol = obj;
    if (symbol.kind === 'module' && name === 'outputs') {
      const outputs = symbol.scope.deployment.moduleOutputs(symbol);
      return outputs;
    }
    if (symbol.kind === 'resource' && name === 'name' && symbol.decl.value?.k === 'obj') {
      const body = symbol.scope.evaluate(symbol.decl.value);
      if (isObject(body) && 'name' in body) return body.name!;
    }
    return new Unknown(`${symbol.decl.name}.${name}`);
  }
  return new Unknown(`.${name} of ${show(obj)}`);
}

class DeploymentBuilder {
  readonly resources: DeployedResource[] = [];
  readonly #moduleOutputs = new Map<ModuleSymbol['decl'], Record<string, Value>>();
  constructor(readonly source: DeploymentSource) {}

  run(file: string, params: Record<string, Value>, environment: Record<string, Value>): Record<string, Value> {
    const declarations = parseBicep(this.source.readFile(file));
    const scope = new Scope(file, declarations, params, this, environment);
    for (const d of declarations) {
      if (d.kind === 'resource') this.resource(scope, d);
      if (d.kind === 'module') this.moduleOutputs(new SymbolRef('module', d, scope));
    }
    const outputs: Record<string, Value> = {};
    for (const d of declarations) if (d.kind === 'output') outputs[d.name] = scope.evaluate(d.value!);
    return outputs;
  }

  /** Each instance of a declaration (loops expand; a false condition deploys nothing). */
  instances(scope: Scope, value: Expr): { body: Expr; locals: Map<string, Value> }[] {
    const unwrap = (e: Expr, locals: Map<string, Value>): { body: Expr; locals: Map<string, Value> }[] => {
      if (e.k === 'if') {
        const c = scope.evaluate(e.cond, locals);
        return c === false ? [] : unwrap(e.body, locals);
      }
      return [{ body: e, locals }];
    };
    if (value.k === 'for') {
      const iterable = scope.evaluate(value.iterable);
      if (!Array.isArray(iterable))
        throw new Error(`${scope.file} line ${value.line}: loop over a collection known only to Azure`);
      return iterable.flatMap((item, i) =>
        unwrap(
          value.body,
          new Map<string, Value>([[value.item, item], ...(value.index ? [[value.index, i] as [string, Value]] : [])]),
        ),
      );
    }
    return unwrap(value, new Map());
  }

  resource(scope: Scope, d: Declaration): void {
    const [type, apiVersion = ''] = d.target!.split('@') as [string, string?];
    for (const { body, locals } of this.instances(scope, d.value!)) {
      this.resources.push({
        file: scope.file,
        symbol: d.name,
        type,
        apiVersion,
        existing: d.existing ?? false,
        body: scope.evaluate(body, locals),
      });
    }
  }

  moduleOutputs(symbol: ModuleSymbol): Record<string, Value> {
    const cached = this.#moduleOutputs.get(symbol.decl);
    if (cached) return cached;
    const instances = this.instances(symbol.scope, symbol.decl.value!);
    if (instances.length !== 1) {
      const outputs = new Proxy(
        {},
        {
          get: (_t, key) => new Unknown(`output ${String(key)} of module ${symbol.decl.name} (not deployed or looped)`),
        },
      ) as Record<string, Value>;
      this.#moduleOutputs.set(symbol.decl, outputs);
      return outputs;
    }
    const body = symbol.scope.evaluate(instances[0]!.body, instances[0]!.locals);
    const params = isObject(body) && body.params !== undefined && isObject(body.params) ? body.params : {};
    const placeholder = new Proxy(
      {},
      { get: (_t, key) => new Unknown(`output ${String(key)} of module ${symbol.decl.name} (cycle)`) },
    ) as Record<string, Value>;
    this.#moduleOutputs.set(symbol.decl, placeholder);
    const outputs = this.run(join(dirname(symbol.scope.file), symbol.decl.target!), params, symbol.scope.environment);
    this.#moduleOutputs.set(symbol.decl, outputs);
    return outputs;
  }
}

/** Evaluates `file` (and its modules) with the given parameters; `environment` feeds readEnvironmentVariable(). */
export function evaluateDeployment(
  source: DeploymentSource,
  file: string,
  params: Record<string, Value> = {},
  environment: Record<string, Value> = {},
): Deployment {
  const builder = new DeploymentBuilder(source);
  const outputs = builder.run(file, params, environment);
  return { resources: builder.resources, outputs };
}

/** Evaluates a .bicepparam file: its template and the parameter values it gives. */
export function evaluateParamFile(
  source: DeploymentSource,
  file: string,
  environment: Record<string, Value>,
): { template: string; params: Record<string, Value> } {
  const declarations = parseBicep(source.readFile(file));
  const using = declarations.find((d) => d.kind === 'using');
  if (!using) throw new Error(`${file}: no using statement`);
  const builder = new DeploymentBuilder(source);
  const scope = new Scope(file, [], {}, builder, environment);
  const params: Record<string, Value> = {};
  for (const d of declarations) if (d.kind === 'param' && d.value) params[d.name] = scope.evaluate(d.value);
  return { template: join(dirname(file), using.target!), params };
}

export { isObject, show };
