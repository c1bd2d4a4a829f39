const inspectCustom = Symbol.for('nodejs.util.inspect.custom');
const redacted = '[secret]';

/**
 * A setting value that must never reach a log: string conversion, JSON and util.inspect all show
 * `[secret]`; only `reveal()` gives the value, at the one place that hands it to the SDK that needs it.
 */
export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return redacted;
  }

  toJSON(): string {
    return redacted;
  }

  [inspectCustom](): string {
    return `SecretValue(${redacted})`;
  }
}
