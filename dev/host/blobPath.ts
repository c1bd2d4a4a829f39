/**
 * Blob trigger path patterns (`container/{name}`, `incoming/{table}/{name}`, `input/{name}.{ext}`, `{{` `}}` escapes).
 * Pure. The container part must be literal ("a container name can't contain a resolver").
 */
export interface BlobPathPattern {
  container: string;
  /** Names of the `{placeholders}`, in order. */
  parameters: string[];
  regex: RegExp;
}

export class BlobPathError extends Error {
  readonly code = 'InvalidBlobPath';
}

export function compileBlobPath(path: string): BlobPathPattern {
  const slash = path.indexOf('/');
  const container = slash < 0 ? path : path.slice(0, slash);
  const blobPattern = slash < 0 ? '' : path.slice(slash + 1);
  if (container === '' || /[{}%]/.test(container))
    throw new BlobPathError(`Blob trigger path '${path}': the container must be a literal name.`);
  const parameters: string[] = [];
  let source = '';
  for (let i = 0; i < blobPattern.length; i++) {
    const ch = blobPattern[i]!;
    if (ch === '{' && blobPattern[i + 1] === '{') {
      source += '\\{';
      i++;
    } else if (ch === '}' && blobPattern[i + 1] === '}') {
      source += '\\}';
      i++;
    } else if (ch === '{') {
      const end = blobPattern.indexOf('}', i);
      if (end < 0) throw new BlobPathError(`Blob trigger path '${path}': unclosed '{'.`);
      const name = blobPattern.slice(i + 1, end).trim();
      if (!/^\w+$/.test(name)) throw new BlobPathError(`Blob trigger path '${path}': invalid parameter '{${name}}'.`);
      if (parameters.includes(name))
        throw new BlobPathError(`Blob trigger path '${path}': parameter '{${name}}' appears twice.`);
      parameters.push(name);
      source += `(?<${name}>.+?)`;
      i = end;
    } else {
      source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  // An empty blob pattern (`container` alone) matches every blob in the container.
  return { container, parameters, regex: new RegExp(blobPattern === '' ? '^.+$' : `^${source}$`) };
}

/** The `{placeholder}` values for a blob name, or undefined when the blob does not match. */
export function matchBlobPath(pattern: BlobPathPattern, blobName: string): Record<string, string> | undefined {
  const match = pattern.regex.exec(blobName);
  if (!match) return undefined;
  return Object.fromEntries(pattern.parameters.map((p) => [p, match.groups?.[p] ?? '']));
}
